"""Where retraining asks the jobs API, with which parameters, and how refusals pass on."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from nbplatform.errors import NbplatformError
from nbplatform_drift.retrain import refusal, run_parameters, runs_url
from nbplatform_hub.host import service_url
from nbplatform_hub.service.errors import status_for


def test_the_service_is_asked_on_its_own_loopback_address():
    def settings(host: str) -> SimpleNamespace:
        return SimpleNamespace(host=host, port=8090, prefix="/services/platform/")

    assert service_url(settings("127.0.0.1"), "") == "http://127.0.0.1:8090/services/platform/"
    assert service_url(settings("0.0.0.0"), "") == "http://127.0.0.1:8090/services/platform/"
    assert service_url(settings("::"), "") == "http://[::1]:8090/services/platform/"
    assert service_url(None, "http://127.0.0.1:1/p") == "http://127.0.0.1:1/p/"
    assert (
        runs_url("http://s/p/", "0123456789abcdef") == "http://s/p/api/jobs/0123456789abcdef/runs"
    )


def test_the_parameters_name_the_monitor_check_and_window():
    check = {"id": 7, "window_start": datetime(2026, 12, 1), "window_end": None}
    assert run_parameters({"name": "churn"}, check) == {
        "drift_monitor": "churn",
        "drift_check_id": 7,
        "drift_window_start": "2026-12-01T00:00:00+00:00",
        "drift_window_end": None,
    }
    assert run_parameters({"name": "churn"}, None)["drift_check_id"] is None


def test_a_refusal_keeps_its_4xx_and_anything_else_is_502():
    error = refusal(403, b'{"message": "only its owner", "error_code": "PERMISSION_DENIED"}')
    assert status_for(error, 500) == 403 and "only its owner" in error.message
    assert error.error_code == "PERMISSION_DENIED"
    assert status_for(refusal(404, b"not json"), 500) == 404
    failed = refusal(500, b'{"message": "boom"}')
    assert type(failed) is NbplatformError and status_for(failed, 500) == 502
