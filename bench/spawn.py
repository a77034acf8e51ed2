"""Login-to-server-ready on ``cpu-small``: our platform vs a bare JupyterHub, same run.

Ours is the real platform (``nbplatform up`` through ``tests/platform_harness.py``)
with its profile spawner. The baseline is a bare JupyterHub started here with
its ``SimpleLocalProcessSpawner``, the dummy authenticator, the same proxy and
the same ``jupyterhub-singleuser`` (JupyterLab, ``/lab``), without our server
extension. Both run side by side and are measured in turns, a fresh user each
time: the clock runs from ``POST /hub/api/users/<u>/server`` with
``{"profile": "cpu-small"}`` until ``GET /user/<u>/api/status`` answers 200
through the proxy. Each server is stopped (untimed) before the next spawn.

Goal: p50 ratio ≤ 1.2.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

GOAL_RATIO = 1.2
PROFILE = "cpu-small"
POLL_S = 0.05
TOOK_RE = re.compile(r"User (\S+) took ([0-9.]+) seconds to start")
# Log lines that mark the phases of a spawn: the hub begins (oauth client), the
# server listens ("... is running at: http://.../user/<u>/lab"), the hub notices.
STAMP = r"^\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) "
BEGIN_RE = re.compile(STAMP + r".*Creating oauth client jupyterhub-user-(\S+)$", re.M)
LISTEN_RE = re.compile(STAMP + r"ServerApp\] https?://[^/\s]+/user/([^/\s]+)/", re.M)
NOTICED_RE = re.compile(STAMP + r".*User (\S+) took [0-9.]+ seconds to start", re.M)


@dataclass
class Side:
    """One hub under test, as the measurement loop sees it."""

    label: str
    url: str
    admin_token: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    user_tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """Call the hub's REST API (as the admin unless ``token`` is given)."""
        return requests.request(
            method,
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {token or self.admin_token}"},
            timeout=kw.pop("timeout", 60),
            **kw,
        )

    def create_user(self, name: str) -> str:
        """Create ``name`` and return a token of theirs."""
        r = self.api("POST", f"users/{name}")
        if r.status_code not in (201, 409):
            raise RuntimeError(f"{self.label}: creating {name}: {r.status_code} {r.text}")
        r = self.api("POST", f"users/{name}/tokens", json={"note": "bench"})
        if r.status_code != 201:
            raise RuntimeError(f"{self.label}: token of {name}: {r.status_code} {r.text}")
        self.user_tokens[name] = r.json()["token"]
        return self.user_tokens[name]

    def spawn_until_ready(self, name: str, timeout: float) -> dict[str, float]:
        """Ask for ``name``'s server; return when it answers through the proxy.

        Returns:
            ``total_s`` (request to first 200 from the server) and ``post_s``
            (until the hub answered the spawn request).
        """
        token = self.user_tokens[name]
        status_url = f"{self.url}/user/{name}/api/status"
        headers = {"Authorization": f"token {token}"}
        t0 = time.perf_counter()
        r = self.api("POST", f"users/{name}/server", json={"profile": PROFILE})
        t_post = time.perf_counter()
        if r.status_code not in (201, 202):
            raise RuntimeError(f"{self.label}: spawn of {name}: {r.status_code} {r.text}")
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with suppress(requests.RequestException):
                    s = session.get(status_url, headers=headers, timeout=10, allow_redirects=False)
                    if s.status_code == 200:
                        return {"total_s": time.perf_counter() - t0, "post_s": t_post - t0}
                time.sleep(POLL_S)
        raise RuntimeError(f"{self.label}: {name}'s server did not answer in {timeout} s")

    def stop_server(self, name: str, timeout: float = 60) -> None:
        """Stop ``name``'s server and wait until the hub forgot it."""
        r = self.api("DELETE", f"users/{name}/server")
        if r.status_code not in (202, 204):
            raise RuntimeError(f"{self.label}: stopping {name}: {r.status_code} {r.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "" not in self.api("GET", f"users/{name}").json().get("servers", {}):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.label}: {name}'s server did not stop in {timeout} s")

    def hub_took(self) -> dict[str, float]:
        """The hub's own "took N seconds to start" per user, from its log."""
        return {m.group(1): float(m.group(2)) for m in TOOK_RE.finditer(self.log())}

    def log(self) -> str:
        """The hub's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def phases(self, name: str) -> dict[str, float]:
        """Where ``name``'s spawn went, from the hub log's timestamps.

        Returns:
            ``listen_s``: from the hub beginning the spawn to the server listening;
            ``notice_s``: from then until the hub saw it answer (its polling backoff).
            Missing phases are NaN.
        """
        text = self.log()
        stamps: dict[str, datetime] = {}
        for key, regex in (("begin", BEGIN_RE), ("listen", LISTEN_RE), ("noticed", NOTICED_RE)):
            for m in regex.finditer(text):
                if m.group(2) == name:
                    stamps[key] = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
                    break
        nan = float("nan")

        def span(a: str, b: str) -> float:
            if a in stamps and b in stamps:
                return (stamps[b] - stamps[a]).total_seconds()
            return nan

        return {"listen_s": span("begin", "listen"), "notice_s": span("listen", "noticed")}


def wait_for_hub(url: str, token: str, proc: subprocess.Popen[bytes], log: Path, timeout: float):
    """Wait until the hub answers its API through the proxy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bare hub exited early:\n{log.read_text()[-4000:]}")
        with suppress(requests.RequestException):
            r = requests.get(
                f"{url}/hub/api/users", headers={"Authorization": f"token {token}"}, timeout=5
            )
            if r.status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"the bare hub did not come up in {timeout} s:\n{log.read_text()[-4000:]}")


