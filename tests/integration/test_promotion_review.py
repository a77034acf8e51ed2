"""A promotion request runs its review notebook as a job; the approver reads its output.

On a real platform that reviews promotions (``review_platform``; the session's
platforms do not): a data scientist registers two versions of a model (REST
only: two MLflow runs with metrics and parameters, a version from each), the
champion moves to version 1 (approved by an admin), then they ask for version 2.
The request names the review run (the packaged ``review_promotion.ipynb``, run
by their job ``promotion-review``); it succeeds, and its output, read by the
admin who decides, holds both versions' metrics and the ``REVIEW`` line. Another
data scientist may not read that output until it is shared. Users here are
called ``rev-*``.
"""

from __future__ import annotations

import json

import pytest
from replay_support import wait_run

pytestmark = pytest.mark.integration

MODEL = "rev-churn"
NOTEBOOK = "nbplatform:review_promotion.ipynb"


def version_with_metrics(platform, token: str, accuracy: float, c: float) -> str:
    """A run logging ``accuracy`` and ``C``, and a version of :data:`MODEL` from it."""
    run = platform.mlflow("POST", "runs/create", token, json={"experiment_id": "0"})
    assert run.status_code == 200, run.text
    info = run.json()["run"]["info"]
    metric = {"run_id": info["run_id"], "key": "accuracy", "value": accuracy, "timestamp": 0}
    assert platform.mlflow("POST", "runs/log-metric", token, json=metric).status_code == 200
    param = {"run_id": info["run_id"], "key": "C", "value": str(c)}
    assert platform.mlflow("POST", "runs/log-parameter", token, json=param).status_code == 200
    body = {"name": MODEL, "source": info["artifact_uri"] + "/model", "run_id": info["run_id"]}
    r = platform.mlflow("POST", "model-versions/create", token, json=body)
    assert r.status_code == 200, r.text
    return r.json()["model_version"]["version"]


def output_text(notebook: dict) -> str:
    """Every text output of an executed notebook, joined."""
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(texts)


def ended(platform, token: str, run_id: str) -> dict:
    run = wait_run(platform, token, run_id, timeout=600)
    if run["status"] != "succeeded":
        log = platform.service("GET", f"api/runs/{run_id}/log", token).json()
        raise AssertionError(f"review {run['status']}: {run['error']}\n{log.get('log', log)}")
    return run


@pytest.mark.timeout(900)
def test_a_promotion_request_runs_its_review_and_the_approver_reads_it(review_platform):
    platform = review_platform
    dana = platform.create_user("rev-dana", "data-scientist")
    eve = platform.create_user("rev-eve", "data-scientist")
    admin = platform.admin_token
    r = platform.mlflow("POST", "registered-models/create", dana, json={"name": MODEL})
    assert r.status_code == 200, r.text
    assert version_with_metrics(platform, dana, 0.8, 0.1) == "1"
    assert version_with_metrics(platform, dana, 0.9, 1.0) == "2"

    # Champion -> 1: its review (no champion yet) runs too.
    first = platform.service("POST", "api/promotions", dana, json={"model": MODEL, "version": "1"})
    assert first.status_code == 201, first.text
    assert first.json()["review"]["error"] is None, first.json()
    ok = platform.service("POST", f"api/promotions/{first.json()['id']}/approve", admin, json={})
    assert ok.status_code == 200, ok.text

    r = platform.service("POST", "api/promotions", dana, json={"model": MODEL, "version": "2"})
    assert r.status_code == 201, r.text
    request = r.json()
    review = request["review"]
    assert review["error"] is None and review["run_id"], request
    assert review["job_id"] == first.json()["review"]["job_id"]  # the same job, run again
    job = platform.service("GET", f"api/jobs/{review['job_id']}", dana).json()
    assert (job["name"], job["owner"]) == ("promotion-review", "rev-dana")
    assert (job["notebook"], job["profile"]) == (NOTEBOOK, "cpu-small")

    ended(platform, dana, first.json()["review"]["run_id"])
    run = ended(platform, dana, review["run_id"])
    assert run["requested_by"] == "rev-dana" and run["notebook"] == NOTEBOOK
    assert run["parameters"]["champion_version"] == "1"
    assert run["parameters"]["promotion_id"] == request["id"]

    # The approver reads the review before deciding.
    seen = platform.service("GET", f"api/promotions/{request['id']}", admin).json()
    assert seen["review"] == review and seen["rights"]["may_approve"] is True
    output = platform.service("GET", f"api/runs/{review['run_id']}/output", admin)
    assert output.status_code == 200, output.text
    text = output_text(output.json())
    assert "v2 (candidate)" in text and "v1 (champion)" in text
    assert "no explanation logged" in text and "recorded no training frame" in text
    (line,) = [x for x in text.splitlines() if x.startswith("REVIEW ")]
    verdict = json.loads(line.removeprefix("REVIEW "))
    assert (verdict["model"], verdict["version"], verdict["champion_version"]) == (MODEL, "2", "1")
    accuracy = verdict["metrics"]["accuracy"]
    assert (accuracy["candidate"], accuracy["champion"]) == (0.9, 0.8)
    assert accuracy["delta"] == pytest.approx(0.1)
    assert verdict["params_changed"] == ["C"] and verdict["drift"] is None

    # Private to the requester and the approvers, unless shared.
    refused = platform.service("GET", f"api/runs/{review['run_id']}/output", eve)
    assert refused.status_code == 403, refused.text
    shared = platform.service("PATCH", f"api/jobs/{review['job_id']}", dana, json={"shared": True})
    assert shared.status_code == 200, shared.text
    assert platform.service("GET", f"api/runs/{review['run_id']}/output", eve).status_code == 200

    entries = platform.service(
        "GET", "api/audit", admin, params={"action": "promotion:request", "user": "rev-dana"}
    ).json()["entries"]
    details = {e["detail"] for e in entries if e.get("model") == MODEL}
    assert f"review: job {review['job_id']}, run {review['run_id']}" in details
