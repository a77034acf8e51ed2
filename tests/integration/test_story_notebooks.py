"""The story notebooks (``notebooks/NN_*.ipynb``) on a real platform: as the seeded demo's
jobs and under nbval.

The platform is one as shipped (``review_platform``: it seeds the demo and reviews
promotions). Its demo seeding (:mod:`nbplatform_hub.demo`) runs every notebook once, in
order, as a job of the user ``demo`` on ``cpu-small`` with small parameters; 04's request
gets its review notebook, run on a model with a recorded training frame and SHAP, and the
platform admin approves it by running 04 with ``promotion_id``. The tests here wait for
the seeding, check each notebook's job succeeded, then run each notebook under nbval
(``pytest --nbval-lax``, the parameters cell's defaults) in a subprocess whose kernel is a
platform kernel of ``demo``'s (``NBP_PLATFORM_URL`` and ``NBP_TOKEN``; the kernel preload
points MLflow at the gateway), in order. Under nbval, 06 retrains the model from its drift
alert (the seeding's job does not); the last test waits for that retraining run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from replay_support import FINAL

from nbplatform_hub import demo

pytestmark = pytest.mark.integration

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STORY = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
USER = demo.DEMO_USER
MODEL = demo.MODEL
ADMIN = "admin"  # the platform's first admin (NBP_ADMIN_USERS), whose token is admin_token
#: Seconds the seeding may take (the whole story, one job after the other).
SEEDING = 1200


def busy() -> str:
    """What the machine is busy with (by CPU time), for a failure's message."""
    ps = ["ps", "-eo", "pid,stat,etime,time,args", "--sort=-time"]
    return subprocess.run(ps, capture_output=True, text=True).stdout[:3000]


def run_log(platform, token: str, run_id: str) -> str:
    return platform.service("GET", f"api/runs/{run_id}/log", token).text[-4000:]


@pytest.fixture(scope="module")
def platform(review_platform):
    """The story runs on a platform as shipped: it seeds the demo and reviews promotions."""
    return review_platform


@pytest.fixture(scope="module")
def seeded(platform) -> dict:
    """The demo seeding's outcome (``NBP_HOME/demo/seeded.json``), once it is written."""
    marker = platform.home / "demo" / "seeded.json"
    deadline = time.monotonic() + SEEDING
    while not marker.is_file():
        if time.monotonic() > deadline:
            pytest.fail(f"the demo was not seeded in {SEEDING} s\n{busy()}")
        time.sleep(1)
    outcome = json.loads(marker.read_text())
    if outcome["state"] != "seeded":
        pytest.fail(f"the demo seeding failed: {json.dumps(outcome, indent=2)}")
    return outcome


@pytest.fixture(scope="module")
def story(platform, seeded, tmp_path_factory):
    token = platform.create_user(USER, "data-scientist")  # demo exists: a token of theirs
    checks = tmp_path_factory.mktemp("story-nbval")
    (checks / "pytest.ini").write_text("[pytest]\n")  # none of the repository's settings
    (checks / "home").mkdir()
    for notebook in STORY:
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
    return SimpleNamespace(
        token=token,
        workspace=platform.home / "users" / USER,
        checks=checks,
        env=env,
        jobs=seeded["jobs"],
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
        now = busy() if run["status"] not in FINAL else ""
        pytest.fail(
            f"{what}: {run['status']}: {run.get('error')}, progress {run.get('progress')}\n"
            f"{run_log(platform, token, run_id)}\n{now}"
        )
    return run


def run_nbval(story, notebook: Path, timeout: float = 540) -> str:
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
        "04_promote.ipynb",
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


def test_the_seeding_runs_the_story_in_order():
    assert [f"{stem}.ipynb" for stem, _ in demo.STORY] == [n.name for n in STORY]


@pytest.mark.timeout(SEEDING + 60)
@pytest.mark.parametrize("notebook", STORY, ids=[n.stem for n in STORY])
def test_each_notebook_ran_as_a_job_of_the_demo(platform, story, notebook):
    job = story.jobs[notebook.stem]
    found = platform.service("GET", f"api/jobs/{job}", story.token).json()
    assert (found["owner"], found["notebook"], found["shared"]) == (USER, notebook.name, True)
    runs = platform.service("GET", f"api/jobs/{job}/runs", story.token).json()["runs"]
    ran = [r for r in runs if r.get("trigger") != "test"]
    assert any(r["status"] == "succeeded" for r in ran), runs
    assert (story.workspace / notebook.name).is_file()


@pytest.mark.timeout(SEEDING + 60)
def test_the_admin_approved_the_reviewed_promotion(platform, story):
    """04's request: its review read the training frame and SHAP; the admin's 04 approved it."""
    answer = platform.service(
        "GET", "api/promotions", story.token, params={"model": MODEL, "state": "approved"}
    ).json()["promotions"]
    (request,) = [p for p in answer if p["requested_by"] == USER]
    assert request["decided_by"] == ADMIN, request
    review = request["review"]
    assert review and review["error"] is None and review["run_id"], request
    reviewed = wait_run(platform, platform.admin_token, review["run_id"], "the review")
    assert reviewed["notebook"] == "nbplatform:review_promotion.ipynb"
    output = platform.service("GET", f"api/runs/{review['run_id']}/output", platform.admin_token)
    assert output.status_code == 200, output.text
    lines = [
        line
        for cell in output.json()["cells"]
        for out in cell.get("outputs", [])
        for line in "".join(out.get("text") or "").splitlines()
        if line.startswith("REVIEW ")
    ]
    verdict = json.loads(lines[-1].removeprefix("REVIEW "))
    assert verdict["shap"] and verdict["drift"] and "error" not in verdict["drift"], verdict
    approver = platform.service("GET", "api/jobs", platform.admin_token, params={"owner": ADMIN})
    (job,) = [j for j in approver.json()["jobs"] if j["name"] == "demo-approve-promotion"]
    assert job["parameters"] == {"promotion_id": request["id"]}


@pytest.mark.timeout(SEEDING + 60)
def test_what_the_seeding_left_on_the_platform(platform, story):
    token = story.token
    views = platform.service("GET", "api/features/views/story_driver_hourly_stats", token).json()
    assert views["freshness"]["status"] != "never", views
    assert views["stats"]["row_count"] > 0
    assert (story.workspace / "predictions" / "story_scores.parquet").is_file()
    found = platform.mlflow("GET", "registered-models/get", token, params={"name": MODEL})
    aliases = {a["alias"] for a in found.json()["registered_model"].get("aliases", [])}
    assert {"candidate", "champion"} <= aliases, aliases
    monitor = platform.service("GET", "api/drift/monitors/story-order-success", token).json()
    assert monitor["status"] == "drift", monitor
    assert monitor["retrain_job_id"] == story.jobs["02_train"]
    scoring = platform.service("GET", f"api/jobs/{story.jobs['05_batch_scoring']}", token).json()
    assert scoring["schedule"]["cron"] == demo.SCHEDULES["05_batch_scoring"], scoring
    deadline = time.monotonic() + 300  # the schedule's test gate
    while scoring["activation"] and scoring["activation"]["state"] == "testing":
        assert time.monotonic() < deadline, scoring
        time.sleep(1)
        scoring = platform.service("GET", f"api/jobs/{scoring['id']}", token).json()
    assert scoring["active"] is True, scoring


@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", STORY, ids=[n.stem for n in STORY])
def test_each_notebook_passes_nbval_on_a_platform_kernel(story, notebook):
    failure = run_nbval(story, notebook)
    assert not failure, f"{notebook.name} under nbval:\n{failure}"


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
