"""``nbplatform features ...``: arguments, output, and the scheduled materialization notebook."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from nbplatform import features as api
from nbplatform import jobs
from nbplatform.cli import main
from nbplatform.cli.features import template_notebook, workspace
from nbplatform.errors import InvalidParameterError

VIEW = {
    "name": "driver_stats",
    "entities": [{"name": "driver", "join_keys": ["driver_id"], "value_type": "INT64"}],
    "features": [{"name": "conv_rate", "dtype": "Float32"}],
    "ttl_seconds": 86400,
    "source": {"name": "stats", "type": "file", "path": "/d/s.parquet", "timestamp_field": "ts"},
    "materialization": {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
    "freshness": {"status": "stale", "age_seconds": 7260.0, "checked_at": "x"},
}


def cli(*args: str) -> Any:
    return CliRunner().invoke(
        main, ["features", "--url", "http://h/services/platform/", "--token", "t", *args]
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple, dict]]:
    """Replace the library's calls with recorders answering like the platform."""
    seen: list[tuple[str, tuple, dict]] = []
    answers = {
        "apply": {
            "created": [{"kind": "feature_view", "name": "driver_stats"}],
            "updated": [],
            "unchanged": [{"kind": "entity", "name": "driver"}],
            "dry_run": True,
        },
        "list_feature_views": [VIEW],
        "describe": {**VIEW, "stats": {"row_count": 3, "columns": []}},
        "materialize": {"id": "m1", "status": "succeeded", "views": ["driver_stats"]},
        "materialize_incremental": {"id": "m2", "status": "succeeded", "views": []},
    }
    for name, answer in answers.items():

        def record(*args: Any, _name: str = name, _answer: Any = answer, **kwargs: Any) -> Any:
            kwargs.pop("client")
            seen.append((_name, args, kwargs))
            return _answer

        monkeypatch.setattr(api, name, record)

    def schedule(*args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("client")
        seen.append(("schedule", args, kwargs))
        return {"id": "j1", "name": kwargs["name"], "next_run_at": "soon"}

    monkeypatch.setattr(jobs, "schedule", schedule)
    return seen


def test_features_is_a_command_with_help():
    listing = CliRunner().invoke(main, ["--help"])
    assert "features" in listing.output
    result = CliRunner().invoke(main, ["features", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("apply", "list", "describe", "materialize", "schedule-materialization"):
        assert command in result.output
        assert CliRunner().invoke(main, ["features", command, "--help"]).exit_code == 0


def test_apply_prints_what_changed(calls, tmp_path):
    result = cli("apply", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert calls == [("apply", (tmp_path, True), {})]
    lines = result.output.splitlines()
    assert lines[1].split() == ["created", "feature_view", "driver_stats"]
    assert lines[-1] == "1 created, 0 updated, 1 unchanged (dry run: nothing was written)"


def test_apply_failing_is_its_message_and_exit_2(monkeypatch, tmp_path):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise InvalidParameterError("views.py: SyntaxError: invalid syntax (line 3)")

    monkeypatch.setattr(api, "apply", refuse)
    result = cli("apply", str(tmp_path))
    assert result.exit_code == 2
    assert result.output == "nbplatform: views.py: SyntaxError: invalid syntax (line 3)\n"
    assert cli("apply", str(tmp_path / "missing")).exit_code == 2


def test_list_shows_freshness(calls):
    result = cli("list")
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split() == [
        "NAME",
        "ENTITIES",
        "FEATURES",
        "TTL",
        "FRESHNESS",
        "AGE",
        "MATERIALIZED_TO",
    ]
    assert row.split() == [
        "driver_stats",
        "driver",
        "1",
        "1d0h",
        "stale",
        "2h1m",
        VIEW["materialization"]["end"],
    ]
    assert json.loads(cli("list", "--json").output) == [VIEW]


def test_describe_shows_the_schema(calls):
    result = cli("describe", "driver_stats")
    assert result.exit_code == 0, result.output
    assert calls == [("describe", ("driver_stats",), {})]
    assert "conv_rate" in result.output and "rows:" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --start (and --end), or --incremental"),
        (["--incremental", "--start", "2026-01-01"], "not both"),
    ],
)
def test_materialize_needs_an_interval_or_incremental(calls, args, message):
    result = cli("materialize", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert calls == []


def test_materialize_calls(calls):
    assert cli("materialize", "--start", "2026-01-01", "--view", "driver_stats").exit_code == 0
    assert cli("materialize", "--incremental", "--end", "2026-02-01").exit_code == 0
    assert calls == [
        ("materialize", ("2026-01-01", None, ["driver_stats"]), {}),
        ("materialize_incremental", ("2026-02-01", None), {}),
    ]


def test_schedule_materialization_puts_the_notebook_in_the_workspace(calls, monkeypatch, tmp_path):
    monkeypatch.delenv("NBP_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = cli("schedule-materialization", "--cron", "0 * * * *", "--view", "a", "--view", "b")
    assert result.exit_code == 0, result.output
    notebook = tmp_path / "features" / "materialize_features.ipynb"
    assert notebook.read_bytes() == template_notebook().read_bytes()
    assert calls == [
        (
            "schedule",
            ("features/materialize_features.ipynb",),
            {
                "name": "materialize-features",
                "cron": "0 * * * *",
                "timezone": "UTC",
                "parameters": {"views": ["a", "b"], "incremental": True},
                "profile": None,
            },
        )
    ]
    notebook.write_text("{}")  # the user's own version is kept
    assert cli("schedule-materialization", "--cron", "0 * * * *").exit_code == 0
    assert notebook.read_text() == "{}"
    assert calls[-1][2]["parameters"] == {"views": None, "incremental": True}


def test_schedule_materialization_refuses_a_notebook_outside_the_workspace(
    calls, monkeypatch, tmp_path
):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = cli("schedule-materialization", "--cron", "0 * * * *", "--notebook", "/etc/x.ipynb")
    assert result.exit_code == 2
    assert "is not inside your workspace" in result.output
    assert cli("schedule-materialization", "--notebook", "x.ipynb").exit_code == 2  # no --cron
    assert calls == []


def test_the_workspace_is_the_users_folder_of_nbp_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBP_HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    assert workspace() == tmp_path / "home"
    (tmp_path / "users" / "alice").mkdir(parents=True)
    assert workspace() == tmp_path / "users" / "alice"
