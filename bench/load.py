"""Hub and platform API latency while 50 users log in, spawn and work: under load vs idle.

The real platform (``nbplatform up`` through ``tests/platform_harness.py``, no
GPUs, no idle culling). Users sign up and are authorized first (untimed). Then
a prober times ``GET /hub/api/users/<name>``, ``GET /hub/api/user`` and
``GET /services/platform/api/health`` back to back on the idle platform (the
baseline), and again at a steady pace while the users run, ``--concurrency``
at a time, each: login form, a token minted with the login cookie, the spawn
page with ``cpu-small``, a cell in a real kernel over the kernel WebSocket,
``GET /services/platform/api/models`` and ``GET /services/platform/api/jobs``
(``tests/loadgen.py``). Servers stay up until every user is done (all 50 at
once), then are stopped.

``ratio`` is the prober's hub API p99 under load divided by its p99 idle (lower
is better; 1 would mean load costs the hub nothing). Also printed: the p99 of
every hub API call the users made, the platform API p50/p99, the number of
errors (any step answering other than expected; should be 0) and the peak RSS
of the whole platform's process tree (hub, proxy, services, servers, kernels).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

PASSWORD = "bench-Long-passw0rd!"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users")
    parser.add_argument("--concurrency", type=int, default=10, help="users in flight at once")
    parser.add_argument("--idle-rounds", type=int, default=100, help="idle prober rounds")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)

    benchlib.harness()  # puts tests/ on sys.path
    import loadgen

    from platform_harness import Platform, platform_env

    wall0 = time.perf_counter()
    seen: dict[int, float] = {}
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="nbp-bench-load-"))
        if args.keep:
            print(f"logs and state kept in {tmp}", flush=True)
        else:
            stack.callback(lambda: subprocess.run(["rm", "-rf", str(tmp)], check=False))
        stack.callback(lambda: print(f"left behind and killed: {benchlib.reap(seen) or 'none'}"))

        env = platform_env(
            tmp / "nbp-home", NBP_GPUS="none", NBP_IDLE_TIMEOUT="86400", NBP_CULL_EVERY="3600"
        )
        platform = Platform(env)
        stack.callback(platform.stop)
        t = time.perf_counter()
        platform.start()
        assert platform.proc is not None
        print(f"platform up in {time.perf_counter() - t:.1f} s at {platform.url}", flush=True)

        rss = stack.enter_context(benchlib.PeakRss(interval=1.0, seen=seen))
        rss.watch("platform", platform.proc.pid)
        names = [f"bench{i:02d}" for i in range(args.users)]
        t = time.perf_counter()
        loadgen.prepare_users(platform, names, PASSWORD)
        loadgen.seed(platform)
        print(f"{len(names)} users signed up and authorized in {time.perf_counter() - t:.1f} s")

        log_start = len(platform.log())
        idle = loadgen.idle_baseline(platform, rounds=args.idle_rounds)
        idle_hub, idle_platform = idle.stats("hub"), idle.stats("platform")
        print(
            f"idle: hub API p50 {idle_hub['p50_s']} s, p99 {idle_hub['p99_s']} s; "
            f"platform API p50 {idle_platform['p50_s']} s, p99 {idle_platform['p99_s']} s",
            flush=True,
        )

        done = {"n": 0}

        def progress(name: str, seconds: float) -> None:
            done["n"] += 1
            if done["n"] % 10 == 0 or done["n"] == len(names):
                print(f"  {done['n']}/{len(names)} done ({name}: {seconds:.1f} s)", flush=True)

        result = loadgen.run_load(platform, names, PASSWORD, args.concurrency, on_progress=progress)
        rss.sample()
        t = time.perf_counter()
        stop_errors = loadgen.stop_servers(platform, names, workers=25)
        stop_s = time.perf_counter() - t
        findings = loadgen.log_findings(platform.log()[log_start:])

    report = result.report()
    errors = [*result.rec.errors, *result.stop_errors, *stop_errors]
    probe_hub, all_hub = report["hub_api_probe"], report["hub_api"]
    load_platform = report["platform_api"]
    ratio = round(probe_hub["p99_s"] / idle_hub["p99_s"], 2)
    counts = ", ".join(f"{kind} {v['count']}" for kind, v in findings.items())
    for line in errors[:20]:
        print(f"error: {line}")
    print(
        f"{len(result.completed)}/{len(names)} users completed, {args.concurrency} at a time, "
        f"in {result.wall_s:.0f} s (user p50 {report['user_p50_s']} s); {len(errors)} errors.\n"
        f"hub API p99: {probe_hub['p99_s']} s under load vs {idle_hub['p99_s']} s idle "
        f"-> ratio {ratio}; every hub API call of the users: p50 {all_hub['p50_s']} s, "
        f"p99 {all_hub['p99_s']} s (n={all_hub['n']}).\n"
        f"platform API under load: p50 {load_platform['p50_s']} s, p99 {load_platform['p99_s']} s "
        f"(idle p50 {idle_platform['p50_s']} s, p99 {idle_platform['p99_s']} s).\n"
        f"peak RSS of the platform: {rss.peak('platform')} MB; servers stopped in {stop_s:.0f} s; "
        f"log: {counts}"
    )
    print("per endpoint: " + json.dumps(report["by_endpoint"]))
    wall = time.perf_counter() - wall0
    benchlib.emit(
        {
            "name": "load",
            "ratio": ratio,
            "peak_rss_mb": rss.peak("platform"),
            "errors": len(errors),
            "users": len(names),
            "users_completed": len(result.completed),
            "concurrency": args.concurrency,
            "hub_api_p99_idle_s": idle_hub["p99_s"],
            "hub_api_p99_load_s": probe_hub["p99_s"],
            "hub_api_p99_users_s": all_hub["p99_s"],
            "platform_api_p50_s": load_platform["p50_s"],
            "platform_api_p99_s": load_platform["p99_s"],
            "platform_api_idle": {"p50_s": idle_platform["p50_s"], "p99_s": idle_platform["p99_s"]},
            "user_p50_s": report["user_p50_s"],
            "load_s": round(result.wall_s, 1),
            "log": {kind: v["count"] for kind, v in findings.items()},
            "goal": {"errors": 0},
            "met": not errors and len(result.completed) == len(names),
            "wall_s": round(wall, 1),
        }
    )
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
