"""``api/drift/monitors``: define, list, describe, change and delete, with ownership."""

from __future__ import annotations

import pytest
from drift_support import ADMIN, DATA_SCIENTIST, VIEWER


@pytest.fixture(scope="module")
def people(service):
    return {
        "dora": service.token("dora", DATA_SCIENTIST),
        "dave": service.token("dave", DATA_SCIENTIST),
        "vera": service.token("vera", VIEWER),
        "admin": service.token("admin", ADMIN),
    }


def test_a_monitor_is_created_listed_described_and_its_secret_shown_once(service, people):
    body = {"name": "churn", "model": "models:/churn@champion", "webhooks": []}
    created = service.call("POST", "api/drift/monitors", people["dora"], json=body)
    assert created.status_code == 201, created.text
    monitor = created.json()
    assert len(monitor["webhook_secret"]) == 64
    assert monitor["owner"] == "dora" and monitor["status"] == "unknown"
    assert monitor["reference"] == {"kind": "training_frame"}
    assert monitor["current"] == {"kind": "pushed"} and monitor["latest_check"] is None
    again = service.call("POST", "api/drift/monitors", people["dave"], json=body)
    assert again.status_code == 409 and "churn" in again.json()["message"]
    described = service.call("GET", "api/drift/monitors/churn", people["vera"])
    assert described.status_code == 200
    assert "webhook_secret" not in described.json() and described.json()["history"] == []
    listed = service.call("GET", "api/drift/monitors", people["vera"]).json()
    assert "churn" in [m["name"] for m in listed["monitors"]]
    assert all("webhook_secret" not in m for m in listed["monitors"])
    mine = service.call("GET", "api/drift/monitors?mine=1", people["vera"]).json()
    assert "churn" not in [m["name"] for m in mine["monitors"]]
    assert service.call("GET", "api/drift/monitors/nope", people["vera"]).status_code == 404


def test_only_the_owner_or_a_drift_admin_changes_or_deletes(service, people):
    body = {"name": "owned", "feature_view": "customers"}
    assert service.call("POST", "api/drift/monitors", people["vera"], json=body).status_code == 403
    assert service.call("POST", "api/drift/monitors", people["dora"], json=body).status_code == 201
    for who in ("dave", "vera"):
        r = service.call("PATCH", "api/drift/monitors/owned", people[who], json={"drift_share": 1})
        assert r.status_code == 403, r.text
        assert (
            "only its owner (dora)" in r.json()["message"]
            or "lacks the scope" in r.json()["message"]
        )
        assert service.call("DELETE", "api/drift/monitors/owned", people[who]).status_code == 403
    r = service.call("PATCH", "api/drift/monitors/owned", people["dora"], json={"drift_share": 0.8})
    assert r.status_code == 200 and r.json()["drift_share"] == 0.8
    r = service.call(
        "PATCH", "api/drift/monitors/owned", people["admin"], json={"description": "by admin"}
    )
    assert r.status_code == 200 and r.json()["description"] == "by admin"
    assert r.json()["owner"] == "dora"
    assert service.call("DELETE", "api/drift/monitors/owned", people["admin"]).status_code == 204
    assert service.call("GET", "api/drift/monitors/owned", people["dora"]).status_code == 404


def test_a_change_is_checked_with_the_rest_of_the_monitor(service, people):
    body = {"name": "patched", "feature_view": "customers", "columns": ["a", "b"]}
    assert service.call("POST", "api/drift/monitors", people["dora"], json=body).status_code == 201
    path = "api/drift/monitors/patched"
    for patch, says in [
        ({"tests": {"c": {"method": "psi"}}}, "not among columns"),
        ({"model": "models:/m/3"}, "exactly one of model and feature_view"),
        ({"name": "renamed"}, "name"),
        ({"reference": {"kind": "training_frame"}}, "needs a model"),
    ]:
        r = service.call("PATCH", path, people["dora"], json=patch)
        assert r.status_code == 400 and says in r.json()["message"], (patch, r.text)
    r = service.call(
        "PATCH", path, people["dora"], json={"model": "models:/m/3", "feature_view": None}
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "models:/m/3"
    assert r.json()["reference"] == {"kind": "training_frame"}  # the default with a model


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "model": "not-a-uri"},
        {"name": "b", "model": "models:/m@champion", "feature_view": "v"},
        {"name": "c", "feature_view": "v", "reference": {"kind": "training_frame"}},
        {"name": "d", "feature_view": "v", "tests": {"x": {"method": "nonsense"}}},
        {"name": "e", "feature_view": "v", "webhooks": ["http://169.254.169.254/latest"]},
        {"name": "e2", "feature_view": "v", "webhooks": ["ftp://example.org/"]},
        {"name": "f", "feature_view": "v", "drift_share": 2},
        {"name": "g\u0000", "feature_view": "v"},
        {"name": "h", "feature_view": "v", "retrain_job_id": "../../etc"},
        {"name": "i", "feature_view": "v", "reference": {"kind": "parquet", "path": "rel.pq"}},
        {"name": "j", "feature_view": "v", "emails": ["not an address"]},
        {"name": "k", "feature_view": "v", "colour": "red"},
    ],
)
def test_hostile_definitions_are_refused_with_400(service, people, body):
    r = service.call("POST", "api/drift/monitors", people["dora"], json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"]
