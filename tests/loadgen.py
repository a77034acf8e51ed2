"""Simulated users for load tests and the load benchmark, against a real platform.

Each user signs up and is authorized beforehand (:func:`prepare_users`); under
load (:func:`run_load`) each one then logs in through the hub's login form,
mints an API token with its login cookie, spawns a ``cpu-small`` server from
the spawn page, waits for it through the hub API, runs a cell in a real kernel
over the kernel WebSocket, and lists models and jobs through the platform API.
Every request is timed; a background prober adds steady hub and platform API
calls, so that latency is sampled evenly over the whole run. Nothing is
mocked: every call goes through the proxy to the real hub, servers and services.

Used by ``tests/integration/test_load.py`` and ``bench/load.py``.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from platform_harness import Platform, logged_in, login, signup

PROFILE = "cpu-small"
SEED_MODEL = "load-seed-model"
SEED_JOB = "load-seed-job"
CELL = 'print(nbp.me()["name"], 6 * 7)'
KERNEL = "nbplatform-cpu"
POLL_S = 1.0  # how often a waiting user asks the hub whether their server is ready
XSRF_RE = re.compile(r'name="_xsrf" value="([^"]+)"')


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (1-99) of ``values``, linearly interpolated.

    Raises:
        ValueError: No samples.
    """
    if not values:
        raise ValueError("no samples")
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Sample:
    """One timed request."""

    api: str  # "hub", "platform", "server" or "form"
    endpoint: str  # a route pattern, e.g. "GET /hub/api/users/<name>"
    seconds: float
    status: int
    source: str  # "user" (a simulated user's step) or "probe"


@dataclass
class Recorder:
    """Thread-safe store of timed requests and of errors."""

    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Users the hub knows: NativeAuthenticator creates the hub user at the first login.
    known_users: list[str] = field(default_factory=lambda: ["admin"])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        """Keep ``sample``."""
        with self.lock:
            self.samples.append(sample)

    def error(self, message: str) -> None:
        """Keep an error message."""
        with self.lock:
            self.errors.append(message)

    def timed(
        self,
        api: str,
        endpoint: str,
        call: Callable[[], requests.Response],
        source: str = "user",
    ) -> requests.Response:
        """Run ``call`` (one HTTP request), keep its duration and status, return its response."""
        t0 = time.perf_counter()
        r = call()
        self.add(Sample(api, endpoint, time.perf_counter() - t0, r.status_code, source))
        return r

    def latencies(self, api: str, source: str | None = None) -> list[float]:
        """Durations of the kept requests to ``api`` (of ``source`` only, when given)."""
        with self.lock:
            return [
                s.seconds
                for s in self.samples
                if s.api == api and (source is None or s.source == source)
            ]

    def statuses(self) -> dict[str, dict[int, int]]:
        """``endpoint -> {status: count}`` over every kept request."""
        out: dict[str, dict[int, int]] = {}
        with self.lock:
            for s in self.samples:
                per = out.setdefault(s.endpoint, {})
                per[s.status] = per.get(s.status, 0) + 1
        return out

    def by_endpoint(self) -> dict[str, dict[str, float | int]]:
        """:meth:`stats` of each endpoint (all sources together)."""
        with self.lock:
            groups: dict[str, list[float]] = {}
            for s in self.samples:
                groups.setdefault(s.endpoint, []).append(s.seconds)
        return {endpoint: summarize(values) for endpoint, values in groups.items()}

    def stats(self, api: str, source: str | None = None) -> dict[str, float | int]:
        """Count, p50, p95, p99 and max (seconds) of the requests to ``api``."""
        return summarize(self.latencies(api, source))


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Count, p50, p95, p99 and max of ``values`` (seconds), or only ``n: 0``."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 4),
        "p95_s": round(percentile(values, 95), 4),
        "p99_s": round(percentile(values, 99), 4),
        "max_s": round(max(values), 4),
    }


class StepError(Exception):
    """A step of a simulated user did not answer as expected."""


def expect(r: requests.Response, statuses: Iterable[int], what: str) -> requests.Response:
    """Raise :class:`StepError` unless ``r`` has one of ``statuses``."""
    allowed = tuple(statuses)
    if r.status_code not in allowed:
        raise StepError(f"{what}: HTTP {r.status_code} (expected {allowed}): {r.text[:300]!r}")
    return r


