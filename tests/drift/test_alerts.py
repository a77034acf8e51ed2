"""``api/drift/alerts``: open alerts of the monitors a person owns or watches."""

from __future__ import annotations

from drift_support import DATA_SCIENTIST, VIEWER, check_body, column


def test_alerts_follow_status_ownership_watching_and_acknowledgement(service):
    dora, vera = service.token("dora", DATA_SCIENTIST), service.token("vera", VIEWER)
    body = {"name": "alerting", "model": "models:/m@champion"}
    assert service.call("POST", "api/drift/monitors", dora, json=body).status_code == 201
    path = "api/drift/monitors/alerting"
    assert service.call("GET", "api/drift/alerts", dora).json() == {"alerts": []}
    ok = check_body(column("a", False, 0.1))
    assert service.call("POST", f"{path}/checks", dora, json=ok).status_code == 201
    assert service.call("GET", "api/drift/alerts", dora).json() == {"alerts": []}
    drift = check_body(
        column("a", True, 2.0),
        column("b", True, 5.0),
        column("c", True, 1.1),
        column("d", True, 1.2),
        column("e", False, 0.3),
        importance={"a": 5, "b": 1, "c": 1, "d": 0, "e": 10},
    )
    check = service.call("POST", f"{path}/checks", dora, json=drift).json()
    [alert] = service.call("GET", "api/drift/alerts", dora).json()["alerts"]
    assert alert == {
        "monitor": "alerting",
        "status": "drift",
        "since": check["created_at"],
        "check_id": check["id"],
        "acknowledged": False,
        "muted": False,
        "top_columns": ["a", "b", "c"],  # drifted ones only, by weighted drift
        "model": "models:/m@champion",
    }
    assert service.call("GET", "api/drift/alerts", vera).json() == {"alerts": []}
    service.call("POST", f"{path}/watch", vera)
    service.call("POST", f"{path}/mute", dora, json={"minutes": 5})
    [seen] = service.call("GET", "api/drift/alerts", vera).json()["alerts"]
    assert seen["monitor"] == "alerting" and seen["muted"] is True
    service.call("POST", f"{path}/acknowledge", dora, json={})
    assert service.call("GET", "api/drift/alerts", vera).json() == {"alerts": []}
