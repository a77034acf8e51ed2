"""Start and drive a real platform (hub, proxy, services, servers) for tests and benchmarks.

Everything listens on free loopback ports, and all state lives in a temporary
``NBP_HOME``. Nothing here imitates a platform component: it runs
``nbplatform up`` and talks to what that starts over HTTP and WebSocket.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_env(home: Path, **overrides: str) -> dict[str, str]:
    """Environment for a platform on free loopback ports under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))}
    env.update(
        {
            "NBP_HOME": str(home),
            "NBP_IP": "127.0.0.1",
            "NBP_PORT": str(free_port()),
            "NBP_HUB_PORT": str(free_port()),
            "NBP_PROXY_API_PORT": str(free_port()),
            "NBP_SERVICE_PORT": str(free_port()),
            "NBP_ADMIN_TOKEN": secrets.token_hex(24),
            "NBP_ADMIN_PASSWORD": "admin-" + secrets.token_hex(8),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            # No seeded demo (it runs the whole story) unless a test asks for it.
            "NBP_DEMO": "0",
        }
    )
    env.update(overrides)
    return env


def open_to_users(home: Path) -> None:
    """Let other users pass (``o+x``, not list) through the folders above ``home``.

    With isolation on, users' servers run as their own system users and must reach
    their workspaces under ``NBP_HOME``; pytest makes its temporary folders
    ``0700``. Only folders in the system's temporary directory are changed.
    """
    tmp = Path(tempfile.gettempdir()).resolve()
    for folder in home.resolve().parents:
        if folder.is_relative_to(tmp) and folder != tmp:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


