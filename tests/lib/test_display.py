"""nbplatform.display: search_models, list_jobs, runs and me show as tables."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

import nbplatform as nbp
from nbplatform import display
from nbplatform.display import (
    JobList,
    Me,
    ModelList,
    RunList,
    format_duration,
    format_list,
    format_time,
    parse_time,
    shorten,
)

NOW = datetime(2026, 12, 3, 11, 15, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch):
    monkeypatch.setattr(display, "_now", lambda: NOW)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _model(name="churn", description="Churn classifier", aliases=None, versions=("3", "4")):
    entities = pytest.importorskip("mlflow.entities.model_registry")
    return entities.RegisteredModel(
        name,
        creation_timestamp=_ms(NOW - timedelta(days=20)),
        last_updated_timestamp=_ms(NOW - timedelta(hours=2)),
        description=description,
        latest_versions=[entities.ModelVersion(name, v, 0) for v in versions],
        aliases=[
            entities.RegisteredModelAlias(a, v)
            for a, v in (aliases if aliases is not None else {"champion": "3"}).items()
        ],
    )


def _job(n=0, **changes):
    job = {
        "id": f"job{n:013d}",
        "name": f"train-{n}",
        "owner": "alice",
        "notebook": "notebooks/train.ipynb",
        "schedule": {"kind": "cron", "cron": "0 3 * * *", "timezone": "Europe/Berlin"},
        "active": True,
        "next_run_at": "2026-12-04T02:00:00.000Z",
        "last_run": {"status": "failed", "ended_at": "2026-12-03T03:01:00.000Z"},
    }
    job.update(changes)
    return job


def _run(n=0, **changes):
    run = {
        "id": f"run{n:013d}",
        "job_id": "job0000000000000",
        "status": "succeeded",
        "attempt": 1,
        "trigger": "schedule",
        "created_at": "2026-12-03T09:14:59.000Z",
        "started_at": "2026-12-03T09:15:00.000Z",
        "ended_at": "2026-12-03T09:18:05.000Z",
        "duration_seconds": 185.0,
        "error": None,
        "failed_cell": None,
        "progress": None,
    }
    run.update(changes)
    return run


ME = {
    "name": "erin",
    "kind": "user",
    "admin": False,
    "groups": ["data-scientist"],
    "roles": ["data-scientist"],
    "scopes": [f"custom:nbplatform:area{i}:read" for i in range(9)],
    "can": {"models_read": True, "models_approve": False, "jobs_write": True},
    "granted_by": {"models_read": ["viewer"]},
}


# Values ---------------------------------------------------------------------------
def test_times_read_epoch_milliseconds_iso_strings_and_datetimes():
    moment = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
    assert parse_time(_ms(moment)) == moment
    assert parse_time(moment.timestamp()) == moment
    assert parse_time("2026-12-03T09:15:00.000Z") == moment
    assert parse_time(datetime(2026, 12, 3, 9, 15)) == moment  # naive: UTC
    assert parse_time(None) is None and parse_time("") is None and parse_time("soon") is None


def test_times_show_when_and_how_long_ago():
    assert format_time(_ms(NOW - timedelta(hours=2))) == "2026-12-03 09:15 UTC (2 h ago)"
    assert format_time("2026-12-03T11:14:30Z") == "2026-12-03 11:14 UTC (just now)"
    assert format_time("2026-12-03T11:05:00Z") == "2026-12-03 11:05 UTC (10 min ago)"
    assert format_time("2026-11-30T11:15:00Z") == "2026-11-30 11:15 UTC (3 d ago)"
    assert format_time("2026-12-04T02:00:00Z") == "2026-12-04 02:00 UTC (in 14 h)"
    assert format_time("2026-12-03T11:15:20Z").endswith("(in < 1 min)")
    assert format_time(None) == "—"
    assert format_time("not a time") == "not a time"


def test_durations_are_readable():
    assert format_duration(None) == "—"
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(42) == "42 s"
    assert format_duration(185) == "3 min 5 s"
    assert format_duration(900) == "15 min"
    assert format_duration(7500) == "2 h 5 min"
    assert format_duration(97200) == "1 d 3 h"


def test_long_values_and_lists_are_cut():
    assert shorten("a\nb   c", 10) == "a b c"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"
    assert format_list(range(3)) == "0, 1, 2"
    assert format_list(range(8), 5) == "0, 1, 2, 3, 4, … and 3 more"
    assert format_list([]) == "—"


# Models ---------------------------------------------------------------------------
def test_models_show_aliases_latest_version_and_readable_times():
    models = ModelList([_model(aliases={"champion": "3", "challenger": "4"})])
    html = models._repr_html_()
    assert "<table" in html and "1 model" in html
    assert "@champion → v3" in html and "@challenger → v4" in html
    assert "2026-12-03 09:15 UTC (2 h ago)" in html
    assert str(_ms(NOW - timedelta(hours=2))) not in html  # no epoch milliseconds
    text = repr(models)
    assert text.splitlines()[0] == "1 model"
    assert text.splitlines()[1].split() == ["name", "aliases", "latest", "description", "updated"]
    assert "@challenger → v4, @champion → v3" in text
    assert "v4" in text and "2026-12-03 09:15 UTC (2 h ago)" in text
    assert "RegisteredModel" not in text


def test_user_text_is_escaped_in_html():
    models = ModelList([_model(name="<b>m</b>", description=XSS)])
    html = models._repr_html_()
    assert "<img" not in html and "<b>m" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;m&lt;/b&gt;" in html
    quoted = ModelList([_model(description='" onmouseover="alert(1)' + "x" * 200)])
    html = quoted._repr_html_()
    assert 'title="&quot; onmouseover=&quot;alert(1)' in html  # the full text, escaped
    assert ' onmouseover="' not in html
    jobs = JobList([_job(name=XSS, owner=XSS)])._repr_html_()
    assert "<img" not in jobs and "&lt;img src=x onerror=alert(1)&gt;" in jobs
    runs = RunList([_run(status="failed", error=XSS, failed_cell=2)])._repr_html_()
    assert "<img" not in runs and "&lt;img src=x onerror=alert(1)&gt;" in runs
    me = Me({**ME, "name": XSS, "groups": [XSS]})._repr_html_()
    assert "<img" not in me and me.count("&lt;img src=x onerror=alert(1)&gt;") == 2


def test_empty_results_say_so():
    assert repr(ModelList()) == "No models."
    assert ModelList()._repr_html_() == "<p><b>No models.</b></p>"
    assert repr(JobList()) == "No jobs."
    assert "No runs." in RunList()._repr_html_()


def test_long_results_are_cut_with_and_n_more():
    jobs = JobList([_job(n) for n in range(60)])
    html = jobs._repr_html_()
    assert html.count("<tr>") == 51  # the heading and 50 jobs
    assert "… and 10 more" in html and "60 jobs" in html
    text = repr(jobs)
    assert len(text.splitlines()) == 1 + 2 + 20 + 1
    assert text.splitlines()[-1] == "… and 40 more"
    many = ModelList([_model(aliases={f"a{i}": str(i) for i in range(5)})])
    assert "@a0 → v0, @a1 → v1, @a2 → v2, … and 2 more" in repr(many)


def test_the_text_table_is_aligned():
    lines = repr(RunList([_run(0), _run(1, id="r", status="running")])).splitlines()
    head, rule, *rows = lines[1:]
    starts = [head.index(h) for h in ("status", "trigger", "started", "duration")]
    for row in rows:
        assert all(row[i - 2 : i] == "  " for i in starts)
    assert set(rule) <= {"-", " "}


def test_a_page_of_models_stays_a_paged_list():
    first, second = _model("a"), _model("b")
    models = ModelList([first, second], token="next")
    assert isinstance(models, list) and models == [first, second]
    assert models[0] is first and models[0].name == "a" and models[-1].aliases == {"champion": "3"}
    assert [m.name for m in models] == ["a", "b"] and len(models) == 2
    assert models.token == "next" and models.to_list() == [first, second]
    assert type(models[:1]) is ModelList and models[:1] == [first]
    assert "search_models(page_token=" in repr(models)
    assert "page_token" not in repr(ModelList([first]))


def test_jobs_and_runs_stay_lists_of_dicts():
    plain = [_job(0), _job(1, active=False, last_run=None)]
    jobs = JobList(plain)
    assert jobs[0]["id"] == "job0000000000000" and jobs == plain and isinstance(jobs, list)
    assert json.loads(json.dumps(jobs)) == list(jobs)
    assert type(jobs[:1]) is JobList and "paused" in repr(jobs) and "never" in repr(jobs)
    assert "0 3 * * * (Europe/Berlin)" in repr(jobs)
    assert "failed 2026-12-03 03:01 UTC (8 h ago)" in repr(jobs)
    interval = JobList([_job(schedule={"kind": "interval", "interval_seconds": 900})])
    assert "every 15 min" in repr(interval)
    runs = RunList([_run()])
    assert pickle.loads(pickle.dumps(runs)) == runs and copy.deepcopy(runs) == runs
    assert type(pickle.loads(pickle.dumps(runs))) is RunList


def test_runs_show_status_progress_duration_and_error():
    runs = RunList(
        [
            _run(0, status="running", ended_at=None, duration_seconds=None,
                 progress={"cell": 3, "total": 10}),
            _run(1, status="failed", error="ZeroDivisionError: boom (failed in cell 4 of 6)",
                 failed_cell=7),
            _run(2, status="queued", started_at=None, ended_at=None, duration_seconds=None),
        ]
    )  # fmt: skip
    text = repr(runs)
    assert "running (cell 3/10)" in text and "2 h so far" in text
    assert "3 min 5 s" in text and "ZeroDivisionError" in text
    assert "cell 7" not in text  # the output notebook's index is not the user's number
    queued = text.splitlines()[-1].split()
    assert queued[:2] == ["run0000000000002", "queued"] and queued.count("—") >= 2


# Me --------------------------------------------------------------------------------
def test_me_is_a_dict_that_shows_as_a_table():
    me = Me(ME)
    assert me == ME and me["name"] == "erin" and json.loads(json.dumps(me)) == ME
    assert sorted(me["scopes"]) == sorted(ME["scopes"])
    html = me._repr_html_()
    assert "<table" in html and "<th" in html and "erin" in html
    lines = repr(me).splitlines()
    assert lines[0].split() == ["name", "erin"]
    assert "can     jobs_write, models_read" in repr(me)
    assert "area0:read" in repr(me) and "… and 3 more" in repr(me)
    assert "granted_by" not in repr(me) and "custom:nbplatform:" not in repr(me)
    assert "server" in repr(Me({**ME, "server": {"profile": "cpu-small"}}))


def test_ipython_shows_html_and_the_text_table():
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(JobList([_job()]))
    assert "<table" in shown["text/html"]
    assert shown["text/plain"] == repr(JobList([_job()]))
    shown, _ = formatters.DisplayFormatter().format(Me(ME))
    assert "<table" in shown["text/html"] and shown["text/plain"].startswith("name")


# DataFrames ------------------------------------------------------------------------
def test_to_pandas_gives_one_row_each_with_datetimes():
    pd = pytest.importorskip("pandas")
    frame = ModelList([_model(aliases={"champion": "3"})]).to_pandas()
    assert list(frame["name"]) == ["churn"] and frame["latest_version"][0] == 4
    assert frame["aliases"][0] == {"champion": "3"}
    assert frame["updated"][0] == pd.Timestamp(NOW - timedelta(hours=2))
    jobs = JobList([_job(0), _job(1, last_run=None)]).to_pandas()
    assert {"id", "schedule.cron", "next_run_at", "last_run.status"} <= set(jobs.columns)
    assert "last_run" not in jobs.columns
    assert jobs["next_run_at"][0] == pd.Timestamp("2026-12-04T02:00:00Z")
    runs = RunList([_run()]).to_pandas()
    assert runs["duration_seconds"][0] == 185.0 and runs["started_at"][0].hour == 9
    empty = RunList().to_pandas()
    assert empty.empty and "status" in empty.columns


def test_showing_results_imports_neither_pandas_nor_mlflow():
    code = (
        "import sys\n"
        "import nbplatform as nbp\n"
        "from nbplatform.display import JobList, Me\n"
        "repr(JobList([{'id': 'a', 'next_run_at': '2026-12-03T09:15:00Z'}]))\n"
        "JobList([{'id': 'a'}])._repr_html_(); repr(Me({'name': 'x'}))\n"
        "nbp.jobs\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'mlflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# What the library's calls return -----------------------------------------------------
class _FakeClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, path, **kwargs):
        self.calls.append((method, path, kwargs.get("params")))
        return self.answers.pop(0)


def test_list_jobs_follows_pages_into_a_job_table():
    client = _FakeClient(
        [
            {"jobs": [_job(0)], "next_page_token": "p2"},
            {"jobs": [_job(1)], "next_page_token": None},
        ]
    )
    jobs = nbp.jobs.list_jobs(owner="alice", client=client)
    assert type(jobs) is JobList and [j["name"] for j in jobs] == ["train-0", "train-1"]
    assert client.calls[1][2] == {"max_results": 100, "owner": "alice", "page_token": "p2"}
    assert repr(jobs).startswith("2 jobs\nid")


def test_runs_returns_a_run_table():
    client = _FakeClient([{"runs": [_run(0), _run(1)], "next_page_token": None}])
    runs = nbp.jobs.runs({"id": "job0000000000000"}, max_results=2, client=client)
    assert type(runs) is RunList and runs[0]["id"] == "run0000000000000"
    assert client.calls == [("GET", "api/jobs/job0000000000000/runs", {"max_results": 2})]
    assert "<table" in runs[:1]._repr_html_()


def test_search_models_returns_a_model_table_with_the_page_token(monkeypatch):
    paged_list = pytest.importorskip("mlflow.store.entities.paged_list")
    seen = {}

    class Client:
        def search_registered_models(self, **kwargs):
            seen.update(kwargs)
            return paged_list.PagedList([_model(description=XSS)], "tok")

    monkeypatch.setattr(nbp.registry, "_client", Client)
    models = nbp.registry.search_models("name LIKE 'churn%'", max_results=5)
    assert seen["filter_string"] == "name LIKE 'churn%'" and seen["max_results"] == 5
    assert type(models) is ModelList and models.token == "tok" and models[0].name == "churn"
    assert "&lt;img" in models._repr_html_() and "@champion → v3" in repr(models)


def test_me_returns_a_me_table(monkeypatch):
    from nbplatform.client import PlatformClient

    monkeypatch.setenv("NBP_PLATFORM_URL", "http://127.0.0.1:9/services/platform/")
    monkeypatch.setenv("NBP_TOKEN", "t")
    monkeypatch.setattr(PlatformClient, "me", lambda self: dict(ME))
    me = nbp.me()
    assert type(me) is Me and me == ME
    assert "<table" in me._repr_html_() and repr(me).startswith("name")