BARE_CONFIG = """\
# A bare JupyterHub: simple local spawner, dummy authenticator, nothing of nbplatform.
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.should_start = True
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.JupyterHub.db_url = "sqlite:///{db}"
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.pid_file = {pid_file!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.api_tokens = {{{token!r}: "admin"}}
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
"""


def start_bare_hub(root: Path, base_env: dict[str, str], with_lab_ext: bool) -> Side:
    """Write a bare hub's config under ``root`` and start it in its own process group."""
    token = secrets.token_hex(24)
    port = benchlib.free_port()
    args: list[str] = []
    if not with_lab_ext:
        # The same venv has our server extension enabled (--sys-prefix); a bare hub has none.
        args.append('--ServerApp.jpserver_extensions={"nbplatform_lab": False}')
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    config = BARE_CONFIG.format(
        port=port,
        hub_port=benchlib.free_port(),
        proxy_api_port=benchlib.free_port(),
        proxy=str(benchlib.REPO / "node_modules" / ".bin" / "configurable-http-proxy"),
        proxy_pid=str(root / "proxy.pid"),
        db=root / "jupyterhub.sqlite",
        cookie=str(root / "jupyterhub_cookie_secret"),
        pid_file=str(root / "jupyterhub.pid"),
        token=token,
        singleuser=str(benchlib.BIN / "jupyterhub-singleuser"),
        args=args,
        home=str(root / "users" / "{username}"),
    )
    (root / "jupyterhub_config.py").write_text(config)
    log_path = root / "hub.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(benchlib.BIN / "jupyterhub"), "-f", str(root / "jupyterhub_config.py")],
            cwd=root,
            env=base_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    side = Side("bare-jupyterhub", f"http://127.0.0.1:{port}", token, proc, log_path)
    return side


