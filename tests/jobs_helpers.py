"""Helpers of the jobs tests and the bench.

Tiny notebooks with a ``parameters`` cell; real scheduler processes on a
temporary platform database; a platform started for its hub and scheduler only;
a crash and restart of the hub process alone.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import nbformat

PARAMS = 'x = 1\nname = "a"\nrate = 0.5\nflag = False\nsleep = 0.0\nfail = False'
BODY = [
    "import time\ntime.sleep(sleep)",
    'if fail:\n    raise ValueError("boom")',
    "print(name * x)",
]


def write_notebook(path: Path, params: str | None = PARAMS, body: list[str] = BODY) -> Path:
    """Write a small notebook (parameters cell first) and return its path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = []
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [nbformat.v4.new_code_cell(src) for src in body]
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def openapi_schema(schema: str | dict) -> dict:
    """An OpenAPI schema ready for ``jsonschema.validate``: a component's name, or a schema.

    The components come along (``$ref`` resolves); ``nullable`` becomes JSON Schema's
    ``null`` type.
    """
    import copy

    from routes_support import openapi_spec

    spec = openapi_spec()

    def fix(node):
        if isinstance(node, dict):
            if node.pop("nullable", False):
                if "type" in node:
                    node["type"] = [node["type"], "null"]
                else:  # nullable $ref / allOf
                    return {"anyOf": [{"type": "null"}, {k: fix(v) for k, v in node.items()}]}
            return {k: fix(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return fix({**copy.deepcopy(schema), "components": copy.deepcopy(spec["components"])})


# Real scheduler processes on a temporary platform database ----------------------
LEDGER_PARAMS = 'sleep = 0.0\nfail = False\nledger = ""'
LEDGER_BODY = [
    "import os, time, psutil\n"
    'run_id = os.environ["NBP_RUN_ID"]\n'
    "ancestors = ' '.join(str(p.pid) for p in psutil.Process().parents())\n"
    'with open(os.path.join(ledger, run_id), "a") as f:\n'
    '    f.write(f"start {os.getpid()} {ancestors}\\n")',
    "time.sleep(sleep)",
    'if fail:\n    raise ValueError("boom")',
    'with open(os.path.join(ledger, run_id), "a") as f:\n'
    '    f.write("end\\n")\n'
    'print("done", run_id)',
]
FINAL = ("succeeded", "failed", "timed-out", "cancelled")


def write_ledger_notebook(path: Path) -> Path:
    """A notebook that records each execution of a run in ``<ledger>/<run id>``.

    ``start <kernel pid> <ancestor pids>`` when it starts, ``end`` when it completes.
    """
    return write_notebook(path, LEDGER_PARAMS, LEDGER_BODY)


def scheduler_credentials(platform_home: Path) -> dict[str, str]:
    """Hub URL and token of the hub-managed scheduler of the platform at ``platform_home``.

    Schedulers started by a test use them to mint the owners' tokens from the real
    hub, exactly as the hub's own scheduler does.
    """
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            env = proc.environ()
        except psutil.Error:
            continue
        if cmd[-2:] == ["-m", "nbplatform_jobs"] and env.get("NBP_HOME") == str(platform_home):
            keys = ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN", "NBP_PLATFORM_URL")
            return {k: env[k] for k in keys}
    raise RuntimeError(f"no scheduler of the platform in {platform_home} is running")


def scheduler_env(home: Path, credentials: dict[str, str], **overrides: str) -> dict[str, str]:
    """Environment of a scheduler process on ``home`` (its own platform database)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))}
    env.update(credentials)
    env.update(
        {
            "NBP_HOME": str(home),
            "NBP_GPUS": "none",
            "NBP_JOBS_POLL": "0.1",
            "NBP_JOBS_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def start_scheduler(env: dict[str, str], log: Path):
    """Start ``python -m nbplatform_jobs`` (a real scheduler process); return its Popen."""
    import subprocess
    import sys

    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "nbplatform_jobs"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def jobs_engine(home: Path):
    """An engine on the platform database under ``home``: the host's tables, then the jobs'.

    Migrated as the platform service does at start.
    """
    from nbplatform_hub.service.db import connect, database_url
    from nbplatform_hub.service.db import upgrade as upgrade_host
    from nbplatform_jobs.db import upgrade

    engine = connect(database_url(home, env={}))
    upgrade_host(engine)
    upgrade(engine, home)
    return engine


def job_row(**values) -> dict:
    """The columns of a job definition (defaults: manual, owner ``alice``, ``t.ipynb``)."""
    return {
        "name": "j",
        "owner": "alice",
        "notebook": "t.ipynb",
        "parameters": {},
        "cron": None,
        "timezone": "UTC",
        "interval_seconds": None,
        "profile": "cpu-small",
        "timeout_seconds": 120,
        "retries": 0,
        "retry_backoff_seconds": 0.2,
        "max_concurrent_runs": 1,
        "active": True,
        "webhook_url": None,
        "email": None,
        "tags": [],
        "source": "api",
        **values,
    }


def add_job(engine, **values) -> dict:
    """Insert a job definition (:func:`job_row` with ``values``); return the stored job."""
    from nbplatform_jobs import store

    with engine.begin() as conn:
        return store.insert_job(conn, job_row(**values))


def add_run(engine, job: dict, trigger: str = "manual", **values) -> dict:
    """Queue a run of ``job``, then set columns of it (``status``, ``token_id``...)."""
    from nbplatform_jobs import store

    with engine.begin() as conn:
        run = store.insert_run(conn, job, trigger)
        assert run is not None
        if values:
            store.update_run(conn, run["id"], **values)
        return store.get_run(conn, run["id"])


def all_runs(engine) -> list[dict]:
    """Every run in the database."""
    from nbplatform_jobs.schema import job_runs

    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(job_runs.select()).mappings()]


def home_processes(home: Path) -> list:
    """Live processes started for ``home``: schedulers, fork servers, executors, kernels."""
    import psutil

    prefix = str(home)
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("NBP_HOME") == prefix or proc.cwd().startswith(prefix + "/"):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def run_of_process(proc, home: Path) -> str | None:
    """The run a process works for, if any.

    A kernel (or cold executor) by ``NBP_RUN_ID``; a warm executor (forked from
    the scheduler's fork server, so showing the server's environment) by the files
    it holds open in its run folder, or its working directory.
    """
    import psutil

    jobs = home / "jobs"
    try:
        run_id = proc.environ().get("NBP_RUN_ID")
        if run_id:
            return run_id
        paths = [Path(proc.cwd())] + [Path(f.path) for f in proc.open_files()]
    except psutil.Error:
        return None
    for path in paths:
        if path.is_relative_to(jobs) and len(path.relative_to(jobs).parts) >= 2:
            return path.relative_to(jobs).parts[1]
    return None


def read_ledger(ledger: Path) -> dict[str, list[str]]:
    """Lines each run's executions wrote, by run id."""
    return {p.name: p.read_text().splitlines() for p in ledger.iterdir() if p.is_file()}


def check_output(run_dir: Path, run_id: str) -> None:
    """The output notebook of a succeeded run is whole: valid, every cell executed."""
    import nbformat

    nb = nbformat.read(run_dir / "output.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), run_dir
    text = "".join(o.get("text", "") for o in code[-1].get("outputs", []))
    assert f"done {run_id}" in text, (run_dir, text)


# Restarting the hub process alone ------------------------------------------------
def crash_and_restart_hub(platform, timeout: float = 120) -> int:
    """``kill -9`` the JupyterHub process alone, then start it again, as a supervisor would.

    Everything the hub started lives on (proxy, services, users' servers, kernels,
    job runs). The new hub is started the way ``nbplatform up`` ends, with
    ``jupyterhub -f jupyterhub_config.py`` (``nbplatform up``'s preflight refuses
    while the old proxy still holds the ports), and becomes ``platform.proc``.

    Returns:
        The old hub's pid. What it started outlives it: the caller cleans up with
        :func:`kill_home_processes` at the end.
    """
    import os
    import signal

    import requests

    from platform_harness import BIN, REPO

    old = platform.proc
    os.kill(old.pid, signal.SIGKILL)
    old.wait(30)
    platform.launch([str(BIN / "jupyterhub"), "-f", str(REPO / "jupyterhub_config.py")])

    def ready() -> bool:
        hub = requests.get(f"{platform.url}/hub/api/", timeout=5)
        return hub.status_code == 200 and platform.healthy()

    platform.wait_until(ready, timeout, "the restarted hub")
    return old.pid


def kill_home_processes(home: Path) -> list[str]:
    """Kill what is still running for the platform at ``home`` (what a crashed hub left).

    JupyterHub starts managed services in sessions of their own, so after a hub
    crash they outlive both hubs. Returns the command lines it had to kill.
    """
    import psutil

    prefix = str(home)
    victims = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if proc.environ().get("NBP_HOME") == prefix or prefix in cmd:
                victims.append((proc, cmd))
        except psutil.Error:
            continue
    for proc, _ in victims:
        with suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs([p for p, _ in victims], timeout=10)
    for proc in alive:
        with suppress(psutil.Error):
            proc.kill()
    return [cmd for _, cmd in victims]


def start_jobs_platform(env: dict[str, str], timeout: float = 300):
    """Run ``nbplatform up`` and wait for what the jobs need: hub, platform service, scheduler.

    Unlike ``Platform.start`` it does not wait for MLflow (no job here uses it).
    """
    from platform_harness import BIN, Platform

    platform = Platform(env)
    platform.launch([str(BIN / "nbplatform"), "up"])

    def ready() -> bool:
        # the scheduler's credentials: it runs (RuntimeError, not ready, until then)
        return platform.healthy() and bool(scheduler_credentials(platform.home))

    return platform.wait_until(ready, timeout, "the platform", stop=True)
