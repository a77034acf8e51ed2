"""Lineage you can trust: runs and versions name their notebook, commit, job run and people.

From a kernel and from a job; with ``nbp.registry``, stock ``mlflow.<flavor>.log_model``
and ``MlflowClient.create_model_version``; forged reserved tags refused; four eyes on
promotions; audit entries naming the model, version and alias.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest

from platform_harness import last_json_line

pytestmark = pytest.mark.integration

USER = "lin-ada"
NOTEBOOK = "flows/train.ipynb"
FINAL = ("succeeded", "failed", "timed-out", "cancelled")
TRAIN = """\
import mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
X = np.random.RandomState(0).rand(30, 2); y = (X[:, 0] > 0.5).astype(int)
mlflow.set_experiment("lin-job")
with mlflow.start_run():
    mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model",
                             registered_model_name=model_name)
"""


def train_notebook(extra: str = "") -> dict:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('model_name = "lin-job"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(TRAIN + extra)]
    nb.metadata["kernelspec"] = {
        "name": "nbplatform-cpu",
        "display_name": "CPU",
        "language": "python",
    }
    return json.loads(nbformat.writes(nb))


@pytest.fixture(scope="module")
def people(platform):
    return {
        "ada": platform.create_user(USER, "data-scientist"),
        "bob": platform.create_user("lin-bob", "data-scientist"),
        "grace": platform.create_user("lin-grace", "platform-admin"),
        "admin": platform.admin_token,
    }


def put_notebook(platform, token, content):
    r = platform.server(
        USER,
        "PUT",
        f"api/contents/{NOTEBOOK}",
        token,
        json={"type": "notebook", "content": content},
    )
    assert r.status_code in (200, 201), r.text


@pytest.fixture(scope="module")
def repo(platform, people):
    """A git repository in Ada's workspace, made as she would in a terminal of her server."""
    token = people["ada"]
    platform.spawn(USER, "cpu-small")
    r = platform.server(USER, "PUT", "api/contents/flows", token, json={"type": "directory"})
    assert r.status_code in (200, 201), r.text
    put_notebook(platform, token, train_notebook())
    code = """
import json, subprocess
git = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org"]
subprocess.run(git + ["init", "-q"], check=True)
subprocess.run(git + ["add", "flows/train.ipynb"], check=True)
subprocess.run(git + ["commit", "-qm", "train"], check=True)
head = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
print(json.dumps({"commit": head}))
"""
    out = platform.execute(USER, code, token, timeout=120)
    assert out["status"] == "ok", out
    return last_json_line(out["stdout"])["commit"]


def version_tags(platform, token, name, version="1"):
    r = platform.mlflow("GET", f"model-versions/get?name={name}&version={version}", token)
    assert r.status_code == 200, r.text
    return {t["key"]: t["value"] for t in r.json()["model_version"].get("tags", [])}


def run_tags(platform, token, run_id):
    r = platform.mlflow("GET", f"runs/get?run_id={run_id}", token)
    assert r.status_code == 200, r.text
    return {t["key"]: t["value"] for t in r.json()["run"]["data"].get("tags", [])}


def audit(platform, **params):
    r = platform.service("GET", "api/audit", platform.admin_token, params=params)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


