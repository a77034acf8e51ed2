"""Replay a model version on a real platform: its job run again, the metrics compared.

A job notebook trains a small deterministic scikit-learn model (fixed seed) and
registers a version; ``nbp.registry.replay_model_version`` re-runs the job run
that made it (through ``POST api/models/<name>/versions/<v>/replay``) and the
comparison says every metric was reproduced. Another data scientist may not
replay it. Users here are called ``rep-*``.
"""

from __future__ import annotations

import pytest
from replay_support import MODEL, wait_run, write_train_notebook

from nbplatform import registry
from nbplatform.client import PlatformClient
from nbplatform.errors import PermissionDeniedError

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_a_version_made_by_a_job_replays_and_reproduces_its_metrics(platform):
    ada = platform.create_user("rep-ada", "data-scientist")
    bob = platform.create_user("rep-bob", "data-scientist")
    notebook = write_train_notebook(platform, "rep-ada")
    body = {"name": "rep-train", "notebook": notebook, "profile": "cpu-small"}
    r = platform.service("POST", "api/jobs", ada, json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    r = platform.service("POST", f"api/jobs/{job['id']}/runs", ada, json={})
    assert r.status_code == 201, r.text
    first = wait_run(platform, ada, r.json()["id"])
    assert first["status"] == "succeeded", first
    made = platform.mlflow("GET", f"model-versions/get?name={MODEL}&version=1", ada)
    tags = {t["key"]: t["value"] for t in made.json()["model_version"]["tags"]}
    assert tags["nbp.job_run_id"] == first["id"]

    # Bob is a data scientist too, but not the job's owner: no replay, nothing queued.
    refused = platform.service("POST", f"api/models/{MODEL}/versions/1/replay", bob)
    assert refused.status_code == 403, refused.text
    assert "Only rep-ada or a platform admin" in refused.json()["message"]
    url = f"{platform.url}/services/platform/"
    with pytest.raises(PermissionDeniedError):
        registry.replay_model_version(MODEL, 1, client=PlatformClient(url, bob))

    result = registry.replay_model_version(
        MODEL, 1, timeout=120, progress=False, client=PlatformClient(url, ada)
    )
    assert result["status"] == "succeeded", result
    assert result["run"]["source_run_id"] == first["id"]
    assert result["run"]["trigger"] == "rerun" and result["run"]["requested_by"] == "rep-ada"
    assert result["original"]["job_run_id"] == first["id"]
    assert result["original"]["profile"] == "cpu-small"
    assert result["reproduced"] is True, result
    assert [m["key"] for m in result["metrics"]] == ["accuracy", "log_loss"]
    for metric in result["metrics"]:
        assert metric["reproduced"] is True and metric["abs_diff"] == 0.0, metric
    assert result["new_version"] == "2" and result["mlflow_run_id"]
    assert result["mlflow_run_id"] != result["original"]["mlflow_run_id"]

    entries = platform.service(
        "GET", "api/audit", platform.admin_token, params={"action": "model:replay"}
    ).json()
    seen = {(e["user"], e["result"]) for e in entries["entries"] if e.get("model") == MODEL}
    assert {("rep-ada", "allowed"), ("rep-bob", "refused")} <= seen
