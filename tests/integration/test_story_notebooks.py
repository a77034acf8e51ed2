"""The story notebooks (``notebooks/NN_*.ipynb``) on a real platform: as jobs and under nbval.

One data scientist copies the story into their workspace and runs each notebook in order,
first as a platform job (``POST api/jobs`` and ``api/jobs/<id>/runs``, profile
``cpu-small``, small parameters), then under nbval (``pytest --nbval-lax``, the parameters
cell's defaults) in a subprocess whose kernel is a platform kernel of theirs
(``NBP_PLATFORM_URL`` and ``NBP_TOKEN``; the kernel preload points MLflow at the gateway).
Each step leaves what the next one needs: feature views and their data, a registered model
version, a monitor. A notebook's nbval run starts once its job succeeded and runs beside
the next notebook's job, which needs only what the job left. Under nbval, 06 retrains the
model from its drift alert (a job run's token may not start jobs); the last test waits for
that retraining run.

The platform reads file sources only inside its feature data folder, which users cannot
write; as a platform admin would, the test creates the story's two (empty) offline tables
there first, and the notebooks push the rows. Users here are called ``story-*``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from replay_support import FINAL

pytestmark = pytest.mark.integration

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STORY = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
USER = "story-sam"
#: Parameters of the job runs, by notebook (the rest keep the parameters cell's defaults,
#: which are what nbval runs).
JOB_PARAMETERS = {
    "02_train": {"epochs": 15, "explain_rows": 30},
    "03_explain": {"explain_rows": 10, "row": 1},
    "05_batch_scoring": {"features_from": "online"},
    "06_drift": {"retrain": False},  # a job may not start jobs; under nbval it retrains
    "07_dask": {"npartitions": 2},
}
#: The offline tables of the story, as a platform admin creates them (no rows).
TABLES = {
    "driver_hourly_stats": ("driver_id", ["conv_rate", "acc_rate"], ["avg_daily_trips"]),
    "customer_daily_profile": (
        "customer_id",
        ["current_balance", "avg_passenger_count"],
        ["lifetime_trip_count"],
    ),
}


def create_tables(folder: Path) -> None:
    """The story's offline tables, empty, with the columns the notebooks push."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    when = pa.timestamp("ns", tz="UTC")
    for name, (key, floats, ints) in TABLES.items():
        fields = [(key, pa.int64()), ("event_timestamp", when)]
        fields += [(c, pa.float32()) for c in floats] + [(c, pa.int64()) for c in ints]
        schema = pa.schema([*fields, ("created", when)])
        pq.write_table(schema.empty_table(), folder / f"{name}.parquet")


