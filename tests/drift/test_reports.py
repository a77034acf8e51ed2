"""A check's report is served sandboxed, with the contract's exact policy."""

from __future__ import annotations

from drift_support import DATA_SCIENTIST, VIEWER, check_body, column

from nbplatform_drift.report import REPORT_CSP

EXPECTED_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def test_the_policy_is_the_contracts_and_never_shares_the_platforms_origin():
    assert REPORT_CSP == EXPECTED_CSP
    assert "allow-same-origin" not in REPORT_CSP


def test_a_report_is_served_as_sandboxed_html_and_404_without_one(service):
    dora, vera = service.token("dora", DATA_SCIENTIST), service.token("vera", VIEWER)
    body = {"name": "reported", "feature_view": "v"}
    assert service.call("POST", "api/drift/monitors", dora, json=body).status_code == 201
    html = "<html><body><script>document.title='é'</script>evidently</body></html>"
    path = "api/drift/monitors/reported/checks"
    with_report = service.call(
        "POST", path, dora, json=check_body(column("a", True, 2.0), report_html=html)
    ).json()
    without = service.call("POST", path, dora, json=check_body(column("a", True, 2.0))).json()
    r = service.call("GET", f"api/drift/checks/{with_report['id']}/report", vera)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.content.decode() == html
    r = service.call("GET", f"api/drift/checks/{without['id']}/report", vera)
    assert r.status_code == 404 and "no report" in r.json()["message"]
    assert service.call("GET", "api/drift/checks/424242/report", vera).status_code == 404


def test_deleting_the_monitor_deletes_its_reports(service):
    dora = service.token("dora", DATA_SCIENTIST)
    body = {"name": "gone", "feature_view": "v"}
    assert service.call("POST", "api/drift/monitors", dora, json=body).status_code == 201
    check = service.call(
        "POST",
        "api/drift/monitors/gone/checks",
        dora,
        json=check_body(column("a", True, 2.0), report_html="<p>r</p>"),
    ).json()
    report = service.home / "drift" / "reports" / f"{check['id']}.html"
    assert report.exists()
    assert service.call("DELETE", "api/drift/monitors/gone", dora).status_code == 204
    assert not report.exists()
    assert service.call("GET", f"api/drift/checks/{check['id']}", dora).status_code == 404