# Access-log lines of the hub, servers and services answering 5xx, proxy errors, tracebacks.
LOG_PATTERNS = {
    "5xx": re.compile(r"^.*\] 5\d\d (GET|POST|PUT|PATCH|DELETE|HEAD) .*$", re.M),
    "proxy_error": re.compile(r"^.*\[ConfigProxy\].*(error|\s5\d\d\s).*$", re.M),
    "traceback": re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*.*$", re.M),
    "kernel_info_timeout": re.compile(r"^.*Timeout waiting for kernel_info reply.*$", re.M),
}


def log_findings(text: str, examples: int = 5) -> dict[str, dict[str, Any]]:
    """Count the lines of a platform log that point at trouble, with a few examples.

    Args:
        text: The log (``Platform.log()``).
        examples: Lines kept per kind.

    Returns:
        ``kind -> {"count": n, "examples": [...]}`` for each of :data:`LOG_PATTERNS`.
    """
    out: dict[str, dict[str, Any]] = {}
    for kind, pattern in LOG_PATTERNS.items():
        # A traceback's last line says what went wrong.
        lines = [m.group(0)[-300:] for m in pattern.finditer(text)]
        out[kind] = {"count": len(lines), "examples": lines[:examples]}
    return out


# Setup ----------------------------------------------------------------------
def prepare_users(
    platform: Platform, names: Sequence[str], password: str, workers: int = 4
) -> None:
    """Sign every user up through the hub's form and authorize them as the admin.

    The admin logs in once and authorizes each user on ``/hub/authorize/<name>``
    (NativeAuthenticator's admin page), as :func:`platform_harness.authorize` does.

    Args:
        platform: The running platform.
        names: User names to create.
        password: The password of every one of them.
        workers: Sign-ups in flight at once.
    """

    def one(name: str) -> None:
        r = signup(platform, name, password)
        expect(r, (200,), f"{name}: sign-up")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, names))
    admin = login(platform, "admin", platform.admin_password)
    if not logged_in(admin):
        raise StepError("the admin could not log in")
    for name in names:
        r = admin.get(f"{platform.url}/hub/authorize/{name}", timeout=60)
        expect(r, (200,), f"{name}: authorization")


def seed(platform: Platform) -> None:
    """Register one model and create one job, so the lists under load are not empty."""
    from jobs_helpers import write_notebook

    token = platform.admin_token
    r = platform.service(
        "POST",
        "mlflow/api/2.0/mlflow/registered-models/create",
        token,
        json={"name": SEED_MODEL},
    )
    expect(r, (200,), "seeding a model")
    write_notebook(platform.home / "users" / "admin" / "load.ipynb")
    r = platform.service(
        "POST", "api/jobs", token, json={"name": SEED_JOB, "notebook": "load.ipynb"}
    )
    expect(r, (201,), "seeding a job")


