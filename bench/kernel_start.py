"""Kernel start-to-first-result: the ``nbplatform-cpu`` kernel vs a bare ipykernel (``python3``).

Both kernels are started in the same run, interleaved (alternating which goes
first), with the same environment, the one a platform server gives its kernels.
For each start we time ``KernelManager.start_kernel()`` up to the
``execute_result`` of ``1+1`` (``ready_s`` is the part up to the first
``kernel_info_reply``), then measure the RSS of the idle kernel process.

Goal: p50 ratio ≤ 1.2 and at most 30 MB more RSS than the bare kernel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from jupyter_client import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

OURS = "nbplatform-cpu"
BASELINE = "python3"
GOAL_RATIO = 1.2
GOAL_EXTRA_RSS_MB = 30.0


def kernel_env() -> dict[str, str]:
    """The environment a platform server would give its kernels (same for both sides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))}
    env.update(
        {
            "NBP_PLATFORM_URL": "http://127.0.0.1:9/services/platform/",
            "NBP_TOKEN": "bench-token-0123456789abcdef",
            "NBP_PROFILE": "cpu-small",
            "NBP_KERNELS": OURS,
            "NBP_GPU_DEVICES": "",
            "CUDA_VISIBLE_DEVICES": "",
            "MEM_LIMIT": str(2 * 1024**3),
            "CPU_LIMIT": "1",
            "JUPYTERHUB_USER": "bench",
            "JUPYTERHUB_API_TOKEN": "bench-token-0123456789abcdef",
            "PATH": f"{benchlib.BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    return env


def one_start(kernel_name: str, env: dict[str, str], timeout: float, check: bool) -> dict[str, Any]:
    """Start one kernel, run ``1+1``, measure, shut it down.

    Args:
        kernel_name: The kernelspec.
        env: The kernel's environment.
        timeout: Seconds allowed for the whole start.
        check: Also ask the kernel whether the platform library is loaded (after measuring).

    Returns:
        ``total_s`` (start call to result), ``ready_s``, ``rss_mb`` of the idle kernel
        and, with ``check``, ``preloaded`` (whether ``nbplatform`` is in ``sys.modules``).
    """
    with tempfile.TemporaryFile() as log:
        km = KernelManager(kernel_name=kernel_name)
        kc = None
        try:
            t0 = time.perf_counter()
            km.start_kernel(env=dict(env), stdout=log, stderr=log)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=timeout)
            t_ready = time.perf_counter()
            msg_id = kc.execute("1+1", store_history=False)
            result = None
            idle = False
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "execute_result" and result is None:
                    result = msg["content"]["data"]["text/plain"]
                    t_result = time.perf_counter()
                elif msg["msg_type"] == "error":
                    raise RuntimeError(f"{kernel_name}: 1+1 failed: {msg['content']}")
                elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
                if result is not None and idle:
                    break
            if result != "2":
                raise RuntimeError(
                    f"{kernel_name}: no result for 1+1 in {timeout} s (got {result!r})"
                )
            time.sleep(0.3)  # let the idle kernel settle before reading its memory
            pid = km.provisioner.pid if km.provisioner else None
            if pid is None:
                raise RuntimeError(f"{kernel_name}: no kernel pid")
            out: dict[str, Any] = {
                "total_s": t_result - t0,
                "ready_s": t_ready - t0,
                "rss_mb": benchlib.tree_rss_mb(pid),
            }
            if check:
                reply = kc.execute_interactive(
                    "import sys; print('nbplatform' in sys.modules, 'nbp' in dir())",
                    timeout=timeout,
                    output_hook=lambda m: (
                        out.__setitem__("preloaded", m["content"].get("text", "").strip())
                        if m["msg_type"] == "stream"
                        else None
                    ),
                )
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{kernel_name}: check failed: {reply['content']}")
            return out
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            if kc is not None:
                kc.stop_channels()
            with suppress(Exception):
                km.shutdown_kernel(now=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="measured starts per side")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured starts per side first")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    env = kernel_env()
    wall0 = time.perf_counter()
    samples: dict[str, list[dict[str, Any]]] = {OURS: [], BASELINE: []}
    checks: dict[str, str] = {}
    for i in range(args.warmup + args.n):
        order = (OURS, BASELINE) if i % 2 == 0 else (BASELINE, OURS)
        for name in order:
            s = one_start(name, env, args.timeout, check=name not in checks)
            if "preloaded" in s:
                checks[name] = s["preloaded"]
            if i >= args.warmup:
                samples[name].append(s)
                print(
                    f"{name:15s} run {i - args.warmup + 1:2d}: first result {s['total_s']:.3f} s "
                    f"(ready {s['ready_s']:.3f} s), idle RSS {s['rss_mb']:.1f} MB",
                    flush=True,
                )
    if not checks.get(OURS, "").startswith("True True"):
        raise RuntimeError(f"{OURS} did not preload the platform library: {checks.get(OURS)!r}")

    def side(name: str) -> dict[str, Any]:
        runs = samples[name]
        total = benchlib.summary([r["total_s"] for r in runs])
        ready = benchlib.summary([r["ready_s"] for r in runs])
        return {
            **total,
            "ready_p50_s": ready["p50_s"],
            "rss_mb": round(statistics.median(r["rss_mb"] for r in runs), 1),
            "preloaded": checks.get(name, ""),
        }

    ours, base = side(OURS), side(BASELINE)
    ratio = round(ours["p50_s"] / base["p50_s"], 3)
    extra = round(ours["rss_mb"] - base["rss_mb"], 1)
    peak = round(max(r["rss_mb"] for runs in samples.values() for r in runs), 1)
    wall = time.perf_counter() - wall0
    print(
        f"p50 first result: {OURS} {ours['p50_s']:.3f} s, {BASELINE} {base['p50_s']:.3f} s "
        f"-> ratio {ratio} (goal <= {GOAL_RATIO}); idle RSS +{extra} MB "
        f"(goal <= {GOAL_EXTRA_RSS_MB}); {wall:.0f} s in all"
    )
    benchlib.emit(
        {
            "name": "kernel_start",
            "ratio": ratio,
            "peak_rss_mb": peak,
            "extra_rss_mb": extra,
            "n": args.n,
            "goal": {"ratio_max": GOAL_RATIO, "extra_rss_mb_max": GOAL_EXTRA_RSS_MB},
            "met": ratio <= GOAL_RATIO and extra <= GOAL_EXTRA_RSS_MB,
            "ours": {"kernel": OURS, **ours},
            "baseline": {"kernel": BASELINE, **base},
            "wall_s": round(wall, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
