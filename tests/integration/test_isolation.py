"""Isolation on one machine, tried as a hostile viewer would from their own kernel.

The attack of issue 13: read the hub's environment and every command line from
``/proc``, read the secrets under ``NBP_HOME``, connect to the MLflow server and to
every port that listens on this machine, and delete another user's registered
model. Each step must be refused, and the model must still be there. Then a job
run: its kernel runs as the owner's system user, in their workspace.

Runs against the session platform of ``tests/conftest.py`` (the hub runs as root
in CI, so isolation is on there; without root these tests are skipped and
``tests/hub/test_isolation.py`` checks the refusal to start).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import time
from pathlib import Path

import psutil
import pytest
from jobs_helpers import write_notebook

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="one system user per platform user needs root"),
]

VICTIM, VIEWER, MODEL = "iso-dana", "iso-vic", "iso-dana-model"

#: Run in the viewer's kernel; prints one JSON report of every attempt.
ATTACK = r"""
import glob, json, os, pwd, socket
home, me = os.environ["NBP_HOME"], os.getuid()
token = os.environ["JUPYTERHUB_API_TOKEN"]
report = {"uid": me, "user": pwd.getpwuid(me).pw_name, "environ_read": [], "cmdlines": [],
          "files": {}, "unix": {}, "ports": {}}
for proc in glob.glob("/proc/[0-9]*"):
    try:
        owner = os.stat(proc).st_uid
        report["cmdlines"].append(open(proc + "/cmdline", "rb").read().decode("utf-8", "replace"))
    except OSError:
        continue
    if owner != me:
        try:
            open(proc + "/environ", "rb").read()
            report["environ_read"].append(proc)
        except OSError:
            pass
for path in TARGETS:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        report["files"][path] = "opened"
    except OSError as e:
        report["files"][path] = type(e).__name__
for line in open("/proc/net/unix").read().splitlines()[1:]:
    parts = line.split()
    if len(parts) >= 8 and parts[7].startswith("/") and "mlflow" in parts[7]:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(parts[7]); report["unix"][parts[7]] = "connected"
        except OSError as e:
            report["unix"][parts[7]] = type(e).__name__
        finally:
            s.close()
ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":
            ports.add(int(local.rsplit(":", 1)[1], 16))
body = json.dumps({"name": MODEL}).encode()
attempts = [
    ("POST", "/api/2.0/mlflow/registered-models/delete", None),
    ("DELETE", "/api/2.0/mlflow/registered-models/delete", token),
    ("DELETE", "/ajax-api/2.0/mlflow/registered-models/delete", token),
    ("DELETE", "/services/platform/mlflow/api/2.0/mlflow/registered-models/delete", token),
    ("DELETE", "/hub/api/users/" + VICTIM, token),
    ("DELETE", "/api/routes/services/platform", None),
]
for port in sorted(ports):
    for method, path, auth in attempts:
        s = socket.socket()
        s.settimeout(1.5)
        try:
            s.connect(("127.0.0.1", port))
            head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    + (f"Authorization: token {auth}\r\n" if auth else "")
                    + "Connection: close\r\n\r\n")
            s.sendall(head.encode() + body)
            answer = s.recv(64).decode("latin-1")
            status = answer.split(" ")[1] if answer.startswith("HTTP/") else "not http"
        except OSError as e:
            status = type(e).__name__
        finally:
            s.close()
        report["ports"][f"{port} {method} {path} {'token' if auth else 'none'}"] = status
print("REPORT " + json.dumps(report))
"""


#: Run in the viewer's kernel: subscribe to every port the victim's account listens
#: on (a kernel's IOPub among them) and report what arrives.
EAVESDROP = """
import json, pwd, time, zmq
victim = pwd.getpwnam(ACCOUNT).pw_uid
ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and int(parts[7]) == victim:
            ports.add(int(parts[1].rsplit(":", 1)[1], 16))