# One simulated user ---------------------------------------------------------
def user_session(platform: Platform, rec: Recorder, name: str, password: str) -> dict[str, Any]:
    """Run the whole sequence of one user; raise :class:`StepError` at the first failure.

    Args:
        platform: The running platform.
        rec: Where requests are timed.
        name: The user (signed up and authorized).
        password: Their password.

    Returns:
        ``{"token": ..., "seconds": ...}``: their API token and how long it all took.
    """
    t0 = time.perf_counter()
    url = platform.url
    with requests.Session() as s:
        # Log in through the form, as a browser does.
        page = rec.timed("form", "GET /hub/login", lambda: s.get(f"{url}/hub/login", timeout=60))
        expect(page, (200,), f"{name}: login page")
        match = XSRF_RE.search(page.text)
        xsrf = match.group(1) if match else s.cookies.get("_xsrf", "")
        r = rec.timed(
            "form",
            "POST /hub/login",
            lambda: s.post(
                f"{url}/hub/login",
                data={"username": name, "password": password, "_xsrf": xsrf},
                timeout=60,
                allow_redirects=False,
            ),
        )
        expect(r, (302, 303), f"{name}: login")
        if not logged_in(s):
            raise StepError(f"{name}: login answered {r.status_code} but set no login cookie")
        with rec.lock:
            rec.known_users.append(name)

        # An API token, minted with the login cookie (as /hub/token's page does).
        xsrf = s.cookies.get("_xsrf", xsrf)
        r = rec.timed(
            "hub",
            "POST /hub/api/users/<name>/tokens",
            lambda: s.post(
                f"{url}/hub/api/users/{name}/tokens",
                json={"note": "load test"},
                headers={"X-XSRFToken": xsrf},
                timeout=60,
            ),
        )
        token = expect(r, (200, 201), f"{name}: token").json()["token"]
        auth = {"Authorization": f"token {token}"}

        r = rec.timed(
            "hub",
            "GET /hub/api/user",
            lambda: requests.get(f"{url}/hub/api/user", headers=auth, timeout=60),
        )
        if expect(r, (200,), f"{name}: whoami").json().get("name") != name:
            raise StepError(f"{name}: /hub/api/user named {r.json().get('name')!r}")

        # Spawn from the spawn page with the cpu-small profile.
        page = rec.timed("form", "GET /hub/spawn", lambda: s.get(f"{url}/hub/spawn", timeout=60))
        expect(page, (200,), f"{name}: spawn page")
        if f'data-profile="{PROFILE}"' not in page.text:
            raise StepError(f"{name}: the spawn page does not offer {PROFILE}")
        match = XSRF_RE.search(page.text)
        xsrf = match.group(1) if match else s.cookies.get("_xsrf", "")
        r = rec.timed(
            "form",
            "POST /hub/spawn",
            lambda: s.post(
                f"{url}/hub/spawn",
                data={"profile": PROFILE, "_xsrf": xsrf},
                timeout=120,
                allow_redirects=False,
            ),
        )
        expect(r, (302, 303), f"{name}: spawn request")
    wait_ready(platform, rec, name, token)

    r = rec.timed(
        "server",
        "GET /user/<name>/api/status",
        lambda: platform.server(name, "GET", "api/status", token),
    )
    expect(r, (200,), f"{name}: server status")

    # A cell in a real kernel, over the kernel WebSocket.
    t = time.perf_counter()
    try:
        out = platform.execute(name, CELL, token, timeout=120)
    except AssertionError as e:  # the harness asserts the kernel started
        raise StepError(f"{name}: no kernel: {e}") from None
    rec.add(
        Sample("kernel", "execute (start, handshake, cell)", time.perf_counter() - t, 0, "user")
    )
    if out["status"] != "ok" or out["stdout"].strip() != f"{name} 42":
        raise StepError(f"{name}: the cell gave {out!r}")

    # The platform API, as the Models and Jobs panels call it.
    r = rec.timed(
        "platform",
        "GET /services/platform/api/models",
        lambda: platform.service("GET", "api/models", token),
    )
    models = expect(r, (200,), f"{name}: models").json()["registered_models"]
    if SEED_MODEL not in [m["name"] for m in models]:
        raise StepError(f"{name}: {SEED_MODEL} missing from {models!r}")
    r = rec.timed(
        "platform",
        "GET /services/platform/api/jobs",
        lambda: platform.service("GET", "api/jobs", token),
    )
    jobs = expect(r, (200,), f"{name}: jobs").json()["jobs"]
    if SEED_JOB not in [j["name"] for j in jobs]:
        raise StepError(f"{name}: {SEED_JOB} missing from {jobs!r}")
    return {"token": token, "seconds": time.perf_counter() - t0}


def wait_ready(
    platform: Platform, rec: Recorder, name: str, token: str, timeout: float = 360
) -> None:
    """Poll ``GET /hub/api/users/<name>`` (with the user's token) until the server is ready."""
    deadline = time.monotonic() + timeout
    seen_pending = False
    while time.monotonic() < deadline:
        r = rec.timed(
            "hub",
            "GET /hub/api/users/<name>",
            lambda: platform.hub_api("GET", f"users/{name}", token=token),
        )
        spawner = expect(r, (200,), f"{name}: user model").json().get("servers", {}).get("")
        if spawner and spawner.get("ready"):
            return
        if spawner:
            seen_pending = True
        elif seen_pending:
            raise StepError(f"{name}: the server failed to start:\n{platform.log()[-3000:]}")
        time.sleep(POLL_S)
    raise StepError(f"{name}: the server was not ready in {timeout} s")