@dataclass
class Platform:
    """A running platform and the calls tests make to it."""

    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['NBP_PORT']}"

    @property
    def home(self) -> Path:
        return Path(self.env["NBP_HOME"])

    @property
    def admin_token(self) -> str:
        return self.env["NBP_ADMIN_TOKEN"]

    @property
    def admin_password(self) -> str:
        return self.env["NBP_ADMIN_PASSWORD"]

    # Lifecycle -------------------------------------------------------------
    def start(self, timeout: float = 300) -> Platform:
        """Run ``nbplatform up``; return once the service and MLflow answer."""
        open_to_users(self.home)
        self.launch([str(BIN / "nbplatform"), "up"])
        return self.wait_until(
            lambda: self.healthy() and self._mlflow_ready(), timeout, "the platform", stop=True
        )

    def launch(self, command: list[str]) -> None:
        """Start ``command`` (``nbplatform up``, or the hub alone) in a session of its own.

        It becomes :attr:`proc`; its output goes to a new ``up-*.log`` in the home.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"up-{uuid.uuid4().hex[:6]}.log"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until(
        self, ready: Callable[[], bool], timeout: float, what: str, stop: bool = False
    ) -> Platform:
        """Wait until ``ready()`` (failing requests count as not ready) while :attr:`proc` lives.

        Raises:
            RuntimeError: It exited, or was not ready in ``timeout`` seconds (then it is
                stopped when ``stop``); with the log.
        """
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited early:\n{self.log()}")
            with suppress(requests.RequestException, RuntimeError):
                if ready():
                    return self
            time.sleep(0.3)
        if stop:
            self.stop()
        raise RuntimeError(f"{what} did not come up in {timeout} s:\n{self.log()}")

    def healthy(self) -> bool:
        """Whether the platform service answers its health check."""
        r = requests.get(
            f"{self.url}/services/platform/api/health",
            headers=self.auth(self.admin_token),
            timeout=5,
        )
        return r.status_code == 200

    def _mlflow_ready(self) -> bool:
        """Whether the MLflow server answers through the platform's gateway."""
        r = requests.get(
            f"{self.url}/services/platform/mlflow/health",
            headers=self.auth(self.admin_token),
            timeout=5,
        )
        return r.status_code in (200, 404)  # 404: a platform without the gateway

    def stop(self, timeout: float = 60) -> int | None:
        """Ctrl-C, as a user would; then make sure nothing is left."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    # HTTP ------------------------------------------------------------------
    @staticmethod
    def auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"token {token}"} if token else {}

    def hub_api(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        token = self.admin_token if token is None else token
        return requests.request(
            method,
            f"{self.url}/hub/api/{path.lstrip('/')}",
            headers=self.auth(token),
            timeout=kwargs.pop("timeout", 60),
            **kwargs,
        )

    def service(
        self, method: str, path: str, token: str | None, **kwargs: Any
    ) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/services/platform/{path.lstrip('/')}",
            headers=self.auth(token),
            timeout=30,
            allow_redirects=False,
            **kwargs,
        )

    def mlflow(
        self, method: str, endpoint: str, token: str | None, **kwargs: Any
    ) -> requests.Response:
        """Call MLflow's REST API (``api/2.0/mlflow/<endpoint>``) through the platform's gateway."""
        return self.service(method, f"mlflow/api/2.0/mlflow/{endpoint}", token, **kwargs)

    def raw(
        self,
        method: str,
        path: str,
        token: str | None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        port: str = "NBP_SERVICE_PORT",
    ) -> tuple[int, bytes]:
        """Send ``path`` exactly as given (no client-side folding of ``..``); status and body.

        To the platform service's own port by default, as a kernel on the machine does.
        """
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", int(self.env[port]), timeout=60)
        try:
            conn.request(method, path, body=body, headers={**self.auth(token), **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def server(
        self, user: str, method: str, path: str, token: str | None, server: str = "", **kwargs: Any
    ) -> requests.Response:
        prefix = f"/user/{user}/{server + '/' if server else ''}"
        return requests.request(
            method,
            f"{self.url}{prefix}{path.lstrip('/')}",
            headers=self.auth(token),
            timeout=60,
            allow_redirects=False,
            **kwargs,
        )

    # Users -----------------------------------------------------------------
    def create_user(self, name: str, group: str | None = None) -> str:
        """Create a user through the hub API (optionally in ``group``); return a token."""
        r = self.hub_api("POST", f"users/{name}")
        assert r.status_code in (201, 409), r.text
        if group is not None:
            for other in ("viewer", "data-scientist", "platform-admin"):
                if other != group:
                    self.hub_api("DELETE", f"groups/{other}/users", json={"users": [name]})
            r = self.hub_api("POST", f"groups/{group}/users", json={"users": [name]})
            assert r.status_code == 200, r.text
        r = self.hub_api("POST", f"users/{name}/tokens", json={"note": "tests"})
        assert r.status_code == 201, r.text
        self.tokens[name] = r.json()["token"]
        return self.tokens[name]

    def promote(self, model: str, version: str, token: str, alias: str = "champion") -> dict:
        """Ask (as ``token``'s user) for ``model@alias`` → ``version``; the first admin approves.

        Protected aliases move only this way (four eyes): the requester is not the approver.
        """
        body = {"model": model, "version": str(version), "alias": alias}
        request = self.service("POST", "api/promotions", token, json=body)
        assert request.status_code == 201, request.text
        approved = self.service(
            "POST", f"api/promotions/{request.json()['id']}/approve", self.admin_token, json={}
        )
        assert approved.status_code == 200, approved.text
        return approved.json()

    def spawn(
        self, user: str, profile: str | None = None, server: str = "", timeout: float = 120
    ) -> requests.Response:
        """Ask for a server; wait until it is ready when the hub accepted the request."""
        body = {"profile": profile} if profile else {}
        path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
        r = self.hub_api("POST", path, json=body)
        if r.status_code not in (201, 202):
            return r
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{user}").json()
            spawner = model.get("servers", {}).get(server)
            if spawner and spawner.get("ready"):
                return r
            if not spawner:
                raise RuntimeError(f"{user}'s server failed to start:\n{self.log()[-4000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"{user}'s server was not ready in {timeout} s")

    @contextmanager
    def spawned(self, user: str, profile: str | None = None, server: str = "") -> Iterator[None]:
        """A server of ``user``'s, up for the ``with`` block, stopped afterwards."""
        self.spawn(user, profile, server)
        try:
            yield
        finally:
            self.stop_server(user, server)

    def stop_server(self, user: str, server: str = "") -> None:
        path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
        r = self.hub_api("DELETE", path)
        assert r.status_code in (202, 204), r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{user}").json()
            if server not in model.get("servers", {}):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{user}'s server did not stop")

    # Kernels ---------------------------------------------------------------
    def execute(
        self,
        user: str,
        code: str,
        token: str,
        kernel: str = "nbplatform-cpu",
        timeout: float = 90,
        notebook: str | None = None,
    ) -> dict[str, Any]:
        """Start a kernel on ``user``'s server, run ``code``, return its output and status.

        ``stdout`` is what it printed, ``displays`` the data (by MIME type) of what
        it displayed (``display_data`` and ``execute_result``).

        With ``notebook`` (a path in the user's workspace) the kernel is started for
        a notebook session, as JupyterLab does when the notebook is opened.
        """
        import websocket

        session_id = None
        if notebook:
            r = self.server(
                user,
                "POST",
                "api/sessions",
                token,
                json={
                    "path": notebook,
                    "name": notebook.rsplit("/", 1)[-1],
                    "type": "notebook",
                    "kernel": {"name": kernel},
                },
            )
            assert r.status_code == 201, r.text
            session_id, kernel_id = r.json()["id"], r.json()["kernel"]["id"]
        else:
            r = self.server(user, "POST", "api/kernels", token, json={"name": kernel})
            assert r.status_code == 201, r.text
            kernel_id = r.json()["id"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.env['NBP_PORT']}/user/{user}/api/kernels/{kernel_id}/channels",
            header=[f"Authorization: token {token}"],
            # The handshake completes once the new kernel answers kernel_info: seconds
            # on a loaded machine.
            timeout=120,
        )
        ws.settimeout(5)
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": user,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: list[str] = []
        displays: list[dict[str, Any]] = []  # display_data and execute_result, by MIME type
        error: dict[str, Any] | None = None
        status = None
        idle = False
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    msg = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] in (
                    "restarting",
                    "dead",
                ):
                    status = "died"  # e.g. killed for going over the memory limit
                    break
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream":
                    out.append(msg["content"]["text"])
                elif kind in ("display_data", "execute_result"):
                    displays.append(msg["content"]["data"])
                elif kind == "error":
                    error = msg["content"]
                elif kind == "execute_reply":
                    status = msg["content"]["status"]
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
                if status is not None and idle:
                    break
        finally:
            ws.close()
            if session_id:
                self.server(user, "DELETE", f"api/sessions/{session_id}", token)
            else:
                self.server(user, "DELETE", f"api/kernels/{kernel_id}", token)
        return {"stdout": "".join(out), "displays": displays, "error": error, "status": status}


