"""Idle users one machine holds: servers with a kernel each, until login → ready degrades 2×.

The real platform (``nbplatform up`` through ``tests/platform_harness.py``). Users
are added in steps; each gets a ``cpu-small`` server and a running
``nbplatform-cpu`` kernel, then stays idle. After each step a fresh probe user
is spawned a few times: the clock runs from ``POST /hub/api/users/<u>/server``
until the server answers ``GET /user/<u>/api/status`` through the proxy. The
ratio is that time's median against the same probe with no idle users, in the
same run. The figure is the number of idle users held before the ratio passes
2 (or before memory runs short, or ``--max-users``).

Goal (issue 11): ≥ 60 idle users on a 2-core, 24 GB machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

GOAL_USERS = 60
DEGRADED = 2.0
PROFILE = "cpu-small"
KERNEL = "nbplatform-cpu"
MIN_AVAILABLE_MB = 1500


def _ready_s(platform: object, user: str, token: str, timeout: float = 300) -> float:
    """Seconds from asking for ``user``'s server to its first answer through the proxy."""
    t = time.perf_counter()
    r = platform.hub_api("POST", f"users/{user}/server", json={"profile": PROFILE})  # type: ignore[attr-defined]
    assert r.status_code in (201, 202), r.text
    url = f"{platform.url}/user/{user}/api/status"  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = requests.get(
                url, headers={"Authorization": f"token {token}"}, timeout=30, allow_redirects=False
            )
            if answer.status_code == 200:
                return time.perf_counter() - t
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{user}'s server was not ready in {timeout} s")


def _start_kernel(platform: object, user: str, token: str, timeout: float = 120) -> None:
    """Start a kernel on ``user``'s server and wait until it answers (then leave it idle)."""
    import websocket

    r = platform.server(user, "POST", "api/kernels", token, json={"name": KERNEL})  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    port = platform.env["NBP_PORT"]  # type: ignore[attr-defined]
    # The server completes the handshake once the kernel has answered kernel_info.
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{port}/user/{user}/api/kernels/{r.json()['id']}/channels",
        header=[f"Authorization: token {token}"],
        timeout=timeout,
    )
    ws.close()


def _probe(platform: object, token: str, samples: int) -> float:
    times = []
    for _ in range(samples):
        times.append(_ready_s(platform, "probe", token))
        platform.stop_server("probe")  # type: ignore[attr-defined]
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=10, help="idle users added per step")
    parser.add_argument("--max-users", type=int, default=80)
    parser.add_argument("--samples", type=int, default=3, help="probe spawns per step")
    args = parser.parse_args(argv)

    benchlib.harness()  # puts tests/ on sys.path
    from platform_harness import Platform, platform_env

    seen: dict[int, float] = {}
    steps: list[tuple[int, float, float]] = []
    held, reason = 0, f"--max-users {args.max_users} reached"
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="nbp-bench-idle-"))
        stack.callback(lambda: subprocess.run(["rm", "-rf", str(tmp)], check=False))
        stack.callback(lambda: print(f"left behind and killed: {benchlib.reap(seen) or 'none'}"))
        env = platform_env(
            tmp / "nbp-home", NBP_GPUS="none", NBP_IDLE_TIMEOUT="86400", NBP_CULL_EVERY="3600"
        )
        platform = Platform(env)
        stack.callback(platform.stop)
        platform.start()
        assert platform.proc is not None
        rss = stack.enter_context(benchlib.PeakRss(interval=2.0, seen=seen))
        rss.watch("platform", platform.proc.pid)
        probe_token = platform.create_user("probe")
        baseline = _probe(platform, probe_token, args.samples)
        print(f"0 idle users: login → ready {baseline:.2f} s (baseline)", flush=True)
        while held < args.max_users:
            for i in range(held, min(held + args.step, args.max_users)):
                name = f"idle{i:03d}"
                token = platform.create_user(name)
                platform.spawn(name, PROFILE, timeout=300)
                _start_kernel(platform, name, token)
            held = min(held + args.step, args.max_users)
            rss.sample()
            ready = _probe(platform, probe_token, args.samples)
            available = psutil.virtual_memory().available / 2**20
            ratio = ready / baseline
            steps.append((held, round(ready, 2), round(ratio, 2)))
            print(
                f"{held} idle users: login → ready {ready:.2f} s, ratio {ratio:.2f}; "
                f"{available:.0f} MB available, platform RSS {rss.peak('platform')} MB",
                flush=True,
            )
            if ratio > DEGRADED:
                held -= args.step  # the last step that stayed under 2x
                reason = f"ratio {ratio:.2f} > {DEGRADED} at {held + args.step} users"
                break
            if available < MIN_AVAILABLE_MB:
                reason = f"{available:.0f} MB of memory left"
                break
        peak = rss.peak("platform")

    print(f"held {held} idle users with a kernel each ({reason}); goal ≥ {GOAL_USERS}")
    benchlib.emit(
        {
            "name": "idle_users",
            "users": held,
            "ratio": steps[-1][2] if steps else None,
            "baseline_ready_s": round(baseline, 2),
            "steps": steps,
            "peak_rss_mb": peak,
            "goal_users": GOAL_USERS,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