class Reaper:
    """Remember every process seen in the hub trees; kill any left at the end."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}

    def note(self, pid: int) -> None:
        """Record ``pid``'s tree as it is now."""
        for proc in benchlib.tree(pid):
            with suppress(psutil.NoSuchProcess):
                self.seen[proc.pid] = proc.create_time()

    def reap(self) -> list[int]:
        """SIGKILL recorded processes still alive (same pid and start time); return them."""
        return benchlib.reap(self.seen)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="measured spawns per side")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured spawns per side first")
    parser.add_argument("--timeout", type=float, default=120.0, help="per spawn")
    parser.add_argument(
        "--baseline-lab-ext",
        action="store_true",
        help="let the bare hub's servers load nbplatform_lab too (isolates the hub side)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs)")
    args = parser.parse_args(argv)

    h = benchlib.harness()
    wall0 = time.perf_counter()
    samples: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    reaper = Reaper()
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="nbp-bench-spawn-"))
        if args.keep:
            print(f"logs and state kept in {tmp}", flush=True)
        else:
            stack.callback(lambda: subprocess.run(["rm", "-rf", str(tmp)], check=False))
        stack.callback(lambda: print(f"left behind and killed: {reaper.reap() or 'none'}"))

        # Ours: the real platform.
        platform = h.Platform(h.platform_env(tmp / "nbp-home"))
        stack.callback(platform.stop)
        t = time.perf_counter()
        platform.start()
        print(f"platform up in {time.perf_counter() - t:.1f} s at {platform.url}", flush=True)
        assert platform.proc is not None and platform.log_path is not None
        ours = Side("ours", platform.url, platform.admin_token, platform.proc, platform.log_path)

        # Baseline: a bare hub.
        bare_root = tmp / "bare"
        (bare_root / "users").mkdir(parents=True)
        base_env = {
            k: v for k, v in platform.env.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))
        }
        t = time.perf_counter()
        bare = start_bare_hub(bare_root, base_env, args.baseline_lab_ext)
        stack.callback(benchlib.stop_group, bare.proc)
        wait_for_hub(bare.url, bare.admin_token, bare.proc, bare.log_path, 60)
        print(f"bare hub up in {time.perf_counter() - t:.1f} s at {bare.url}", flush=True)

        sides = {"ours": ours, "baseline": bare}
        with benchlib.PeakRss(seen=reaper.seen) as rss:
            for key, side in sides.items():
                rss.watch(key, side.proc.pid)
            for i in range(args.warmup + args.n):
                order = ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")
                for key in order:
                    side = sides[key]
                    name = f"bench{i}{key[0]}"
                    side.create_user(name)
                    s = side.spawn_until_ready(name, args.timeout)
                    reaper.note(side.proc.pid)
                    rss.sample()
                    s["hub_took_s"] = side.hub_took().get(name, float("nan"))
                    s.update(side.phases(name))
                    side.stop_server(name)
                    label = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1:2d}"
                    print(
                        f"{key:8s} {label}: ready in {s['total_s']:.3f} s (hub answered the spawn "
                        f"request after {s['post_s']:.3f} s; hub log: took {s['hub_took_s']} s, "
                        f"server listening after {s['listen_s']:.3f} s, hub noticed "
                        f"{s['notice_s']:.3f} s later)",
                        flush=True,
                    )
                    if i >= args.warmup:
                        samples[key].append(s)
            for side in sides.values():
                reaper.note(side.proc.pid)

    def summarize(key: str) -> dict[str, Any]:
        runs = samples[key]

        def p50(field: str) -> float | None:
            values = [r[field] for r in runs if not math.isnan(r[field])]
            return round(benchlib.percentile(values, 50), 4) if values else None

        return {
            **benchlib.summary([r["total_s"] for r in runs]),
            "post_p50_s": p50("post_s"),
            "hub_took_p50_s": p50("hub_took_s"),
            "listen_p50_s": p50("listen_s"),
            "notice_p50_s": p50("notice_s"),
            "peak_rss_mb": rss.peak(key),
        }

    o, b = summarize("ours"), summarize("baseline")
    ratio = round(o["p50_s"] / b["p50_s"], 3)
    # The end-to-end figure includes JupyterHub's randomized polling backoff (notice_s,
    # up to seconds either side); the server-start phase alone is the steadier comparison.
    listen_ratio = (
        round(o["listen_p50_s"] / b["listen_p50_s"], 3)
        if o["listen_p50_s"] and b["listen_p50_s"]
        else None
    )
    wall = time.perf_counter() - wall0
    print(
        f"p50 login-to-ready: ours {o['p50_s']:.3f} s, bare {b['p50_s']:.3f} s -> ratio {ratio} "
        f"(goal <= {GOAL_RATIO}); server-listening phase ratio {listen_ratio}; "
        f"peak RSS of the trees: ours {o['peak_rss_mb']} MB, "
        f"bare {b['peak_rss_mb']} MB; {wall:.0f} s in all"
    )
    benchlib.emit(
        {
            "name": "spawn",
            "ratio": ratio,
            "peak_rss_mb": o["peak_rss_mb"],
            "listen_ratio": listen_ratio,
            "baseline_peak_rss_mb": b["peak_rss_mb"],
            "n": args.n,
            "profile": PROFILE,
            "goal": {"ratio_max": GOAL_RATIO},
            "met": ratio <= GOAL_RATIO,
            "ours": o,
            "baseline": {**b, "lab_ext": args.baseline_lab_ext},
            "wall_s": round(wall, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
