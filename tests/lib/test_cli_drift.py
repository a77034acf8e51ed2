"""``nbplatform drift ...``: arguments, output, and errors (the library calls are recorded)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from nbplatform import drift as api
from nbplatform.cli import main
from nbplatform.errors import PermissionDeniedError

MONITORS = [
    {"name": "churn", "owner": "alice", "model": "models:/churn@champion", "status": "drift",
     "status_since": "2026-01-02T00:00:00Z"},
    {"name": "fraud", "owner": "bob", "feature_view": "txns", "status": "ok",
     "status_since": "2026-01-01T00:00:00Z"},
]  # fmt: skip
CHECK = {
    "id": 7,
    "status": "drift",
    "n_drifted": 1,
    "n_columns": 2,
    "columns": [
        {"column": "age", "method": "ks", "statistic": 0.001, "threshold": 0.05, "drifted": True,
         "weighted": 3.2},
        {"column": "plan", "method": "chisquare", "statistic": 0.4, "threshold": 0.05,
         "drifted": False, "weighted": 0.1},
    ],
}  # fmt: skip
JOB = {"id": "j1", "name": "drift-churn", "owner": "alice", "schedule": {"kind": "cron"},
       "active": True, "next_run_at": "soon"}  # fmt: skip


def cli(*args: str) -> Any:
    return CliRunner().invoke(
        main, ["drift", "--url", "http://h/services/platform/", "--token", "t", *args]
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple, dict]]:
    """Replace the library's calls with recorders answering like the platform."""
    seen: list[tuple[str, tuple, dict]] = []
    answers = {
        "list_monitors": MONITORS,
        "get_monitor": {**MONITORS[0], "latest_check": {"id": 7}},
        "get_check": CHECK,
        "check": SimpleNamespace(check=CHECK),
        "schedule": JOB,
        "acknowledge": {**MONITORS[0], "status": "acknowledged"},
        "mute": {**MONITORS[0], "muted_until": "2026-01-02T02:00:00Z"},
    }
    for name, answer in answers.items():

        def record(*args: Any, _name: str = name, _answer: Any = answer, **kwargs: Any) -> Any:
            assert kwargs.pop("client") is not None
            seen.append((_name, args, kwargs))
            return _answer

        monkeypatch.setattr(api, name, record)
    return seen


def test_drift_is_a_command_with_help():
    assert "drift" in CliRunner().invoke(main, ["--help"]).output
    result = CliRunner().invoke(main, ["drift", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("list", "show", "check", "schedule", "acknowledge", "mute"):
        assert command in result.output
        assert CliRunner().invoke(main, ["drift", command, "--help"]).exit_code == 0


def test_list_prints_names_and_statuses(calls):
    result = cli("list")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["NAME", "OWNER", "MODEL", "FEATURE_VIEW", "STATUS", "STATUS_SINCE"]
    assert rows[0].split() == ["churn", "alice", "models:/churn@champion", "drift",
                               "2026-01-02T00:00:00Z"]  # fmt: skip
    assert rows[1].split() == ["fraud", "bob", "txns", "ok", "2026-01-01T00:00:00Z"]
    assert calls == [("list_monitors", (False,), {})]
    assert cli("list", "--mine").exit_code == 0
    assert calls[-1] == ("list_monitors", (True,), {})
    assert json.loads(cli("list", "--json").output) == MONITORS


def test_show_prints_the_monitor_and_its_ranked_columns(calls):
    result = cli("show", "churn")
    assert result.exit_code == 0, result.output
    assert calls == [("get_monitor", ("churn",), {}), ("get_check", (7,), {})]
    lines = result.output.splitlines()
    assert lines[1].split()[0] == "churn" and "drift" in lines[1]
    assert lines[2] == ""
    assert lines[3].split() == ["COLUMN", "METHOD", "STATISTIC", "THRESHOLD", "DRIFTED", "WEIGHTED"]
    assert lines[4].split() == ["age", "ks", "0.001", "0.05", "True", "3.2"]
    assert lines[5].split() == ["plan", "chisquare", "0.4", "0.05", "False", "0.1"]
    shown = json.loads(cli("show", "churn", "--json").output)
    assert shown["latest_check"] == CHECK and shown["monitor"]["name"] == "churn"


def test_show_of_a_monitor_never_checked(calls, monkeypatch):
    monkeypatch.setattr(api, "get_monitor", lambda name, client: {**MONITORS[1]})
    result = cli("show", "fraud")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 2  # header and the monitor, no columns
    assert calls == []


def test_check_prints_its_status_line(calls):
    result = cli("check", "churn", "--sample", "1000")
    assert result.exit_code == 0, result.output
    assert calls == [("check", (), {"monitor": "churn", "sample": 1000, "report": True})]
    lines = result.output.splitlines()
    assert lines[0] == "churn: drift (1 of 2 columns drifted), check 7"
    assert lines[2].split()[:2] == ["age", "ks"]
    assert cli("check", "churn", "--no-report").exit_code == 0
    assert calls[-1] == ("check", (), {"monitor": "churn", "sample": None, "report": False})
    assert json.loads(cli("check", "churn", "--json").output) == CHECK


def test_schedule_calls_through(calls):
    result = cli("schedule", "churn", "--cron", "0 6 * * *", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    assert calls == [
        ("schedule", ("churn", "0 6 * * *"), {"timezone": "Europe/Paris", "profile": None})
    ]
    assert result.output.splitlines()[1].split()[:2] == ["j1", "drift-churn"]
    assert cli("schedule", "churn").exit_code == 2  # --cron is required
    assert len(calls) == 1


def test_acknowledge_and_mute(calls):
    result = cli("acknowledge", "churn", "--comment", "known: new market")
    assert result.exit_code == 0, result.output
    assert "acknowledged" in result.output
    result = cli("mute", "churn", "--minutes", "120")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[-1] == "MUTED_UNTIL"
    assert "2026-01-02T02:00:00Z" in result.output
    assert cli("mute", "churn").exit_code == 0
    assert calls == [
        ("acknowledge", ("churn", "known: new market"), {}),
        ("mute", ("churn", 120), {}),
        ("mute", ("churn", 60), {}),
    ]


def test_an_error_is_its_message_and_exit_2(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionDeniedError("only the owner of churn may mute it")

    monkeypatch.setattr(api, "mute", refuse)
    result = cli("mute", "churn")
    assert result.exit_code == 2
    assert result.output == "nbplatform: only the owner of churn may mute it\n"
