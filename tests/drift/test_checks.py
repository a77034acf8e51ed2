"""Recording checks: status, ranking by importance, job origins, large reports, hostile bodies."""

from __future__ import annotations

import json

import pytest
from drift_support import ADMIN, DATA_SCIENTIST, VIEWER, check_body, column
from jobs_helpers import add_job, add_run


@pytest.fixture(scope="module")
def people(service):
    return {
        "dora": service.token("dora", DATA_SCIENTIST),
        "dave": service.token("dave", DATA_SCIENTIST),
        "vera": service.token("vera", VIEWER),
        "admin": service.token("admin", ADMIN),
    }


@pytest.fixture(scope="module")
def monitor(service, people):
    body = {"name": "checked", "model": "models:/churn/2"}
    assert service.call("POST", "api/drift/monitors", people["dora"], json=body).status_code == 201
    return "api/drift/monitors/checked"


def test_a_check_sets_the_status_and_ranks_columns_by_importance(service, people, monitor):
    body = check_body(
        column("income", True, 3.0),
        column("zip", True, 9.0),
        column("age", False, 0.2),
        importance={"income": 0.8, "zip": 0.001, "age": 0.199},
        model_version="churn/2",
        window_start="2026-12-01T00:00:00+00:00",
        window_end="2026-12-02T00:00:00Z",
    )
    r = service.call("POST", f"{monitor}/checks", people["dora"], json=body)
    assert r.status_code == 201, r.text
    check = r.json()
    assert check["status"] == "drift" and check["n_drifted"] == 2 and check["n_columns"] == 3
    assert [c["column"] for c in check["columns"]] == ["income", "age", "zip"]
    top = check["columns"][0]
    assert top["importance"] == pytest.approx(0.8) and top["weighted"] == pytest.approx(2.4)
    assert check["window_start"] == "2026-12-01T00:00:00+00:00"
    assert check["job_id"] is None and check["has_report"] is False
    assert check["model_version"] == "churn/2"
    fetched = service.call("GET", f"api/drift/checks/{check['id']}", people["vera"]).json()
    assert fetched == check
    described = service.call("GET", monitor, people["vera"]).json()
    assert described["status"] == "drift" and described["latest_check"]["id"] == check["id"]
    assert described["history"][-1] == {
        "check_id": check["id"],
        "created_at": check["created_at"],
        "drift_share": pytest.approx(2 / 3),
        "status": "drift",
    }


def test_without_importance_the_score_ranks(service, people, monitor):
    body = check_body(column("a", False, 0.5), column("b", True, 1.5), dataset_drift=False)
    check = service.call("POST", f"{monitor}/checks", people["dora"], json=body).json()
    assert check["status"] == "warning"
    assert [(c["column"], c["weighted"], c["importance"]) for c in check["columns"]] == [
        ("b", 1.5, None),
        ("a", 0.5, None),
    ]
    listed = service.call("GET", f"{monitor}/checks?max_results=1", people["vera"]).json()
    assert [c["id"] for c in listed["checks"]] == [check["id"]]  # newest first
    assert "columns" not in listed["checks"][0] and listed["next_page_token"] == "1"
    older = service.call("GET", f"{monitor}/checks?page_token=1", people["vera"]).json()
    assert older["checks"] and older["checks"][0]["id"] < check["id"]


def test_only_the_owner_or_an_admin_records_checks(service, people, monitor):
    body = check_body(column("a", False, 0.1))
    for who in ("dave", "vera"):
        assert service.call("POST", f"{monitor}/checks", people[who], json=body).status_code == 403
    assert service.call("POST", f"{monitor}/checks", people["admin"], json=body).status_code == 201
    r = service.call("POST", "api/drift/monitors/none/checks", people["dora"], json=body)
    assert r.status_code == 404


def test_a_check_a_job_run_records_names_the_job_and_run(service, people, monitor):
    job = add_job(service.engine, owner="dora", name="drift-check")
    run = add_run(service.engine, job, token_id="run-token-id")
    token = service.token("dora", DATA_SCIENTIST, token_id="run-token-id")
    r = service.call("POST", f"{monitor}/checks", token, json=check_body(column("a", False, 0.1)))
    assert r.status_code == 201, r.text
    assert r.json()["job_id"] == job["id"] and r.json()["job_run_id"] == run["id"]


def test_a_report_larger_than_a_json_body_is_kept_as_a_file(service, people, monitor):
    html = "<html><script>var x = 1;</script>" + "<p>evidently</p>" * 200_000 + "</html>"
    assert len(html) > 2 << 20
    body = check_body(column("a", True, 2.0), report_html=html)
    r = service.call("POST", f"{monitor}/checks", people["dora"], json=body)
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]
    assert r.json()["has_report"] is True
    path = service.home / "drift" / "reports" / f"{check_id}.html"
    assert path.read_text() == html
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_report_over_the_limit_is_refused(service, people, monitor):
    settings = service.context.state["drift"].settings
    limit = settings.max_report_bytes
    try:
        object.__setattr__(settings, "max_report_bytes", 1000)
        body = check_body(column("a", True, 2.0), report_html="<" + "x" * 1000)
        r = service.call("POST", f"{monitor}/checks", people["dora"], json=body)
        assert r.status_code == 400 and "NBP_DRIFT_MAX_REPORT_BYTES" in r.json()["message"]
        big = json.dumps(check_body(column("a", True, 2.0), report_html="<" + "y" * 5000))
        r = service.call(
            "POST",
            f"{monitor}/checks",
            people["dora"],
            data=big,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400 and "larger than" in r.json()["message"]
    finally:
        object.__setattr__(settings, "max_report_bytes", limit)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"columns": []}, "columns"),
        ({"columns": [column("a", True, 1.0), column("a", False, 0.1)]}, "twice"),
        ({"columns": [{**column("a", True, 1.0), "method": "magic"}]}, "method"),
        ({"columns": [{**column("a", True, 1.0), "score": -1}]}, "score"),
        ({"columns": [{**column("a", True, 1.0), "statistic": "inf"}]}, "statistic"),
        ({"drift_share": 1.5}, "drift_share"),
        ({"current_rows": -1}, "current_rows"),
        ({"importance": {"a": -0.5}}, "importance"),
        ({"window_start": "2026-12-02T00:00:00Z", "window_end": "2026-12-01T00:00:00Z"}, "before"),
        ({"extra": 1}, "extra"),
        ({"report_html": "plain text, no document"}, "HTML document"),
    ],
)
def test_hostile_checks_are_refused_with_400(service, people, monitor, change, says):
    body = {**check_body(column("a", True, 1.0)), **change}
    r = service.call("POST", f"{monitor}/checks", people["dora"], json=body)
    assert r.status_code == 400, r.text
    assert says in r.json()["message"], r.text


def test_a_check_body_that_is_not_json_is_refused(service, people, monitor):
    for data, kind in [(b"[1]", "application/json"), (b"{}", "text/plain"), (b"{", None)]:
        headers = {"Content-Type": kind} if kind else {}
        r = service.call("POST", f"{monitor}/checks", people["dora"], data=data, headers=headers)
        assert r.status_code == 400, (data, r.text)


def test_an_unknown_check_is_404(service, people):
    assert service.call("GET", "api/drift/checks/999999", people["vera"]).status_code == 404
    assert service.call("GET", "api/drift/checks/abc", people["vera"]).status_code == 404