def stop_servers(platform: Platform, names: Iterable[str], workers: int = 10) -> list[str]:
    """Stop the default server of each of ``names``; return the errors (none is good)."""
    errors: list[str] = []

    def one(name: str) -> None:
        try:
            if "" in platform.hub_api("GET", f"users/{name}").json().get("servers", {}):
                platform.stop_server(name)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
            errors.append(f"{name}: stopping: {exc}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, names))
    return errors


# Probes ---------------------------------------------------------------------
class Prober:
    """Call the hub and platform APIs at a steady pace in a thread, timing each call.

    ``GET /hub/api/users/<name>`` reads, in turn, the users the hub knows so far
    (``rec.known_users``: the admin, then each user once logged in).

    Args:
        platform: The running platform.
        rec: Where calls are timed (``source="probe"``).
        interval: Seconds between rounds (each round: three calls).
    """

    def __init__(self, platform: Platform, rec: Recorder, interval: float = 0.5) -> None:
        self.platform = platform
        self.rec = rec
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def round(self, i: int) -> None:
        """One round: a user model, the admin's own model, the platform's health."""
        p, rec, token = self.platform, self.rec, self.platform.admin_token
        with rec.lock:
            name = rec.known_users[i % len(rec.known_users)]
        calls: list[tuple[str, str, Callable[[], requests.Response]]] = [
            ("hub", "GET /hub/api/users/<name>", lambda: p.hub_api("GET", f"users/{name}")),
            ("hub", "GET /hub/api/user", lambda: p.hub_api("GET", "user")),
            (
                "platform",
                "GET /services/platform/api/health",
                lambda: p.service("GET", "api/health", token),
            ),
        ]
        for api, endpoint, call in calls:
            try:
                r = rec.timed(api, endpoint, call, source="probe")
            except requests.RequestException as exc:
                rec.error(f"probe {endpoint}: {exc!r}")
                continue
            if r.status_code != 200:
                rec.error(f"probe {endpoint}: HTTP {r.status_code}: {r.text[:300]!r}")

    def run_rounds(self, count: int) -> None:
        """Run ``count`` rounds now, back to back (an idle baseline)."""
        for i in range(count):
            self.round(i)

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            self.round(i)
            i += 1

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


# The load -------------------------------------------------------------------
@dataclass
class LoadResult:
    """What :func:`run_load` measured."""

    rec: Recorder
    completed: list[str]
    wall_s: float
    user_seconds: list[float]
    stop_errors: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """Latency figures and error counts, ready for printing as JSON."""
        users = self.user_seconds
        return {
            "users_completed": len(self.completed),
            "errors": len(self.rec.errors),
            "wall_s": round(self.wall_s, 1),
            "user_p50_s": round(percentile(users, 50), 2) if users else None,
            "hub_api": self.rec.stats("hub"),
            "hub_api_users": self.rec.stats("hub", "user"),
            "hub_api_probe": self.rec.stats("hub", "probe"),
            "platform_api": self.rec.stats("platform"),
            "platform_api_users": self.rec.stats("platform", "user"),
            "login_and_spawn_forms": self.rec.stats("form"),
            "by_endpoint": self.rec.by_endpoint(),
        }


def run_load(
    platform: Platform,
    names: Sequence[str],
    password: str,
    concurrency: int = 10,
    stop_when_done: bool = False,
    on_progress: Callable[[str, float], None] | None = None,
) -> LoadResult:
    """Run every user's sequence, ``concurrency`` at a time, with the prober running.

    Args:
        platform: The running platform (users prepared with :func:`prepare_users`).
        names: The users.
        password: Their password.
        concurrency: Users in flight at once.
        stop_when_done: Stop each user's server as soon as their sequence is done
            (to bound memory); otherwise every server stays up until the caller stops it.
        on_progress: Called with ``(name, seconds)`` as each user completes.

    Returns:
        The recorder, the users who completed, and timings.
    """
    rec = Recorder()
    completed: list[str] = []
    durations: list[float] = []
    stop_errors: list[str] = []

    def one(name: str) -> None:
        try:
            out = user_session(platform, rec, name, password)
        except StepError as exc:
            rec.error(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
            rec.error(f"{name}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
            return
        with rec.lock:
            completed.append(name)
            durations.append(out["seconds"])
        if on_progress:
            on_progress(name, out["seconds"])
        if stop_when_done:
            stop_errors.extend(stop_servers(platform, [name], 1))

    t0 = time.perf_counter()
    with Prober(platform, rec), ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, names))
    wall = time.perf_counter() - t0
    return LoadResult(rec, completed, wall, durations, stop_errors)


def idle_baseline(platform: Platform, users: Sequence[str] = (), rounds: int = 100) -> Recorder:
    """Time the prober's calls back to back on an otherwise idle platform.

    Args:
        platform: The running platform.
        users: Users the hub knows, read in turn with the admin (default: the admin only).
        rounds: Rounds of three calls.

    Returns:
        The recorder with the calls (``source="probe"``).
    """
    Prober(platform, Recorder(known_users=["admin", *users])).run_rounds(5)  # warm-up
    rec = Recorder(known_users=["admin", *users])
    Prober(platform, rec).run_rounds(rounds)
    return rec