def running_platform(home: Path, **overrides: str) -> Iterator[Platform]:
    """A platform under ``home`` (:func:`platform_env` with ``overrides``), stopped afterwards.

    For a fixture: ``yield from running_platform(homes("nbp-x"), NBP_GPUS="none")``.
    """
    running = Platform(platform_env(home, **overrides)).start()
    try:
        yield running
    finally:
        running.stop()


def run_up(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``nbplatform up`` expecting it to stop by itself (a refused start)."""
    return subprocess.run(
        [str(BIN / "nbplatform"), "up"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if re.match(r"^\{.*\}$", line.strip()):
            return json.loads(line)
    raise ValueError("no JSON line")


# Browser-like sessions (forms, cookies) --------------------------------------
def _xsrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    match = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    return match.group(1) if match else session.cookies.get("_xsrf", "")


def login(platform: Platform, name: str, password: str) -> requests.Session:
    """Log in through the hub's login form; the session holds the cookies."""
    session = requests.Session()
    xsrf = _xsrf(session, f"{platform.url}/hub/login")
    session.post(
        f"{platform.url}/hub/login",
        data={"username": name, "password": password, "_xsrf": xsrf},
        timeout=30,
        allow_redirects=False,
    )
    return session


def logged_in(session: requests.Session) -> bool:
    return any(c.name == "jupyterhub-session-id" for c in session.cookies) and any(
        c.name == "jupyterhub-hub-login" for c in session.cookies
    )


def signup(platform: Platform, name: str, password: str) -> requests.Response:
    session = requests.Session()
    xsrf = _xsrf(session, f"{platform.url}/hub/signup")
    return session.post(
        f"{platform.url}/hub/signup",
        data={
            "username": name,
            "signup_password": password,
            "signup_password_confirmation": password,
            "_xsrf": xsrf,
        },
        timeout=30,
    )


def authorize(platform: Platform, name: str) -> None:
    admin = login(platform, "admin", platform.admin_password)
    assert logged_in(admin)
    r = admin.get(f"{platform.url}/hub/authorize/{name}", timeout=30)
    r.raise_for_status()