context = zmq.Context()
sockets = []
for port in sorted(ports):
    s = context.socket(zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.setsockopt(zmq.LINGER, 0)
    s.connect(f"tcp://127.0.0.1:{port}")
    sockets.append(s)
poller = zmq.Poller()
for s in sockets:
    poller.register(s, zmq.POLLIN)
received, heard = 0, False
deadline = time.monotonic() + 8
while time.monotonic() < deadline:
    for s, _ in poller.poll(200):
        frames = s.recv_multipart()
        received += 1
        heard = heard or any(SECRET.encode() in f for f in frames)
print("EAVESDROP " + json.dumps({"ports": sorted(ports), "received": received, "heard": heard}))
"""


def secrets_of_others(viewer_uid: int) -> set[str]:
    """Every token, secret, key and password in the environment of a process not the viewer's."""
    found: set[str] = set()
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real == viewer_uid:
                continue
            environ = proc.environ()
        except psutil.Error:
            continue
        for key, value in environ.items():
            if re.search(r"TOKEN|SECRET|PASSWORD|KEY", key) and len(value) >= 16:
                found.add(value)
    return found


@pytest.fixture(scope="module")
def victim(platform):
    token = platform.create_user(VICTIM, "data-scientist")
    r = platform.service(
        "POST",
        "mlflow/api/2.0/mlflow/registered-models/create",
        token,
        json={"name": MODEL},
    )
    assert r.status_code == 200, r.text
    return token


def model_exists(platform, token: str) -> bool:
    r = platform.service("GET", f"mlflow/api/2.0/mlflow/registered-models/get?name={MODEL}", token)
    return r.status_code == 200


def test_platform_says_isolation_is_on(platform):
    assert "Isolation is on" in platform.log()
    home = platform.home
    assert home.stat().st_mode & 0o777 == 0o711
    own = ["hub", "platform", "mlflow", "run", "logs", platform.log_path.name]
    for entry in [home / name for name in own]:  # (tests write other things there too)
        assert entry.stat().st_mode & 0o077 == 0, entry
    for entry in (home / "users", home / "kernels"):
        assert entry.stat().st_mode & 0o777 == 0o711, entry


def test_a_viewers_kernel_cannot_walk_the_platform(platform, victim):
    viewer = platform.create_user(VIEWER, "viewer")
    platform.spawn(VICTIM)  # so the victim's server, its token and kernels exist
    platform.execute(VICTIM, "x = 1", victim)
    platform.spawn(VIEWER)
    account = pwd.getpwnam(f"jupyter-{VIEWER}")
    home = platform.home
    targets = [
        home,
        home / "hub",
        home / "hub" / "jupyterhub.sqlite",
        home / "hub" / "jupyterhub_cookie_secret",
        home / "platform",
        home / "mlflow",
        home / "mlflow" / "mlflow.db",
        home / "logs",
        home / "jobs",
        home / "kernels",
        home / "run",
        home / "admin-password",
        home / "users",
        home / "users" / VICTIM,
        platform.log_path,
    ]
    targets = [t for t in targets if t.exists()]
    assert len(targets) >= 12, targets  # the attack below tries real files
    code = (
        f"TARGETS = {[str(t) for t in targets]!r}\nMODEL, VICTIM = {MODEL!r}, {VICTIM!r}\n" + ATTACK
    )
    result = platform.execute(VIEWER, code, viewer, timeout=300)
    assert result["status"] == "ok", result
    # The kernel's own log lines (about the garbage sent to its ports) may come too.
    lines = [line for line in result["stdout"].splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, result["stdout"][-2000:]
    report = json.loads(lines[0].removeprefix("REPORT "))

    # The kernel is the viewer's own system user, not the hub's.
    assert (report["uid"], report["user"]) == (account.pw_uid, account.pw_name)
    assert report["uid"] != os.geteuid()
    # No other process's environment, and no secret on any command line.
    assert report["environ_read"] == []
    secrets = secrets_of_others(account.pw_uid)
    assert platform.admin_token in secrets and len(secrets) >= 5
    leaked = [s for s in secrets if any(s in line for line in report["cmdlines"])]
    assert leaked == []
    # Nothing under NBP_HOME but passage: every secret file and folder is refused.
    assert {path: why for path, why in report["files"].items() if why != "PermissionError"} == {}
    # The MLflow server's socket is closed to the viewer.
    assert report["unix"] and set(report["unix"].values()) == {"PermissionError"}, report["unix"]
    # No port on this machine deleted anything for the viewer.
    assert report["ports"], "no listening port was tried"
    succeeded = {k: v for k, v in report["ports"].items() if v.startswith("2")}
    assert succeeded == {}
    assert model_exists(platform, victim)
    assert platform.hub_api("GET", f"users/{VICTIM}").status_code == 200


def test_a_viewer_cannot_listen_to_another_users_kernel(platform, victim):
    """A kernel's channels are encrypted (CurveZMQ): its IOPub tells an outsider nothing."""
    import threading
    import uuid

    viewer = platform.create_user(VIEWER, "viewer")
    platform.spawn(VICTIM)
    platform.spawn(VIEWER)
    secret = uuid.uuid4().hex
    talking = (
        f"import time\nfor _ in range(150):\n    print({secret!r}, flush=True)\n"
        "    time.sleep(0.2)\n"
    )
    said: dict = {}
    speaker = threading.Thread(
        target=lambda: said.update(platform.execute(VICTIM, talking, victim, timeout=120))
    )
    speaker.start()
    try:
        time.sleep(5)  # the victim's kernel is up and printing
        code = f"ACCOUNT, SECRET = {f'jupyter-{VICTIM}'!r}, {secret!r}\n" + EAVESDROP
        result = platform.execute(VIEWER, code, viewer, timeout=120)
    finally:
        speaker.join(timeout=150)
    assert result["status"] == "ok", result
    lines = [line for line in result["stdout"].splitlines() if line.startswith("EAVESDROP ")]
    report = json.loads(lines[0].removeprefix("EAVESDROP "))
    assert report["ports"], "the victim's kernel listens on no port"
    # The kernel's five ports are in its server's block, below the ephemeral range.
    assert len([p for p in report["ports"] if 20000 <= p < 32768]) >= 5, report["ports"]
    assert (report["heard"], report["received"]) == (False, 0), report
    # The victim's own client heard it all the while.
    assert said.get("status") == "ok" and secret in said["stdout"], said


def test_servers_and_workspaces_belong_to_their_users(platform, victim):
    platform.spawn(VICTIM)
    account = pwd.getpwnam(f"jupyter-{VICTIM}")
    workspace = platform.home / "users" / VICTIM
    info = workspace.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (account.pw_uid, 0o700)
    assert account.pw_dir == str(workspace)
    model = platform.hub_api("GET", f"users/{VICTIM}").json()
    pid = model["servers"][""]["state"]["pid"] if "state" in model["servers"][""] else None
    servers = [
        p
        for p in psutil.process_iter(["cmdline", "uids", "environ"])
        if "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])
        and (p.info["environ"] or {}).get("JUPYTERHUB_USER") == VICTIM
    ]
    assert servers and all(p.info["uids"].real == account.pw_uid for p in servers), pid
    env = servers[0].info["environ"]
    assert env["HOME"] == str(workspace) and env["USER"] == account.pw_name
    assert "NBP_ADMIN_TOKEN" not in env and "CONFIGPROXY_AUTH_TOKEN" not in env


def test_job_runs_execute_as_their_owner(platform, victim):
    account = pwd.getpwnam(f"jupyter-{VICTIM}")
    workspace = platform.home / "users" / VICTIM
    write_notebook(
        workspace / "whoami.ipynb",
        body=[
            "import json, os\n"
            "try:\n"
            "    os.listdir(os.environ['NBP_HOME'] + '/hub')\n"
            "    hub = 'listed'\n"
            "except PermissionError:\n"
            "    hub = 'refused'\n"
            "secret = [k for k in os.environ if k.startswith(('NBP_PLATFORM_DB', 'NBP_SMTP'))]\n"
            "json.dump({'uid': os.getuid(), 'cwd': os.getcwd(), 'home': os.environ['HOME'],\n"
            "           'hub': hub, 'secret': secret}, open('whoami.json', 'w'))\n"
        ],
    )
    r = platform.service(
        "POST", "api/jobs", victim, json={"name": "iso-whoami", "notebook": "whoami.ipynb"}
    )
    assert r.status_code == 201, r.text
    run = platform.service("POST", f"api/jobs/{r.json()['id']}/runs", victim, json={})
    assert run.status_code == 201, run.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = platform.service("GET", f"api/runs/{run.json()['id']}", victim).json()
        if state["status"] in ("succeeded", "failed", "timed-out", "cancelled"):
            break
        time.sleep(0.3)
    assert state["status"] == "succeeded", state
    result = Path(workspace / "whoami.json")
    seen = json.loads(result.read_text())
    assert seen == {
        "uid": account.pw_uid,
        "cwd": str(workspace),
        "home": str(workspace),
        "hub": "refused",
        "secret": [],
    }
    assert result.stat().st_uid == account.pw_uid and result.stat().st_mode & 0o077 == 0
    # The connection file of the run's kernel is gone with it.
    assert list((platform.home / "kernels").glob(f"kernel-{run.json()['id']}-*")) == []