@pytest.fixture(scope="module")
def story(platform, tmp_path_factory):
    token = platform.create_user(USER, "data-scientist")
    create_tables(platform.home / "features" / "data" / "story")
    workspace = platform.home / "users" / USER
    workspace.mkdir(parents=True, exist_ok=True)
    checks = tmp_path_factory.mktemp("story-nbval")
    (checks / "pytest.ini").write_text("[pytest]\n")  # none of the repository's settings
    (checks / "home").mkdir()
    for notebook in STORY:
        shutil.copy(notebook, workspace / notebook.name)
        shutil.copy(notebook, checks / notebook.name)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBP_", "JUPYTERHUB_", "MLFLOW_", "FEAST_"))
    }
    env.update(
        {
            "NBP_PLATFORM_URL": f"{platform.url}/services/platform/",
            "NBP_TOKEN": token,
            "HOME": str(checks / "home"),
            # The kernelspec runs `python`: the venv's.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    with ThreadPoolExecutor(max_workers=1) as pool:  # nbval runs, one at a time, in order
        yield SimpleNamespace(
            token=token, workspace=workspace, checks=checks, env=env, pool=pool, jobs={}, nbval={}
        )


def wait_run(platform, token: str, run_id: str, what: str, timeout: float = 540) -> dict:
    """The run once it ended; fails with its log unless it succeeded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in FINAL:
            break
        time.sleep(0.5)
    if run["status"] != "succeeded":
        log = platform.service("GET", f"api/runs/{run_id}/log", token).text
        busy = ""
        if run["status"] not in FINAL:  # what the machine is busy with (CPU time, state)
            ps = ["ps", "-eo", "pid,stat,etime,time,args", "--sort=-time"]
            busy = subprocess.run(ps, capture_output=True, text=True).stdout[:3000]
        pytest.fail(
            f"{what}: {run['status']}: {run.get('error')}, progress {run.get('progress')}\n"
            f"{log[-4000:]}\n{busy}"
        )
    return run


def run_job(platform, story, notebook: Path) -> dict:
    """Run ``notebook`` (in the workspace) once as a job on cpu-small; the ended run."""
    body = {
        "name": f"story-{notebook.stem}",
        "notebook": notebook.name,
        "profile": "cpu-small",
        "parameters": JOB_PARAMETERS.get(notebook.stem, {}),
    }
    r = platform.service("POST", "api/jobs", story.token, json=body)
    assert r.status_code == 201, r.text
    story.jobs[notebook.stem] = r.json()["id"]
    r = platform.service("POST", f"api/jobs/{r.json()['id']}/runs", story.token, json={})
    assert r.status_code == 201, r.text
    return wait_run(platform, story.token, r.json()["id"], f"{notebook.name} as a job")


def run_nbval(story, notebook: Path, timeout: float = 300) -> str:
    """Run the copy of ``notebook`` under ``pytest --nbval-lax`` on a platform kernel.

    Returns:
        ``""`` when it passed, else pytest's report.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q"]
        + [notebook.name],
        cwd=story.checks,
        env=story.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return "" if result.returncode == 0 else f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"


def test_the_story_is_numbered_and_has_parameters():
    import nbformat

    names = [n.name for n in STORY]
    assert names == [
        "01_features.ipynb",
        "02_train.ipynb",
        "03_explain.ipynb",
        "05_batch_scoring.ipynb",
        "06_drift.ipynb",
        "07_dask.ipynb",
    ], names
    for path in STORY:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "nbplatform-cpu", path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", STORY, ids=[n.stem for n in STORY])
def test_each_notebook_runs_as_a_job(platform, story, notebook):
    """In order; once a job ran, the notebook's nbval run starts beside the next job."""
    run_job(platform, story, notebook)
    story.nbval[notebook.stem] = story.pool.submit(run_nbval, story, notebook)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", STORY, ids=[n.stem for n in STORY])
def test_each_notebook_passes_nbval_on_a_platform_kernel(story, notebook):
    future = story.nbval.get(notebook.stem)
    assert future is not None, f"{notebook.name} did not run as a job first"
    failure = future.result(timeout=580)
    assert not failure, f"{notebook.name} under nbval:\n{failure}"


def test_what_the_story_left_on_the_platform(platform, story):
    token = story.token
    views = platform.service("GET", "api/features/views/story_driver_hourly_stats", token).json()
    assert views["freshness"]["status"] != "never", views
    assert views["stats"]["row_count"] > 0
    scores = story.workspace / "predictions" / "story_scores.parquet"
    assert scores.is_file()
    monitor = platform.service("GET", "api/drift/monitors/story-order-success", token).json()
    assert monitor["status"] == "drift", monitor
    assert monitor["retrain_job_id"] == story.jobs["02_train"]


@pytest.mark.timeout(600)
def test_the_drift_alert_retrained_the_model(platform, story):
    """06 under nbval (``retrain=True``) ran the training job with the drift check's id."""
    job = story.jobs["02_train"]
    runs = platform.service("GET", f"api/jobs/{job}/runs", story.token).json()["runs"]
    retrains = [r for r in runs if (r.get("parameters") or {}).get("drift_monitor")]
    assert retrains, runs
    for run in retrains:
        ended = wait_run(platform, story.token, run["id"], "the retraining run", timeout=540)
        assert ended["parameters"]["drift_check_id"] is not None
    found = platform.mlflow(
        "GET",
        "model-versions/search",
        token=story.token,
        params={"filter": "name = 'story-order-success'"},
    ).json()["model_versions"]
    assert len(found) >= 3, found  # 02 as a job, under nbval, and retrained