@pytest.mark.timeout(600)
def test_versions_from_a_kernel_name_notebook_commit_and_people_whatever_the_client(
    platform, people, repo
):
    token = people["ada"]
    code = """
import json, mlflow, numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
X = np.random.RandomState(0).rand(30, 2); y = (X[:, 0] > 0.5).astype(int)
mlflow.set_experiment("lin-kernel")
with mlflow.start_run() as run:
    mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model",
                             registered_model_name="lin-stock")
    nbp.registry.log_model(LogisticRegression().fit(X, y), "lin-nbp", X_example=X[:3])
client = MlflowClient()
client.create_registered_model("lin-client")
logged = mlflow.last_logged_model()
# no run_id: the platform finds the run through the logged model
client.create_model_version("lin-client", f"models:/{logged.model_id}", model_id=logged.model_id)
print(json.dumps({"run": run.info.run_id}))
"""
    out = platform.execute(USER, code, token, notebook=NOTEBOOK, timeout=240)
    assert out["status"] == "ok", out
    run_id = last_json_line(out["stdout"])["run"]
    tags = run_tags(platform, token, run_id)
    assert tags["nbp.notebook"] == NOTEBOOK == tags["mlflow.source.name"]
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.git.commit"] == repo and tags["nbp.git_dirty"] == "false"
    assert tags["mlflow.user"] == tags["nbp.user"] == USER
    for model in ("lin-stock", "lin-nbp", "lin-client"):
        version = version_tags(platform, token, model)
        assert version["nbp.notebook"] == NOTEBOOK, (model, version)
        assert version["mlflow.source.git.commit"] == repo, model
        assert version["nbp.git_dirty"] == "false", model
        assert version["nbp.user"] == version["nbp.registered_by"] == USER, model
        assert "nbp.job_id" not in version
    # Bob registers a version of Ada's run in a model of his own: the lineage stays
    # Ada's, and says Bob registered it.
    bob = people["bob"]
    assert platform.mlflow("POST", "registered-models/create", bob, json={"name": "lin-bobs"}).ok
    r = platform.mlflow(
        "POST",
        "model-versions/create",
        bob,
        json={"name": "lin-bobs", "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    assert r.status_code == 200, r.text
    version = version_tags(platform, bob, "lin-bobs")
    assert version["nbp.user"] == USER and version["nbp.registered_by"] == "lin-bob"
    entry = audit(platform, model="lin-bobs", action="mlflow:model-versions/create")[0]
    assert (entry["user"], entry["version"], entry["result"]) == ("lin-bob", "1", "allowed")


def wait_run(platform, token, run_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in FINAL:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} is still {run['status']}")


def mlflow_run_of(platform, token, model, version):
    r = platform.mlflow("GET", f"model-versions/get?name={model}&version={version}", token)
    return r.json()["model_version"]["run_id"]


@pytest.mark.timeout(900)
def test_a_jobs_runs_and_versions_carry_the_job_run_notebook_and_commit(platform, people, repo):
    token = people["ada"]
    r = platform.service(
        "POST",
        "api/jobs",
        token,
        json={"name": "lin-train", "notebook": NOTEBOOK, "profile": "cpu-small"},
    )
    assert r.status_code == 201, r.text
    job = r.json()

    def run_job():
        r = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json={})
        assert r.status_code == 201, r.text
        run = wait_run(platform, token, r.json()["id"])
        assert run["status"] == "succeeded", run
        return run

    run = run_job()
    assert (run["notebook"], run["git_commit"], run["git_dirty"]) == (NOTEBOOK, repo, False)
    version = version_tags(platform, token, "lin-job")
    expected = {
        "nbp.notebook": NOTEBOOK,
        "mlflow.source.git.commit": repo,
        "nbp.git_dirty": "false",
        "nbp.job_id": job["id"],
        "nbp.job_run_id": run["id"],
        "nbp.user": USER,
        "nbp.registered_by": USER,
        "nbp.profile": "cpu-small",
        "mlflow.source.type": "JOB",
    }
    assert {k: version.get(k) for k in expected} == expected
    tags = run_tags(platform, token, mlflow_run_of(platform, token, "lin-job", "1"))
    assert tags["mlflow.source.name"] == NOTEBOOK and tags["mlflow.source.type"] == "JOB"
    assert tags["nbp.job_run_id"] == run["id"] and tags["mlflow.user"] == USER

    # An uncommitted change: the next run says so; a re-run repeats the first one's lineage.
    put_notebook(platform, token, train_notebook("\nprint('changed')"))
    changed = run_job()
    assert (changed["git_commit"], changed["git_dirty"]) == (repo, True)
    assert version_tags(platform, token, "lin-job", "2")["nbp.git_dirty"] == "true"
    r = platform.service("POST", f"api/runs/{run['id']}/rerun", token)
    assert r.status_code == 201, r.text
    again = wait_run(platform, token, r.json()["id"])
    assert again["status"] == "succeeded" and again["git_dirty"] is False
    third = version_tags(platform, token, "lin-job", "3")
    assert third["nbp.job_run_id"] == again["id"] and third["nbp.git_dirty"] == "false"
    put_notebook(platform, token, train_notebook())


@pytest.mark.parametrize(
    "tags,status,needle",
    [
        ({"nbp.user": "lin-bob"}, 403, "nbp.user"),
        ({"nbp.job_id": "0123456789abcdef"}, 403, "only a job's run"),
        ({"nbp.job_run_id": "0123456789abcdef"}, 403, "only a job's run"),
        ({"nbp.registered_by": "lin-bob"}, 403, "reserved"),
        ({"nbp.notebook": "../lin-bob/secret.ipynb"}, 400, "inside your workspace"),
    ],
)
def test_forged_lineage_on_a_new_run_is_refused(platform, people, tags, status, needle):
    body = {"experiment_id": "0", "tags": [{"key": k, "value": v} for k, v in tags.items()]}
    r = platform.mlflow("POST", "runs/create", people["ada"], json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["message"]


def test_lineage_is_written_once_and_only_by_the_platform(platform, people):
    ada = people["ada"]
    claimed = [
        {"key": "mlflow.user", "value": "lin-bob"},  # MLflow's guess: replaced
        {"key": "nbp.notebook", "value": "lin-bob/secret.ipynb"},
        {"key": "mlflow.source.name", "value": "lin-bob/secret.ipynb"},
        {"key": "mlflow.runName", "value": "mine"},
    ]
    r = platform.mlflow("POST", "runs/create", ada, json={"experiment_id": "0", "tags": claimed})
    assert r.status_code == 200, r.text
    run_id = r.json()["run"]["info"]["run_id"]
    tags = run_tags(platform, ada, run_id)
    # Not a notebook of Ada's workspace: the claim is dropped, the rest stays.
    assert "nbp.notebook" not in tags and "mlflow.source.name" not in tags
    assert tags["mlflow.runName"] == "mine" and tags["mlflow.user"] == USER
    for endpoint, body in (
        ("runs/set-tag", {"run_id": run_id, "key": "mlflow.source.name", "value": "x"}),
        ("runs/set-tag", {"run_id": run_id, "key": "nbp.notebook", "value": "x.ipynb"}),
        ("runs/delete-tag", {"run_id": run_id, "key": "mlflow.user"}),
        (
            "runs/log-batch",
            {"run_id": run_id, "tags": [{"key": "mlflow.source.git.commit", "value": "f" * 40}]},
        ),
    ):
        r = platform.mlflow("POST", endpoint, ada, json=body)
        assert r.status_code == 403, (endpoint, r.text)
        assert "reserved" in r.json()["message"]
    assert run_tags(platform, ada, run_id) == tags
    refused = audit(platform, user=USER, result="refused", action="mlflow:runs/")
    assert {"mlflow:runs/set-tag", "mlflow:runs/log-batch", "mlflow:runs/create"} <= {
        e["action"] for e in refused
    }


def test_four_eyes_on_promotions(platform, people, repo):
    grace, admin = people["grace"], people["admin"]
    r = platform.service(
        "POST", "api/promotions", grace, json={"model": "lin-stock", "version": "1"}
    )
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["rights"]["may_approve"] is False
    assert "another platform admin" in request["rights"]["reason"]
    assert request["rights"]["deciders"] == "platform admins other than lin-grace"
    own = platform.service("POST", f"api/promotions/{request['id']}/approve", grace, json={})
    assert own.status_code == 403, own.text
    assert "four eyes" in own.json()["message"]
    seen = platform.service("GET", f"api/promotions/{request['id']}", admin).json()
    assert seen["state"] == "pending" and seen["rights"]["may_approve"] is True
    listed = platform.service("GET", "api/promotions?model=lin-stock", people["ada"]).json()
    assert listed["promotions"][0]["rights"]["reason"].startswith("Only platform admins")
    ok = platform.service("POST", f"api/promotions/{request['id']}/approve", admin, json={})
    assert ok.status_code == 200, ok.text
    assert ok.json()["decided_by"] == "admin" and ok.json()["rights"]["may_approve"] is False
    entries = audit(platform, model="lin-stock", action="promotion:")
    summary = {(e["user"], e["action"], e["result"], e["version"], e["alias"]) for e in entries}
    assert {
        ("lin-grace", "promotion:request", "allowed", "1", "champion"),
        ("lin-grace", "promotion:approve", "refused", "1", "champion"),
        ("admin", "promotion:approve", "allowed", "1", "champion"),
    } <= summary
