"""``nbp.drift`` against a stand-in platform service: what goes over the wire, and back.

The platform service's drift API is tested for real in tests/integration; here a
loopback HTTP server answers like it and keeps every request, so the tests say
what the library sends and how it reads the answers. Verdicts come from the real
engine (:mod:`nbplatform.drift_engine`) on small frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_platform import Answer, FakePlatform, running
from nbplatform import drift
from nbplatform.client import PlatformClient
from nbplatform.errors import InvalidParameterError, PermissionDeniedError


@pytest.fixture(autouse=True)
def drift_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Reference statistics go to a temporary folder, not the home folder's cache."""
    folder = tmp_path / "drift-cache"
    monkeypatch.setenv("NBP_DRIFT_CACHE", str(folder))
    return folder


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> PlatformClient:
    return PlatformClient(platform.url, "tok")


MONITOR = "api/drift/monitors/m"
STORED = {"id": 7, "status": "drift", "n_drifted": 1, "n_columns": 2, "columns": []}


def frames(shift: float = 3.0, rows: int = 200) -> tuple[Any, Any]:
    """A reference, and a current whose ``a`` is shifted by ``shift`` (``b`` is not)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.choice(["x", "y", "z"], rows)})
    cur = pd.DataFrame({"a": rng.normal(shift, 1, rows), "b": rng.choice(["x", "y", "z"], rows)})
    return ref, cur


def parquet_monitor(platform: FakePlatform, tmp_path: Path, **fields: Any) -> tuple[Path, Path]:
    """A monitor ``m`` whose reference and current are parquet files; checks are stored."""
    ref, cur = frames()
    ref_path, cur_path = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    ref.to_parquet(ref_path)
    cur.to_parquet(cur_path)
    monitor = {
        "name": "m",
        "model": None,
        "feature_view": None,
        "reference": {"kind": "parquet", "path": str(ref_path)},
        "current": {"kind": "parquet", "path": str(cur_path)},
        "columns": None,
        "tests": {},
        "drift_share": 0.5,
        **fields,
    }
    platform.json("GET", MONITOR, monitor)
    platform.json("POST", f"{MONITOR}/checks", STORED, status=201)
    return ref_path, cur_path


def test_importing_drift_loads_nothing_heavy():
    code = (
        "import sys, json\n"
        "import nbplatform.drift\n"
        "heavy = ['numpy', 'pandas', 'evidently', 'mlflow', 'pyarrow', 'scipy']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# Checks without a monitor -----------------------------------------------------------
def test_a_check_of_two_frames_posts_nothing(platform, client, drift_cache):
    ref, cur = frames()
    result = drift.check(ref, cur, report=False, client=client)
    assert platform.requests == []
    assert result.check is None and result.report_html is None
    verdicts = {c["column"]: c["drifted"] for c in result.columns}
    assert verdicts == {"a": True, "b": False}
    assert result.drifted_columns == ["a"]
    assert result.dataset_drift is True  # 1 of 2 columns reaches the default share 0.5
    assert (result.reference_rows, result.current_rows) == (200, 200)

    same = drift.check(ref, ref.copy(), report=False, client=client)
    assert same.drifted_columns == [] and same.dataset_drift is False
    assert platform.requests == []
    # the reference's statistics are kept for the next check (the next job run)
    assert [p.suffix for p in drift_cache.iterdir()] == [".npz"]


def test_a_check_makes_evidentlys_html_report(client):
    ref, cur = frames()
    result = drift.check(ref, cur, client=client)
    assert isinstance(result.report_html, str)
    assert "<html" in result.report_html.lower()


def test_a_check_reads_parquet_paths_and_takes_overrides(tmp_path, client):
    ref, cur = frames()
    ref.to_parquet(tmp_path / "ref.parquet")
    result = drift.check(
        tmp_path / "ref.parquet",
        cur,
        columns=["a"],
        tests={"a": {"method": "wasserstein", "threshold": 100}},
        report=False,
        client=client,
    )
    (column,) = result.columns
    assert (column["column"], column["method"], column["threshold"]) == ("a", "wasserstein", 100)
    assert column["drifted"] is False


# Checks of a monitor ----------------------------------------------------------------
def test_a_monitors_check_is_posted_with_its_verdicts_and_report(platform, client, tmp_path):
    parquet_monitor(platform, tmp_path)
    result = drift.check(monitor="m", client=client)
    assert result.check == STORED
    (post,) = platform.sent("POST", f"{MONITOR}/checks")
    body = post["json"]
    assert post["headers"]["Authorization"] == "token tok"
    assert [c["column"] for c in body["columns"]] == ["a", "b"]
    for column in body["columns"]:
        assert {"column", "method", "statistic", "threshold", "drifted", "score"} <= set(column)
    assert {c["column"]: c["drifted"] for c in body["columns"]} == {"a": True, "b": False}
    assert body["dataset_drift"] is True
    assert body["drift_share"] == 0.5 and body["threshold_share"] == 0.5
    assert (body["reference_rows"], body["current_rows"]) == (200, 200)
    assert isinstance(body["report_html"], str) and "<html" in body["report_html"].lower()
    assert body["importance"] is None and body["model_version"] is None
    assert body["window_start"] is None and body["window_end"] is None
    assert [r["method"] for r in platform.requests] == ["GET", "POST"]


def test_a_monitors_columns_and_tests_are_the_defaults(platform, client, tmp_path):
    parquet_monitor(
        platform,
        tmp_path,
        columns=["a"],
        tests={"a": {"method": "wasserstein", "threshold": 100}},
        drift_share=0.9,
    )
    result = drift.check(monitor="m", report=False, client=client)
    (body,) = [p["json"] for p in platform.sent("POST", f"{MONITOR}/checks")]
    (column,) = body["columns"]
    assert column["column"] == "a" and column["method"] == "wasserstein"
    assert column["threshold"] == 100 and column["drifted"] is False  # KS would say drift
    assert body["dataset_drift"] is False and body["threshold_share"] == 0.9
    assert body["report_html"] is None
    assert result.drifted_columns == []

    # arguments win over the monitor's defaults
    drift.check(monitor="m", columns=["a", "b"], tests={}, report=False, client=client)
    body = platform.sent("POST", f"{MONITOR}/checks")[-1]["json"]
    assert {c["column"]: c["drifted"] for c in body["columns"]} == {"a": True, "b": False}


def window_answer(frame: Any, description: dict[str, Any]) -> Callable[[dict], Answer]:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue().to_pybytes()
    headers = {
        "Content-Type": "application/vnd.apache.arrow.stream",
        drift.WINDOW_HEADER: json.dumps(description),
    }
    return lambda _: (200, headers, data)


def feature_view_monitor(platform, tmp_path, sampled: bool = False) -> None:
    import pandas as pd

    ref, cur = frames()
    ref.to_parquet(tmp_path / "ref.parquet")
    window = cur.assign(
        id=range(len(cur)),
        event_timestamp=pd.date_range("2026-01-01", periods=len(cur), freq="h", tz="UTC"),
    )
    platform.json(
        "GET",
        MONITOR,
        {
            "name": "m",
            "model": None,
            "feature_view": "customers",
            "reference": {"kind": "parquet", "path": str(tmp_path / "ref.parquet")},
            "current": {"kind": "feature_view", "view": "customers", "window_days": 2},
            "columns": None,
            "tests": {},
            "drift_share": 0.5,
        },
    )
    platform.json("POST", f"{MONITOR}/checks", STORED, status=201)
    description = {
        "rows": len(window),
        "source_rows": 5000 if sampled else len(window),
        "sampled": sampled,
        "join_keys": ["id"],
        "timestamp_field": "event_timestamp",
        "start": "s",
        "end": "e",
    }
    platform.routes[("GET", "api/features/views/customers/window")] = window_answer(
        window, description
    )


def test_a_feature_view_window_is_the_current_data(platform, client, tmp_path):
    from datetime import datetime, timedelta

    feature_view_monitor(platform, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not sampled: no warning
        result = drift.check(monitor="m", report=False, client=client)
    assert result.check == STORED
    (fetch,) = platform.sent("GET", "api/features/views/customers/window")
    start = datetime.fromisoformat(fetch["query"]["start"][0])
    end = datetime.fromisoformat(fetch["query"]["end"][0])
    assert end - start == timedelta(days=2)
    body = platform.sent("POST", f"{MONITOR}/checks")[0]["json"]
    assert [c["column"] for c in body["columns"]] == ["a", "b"]  # not id, not event_timestamp
    assert body["current_rows"] == 200
    assert datetime.fromisoformat(body["window_start"]) == start
    assert datetime.fromisoformat(body["window_end"]) == end


def test_a_sampled_window_is_a_warning(platform, client, tmp_path):
    feature_view_monitor(platform, tmp_path, sampled=True)
    with pytest.warns(UserWarning, match="holds 5000 rows; a seeded sample of 200"):
        drift.check(monitor="m", report=False, client=client)


def test_a_model_monitor_without_a_training_frame_says_so(platform, client, monkeypatch):
    class Version:
        name, version, run_id = "churn", "3", "r1"

    def no_artifact(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no such artifact")

    import mlflow

    monkeypatch.setattr(drift, "_model_version", lambda model: Version())
    monkeypatch.setattr(mlflow.artifacts, "load_dict", no_artifact)
    ref, cur = frames()
    platform.json(
        "GET",
        MONITOR,
        {"name": "m", "model": "models:/churn@champion", "current": {"kind": "pushed"}},
    )
    with pytest.raises(InvalidParameterError, match=r"models:/churn@champion \(run r1\) has no"):
        drift.check(current=cur, monitor="m", report=False, client=client)
    assert platform.sent("POST", f"{MONITOR}/checks") == []


def test_a_missing_side_is_a_clear_error(platform, client, tmp_path):
    ref, cur = frames()
    with pytest.raises(InvalidParameterError, match=r"^current: pass a DataFrame or a parquet"):
        drift.check(ref, client=client)
    platform.json(
        "GET", MONITOR, {"name": "m", "model": None, "current": {"kind": "pushed"}, "tests": {}}
    )
    with pytest.raises(InvalidParameterError, match="reference: .*the monitor does not say"):
        drift.check(current=cur, monitor="m", client=client)
    with pytest.raises(InvalidParameterError, match="current: .*the monitor does not say"):
        drift.check(reference=ref, monitor="m", client=client)
    assert platform.sent("POST", f"{MONITOR}/checks") == []


def test_a_parquet_path_that_is_not_there_is_named(platform, client, tmp_path):
    ref_path, cur_path = parquet_monitor(platform, tmp_path)
    cur_path.unlink()
    with pytest.raises(InvalidParameterError, match=f"{cur_path}: no such parquet file"):
        drift.check(monitor="m", client=client)
    with pytest.raises(InvalidParameterError, match="nowhere.parquet: no such parquet"):
        drift.check(str(tmp_path / "nowhere.parquet"), ref_path, client=client)
    assert platform.sent("POST", f"{MONITOR}/checks") == []


def test_a_current_frame_lacking_a_column_names_it(platform, client, tmp_path):
    ref, cur = frames()
    with pytest.raises(InvalidParameterError, match=r"missing in the current frame: \['b'\]"):
        drift.check(ref, cur.drop(columns="b"), report=False, client=client)
    parquet_monitor(platform, tmp_path)
    with pytest.raises(InvalidParameterError, match=r"\['b'\]"):
        drift.check(current=cur.drop(columns="b"), monitor="m", report=False, client=client)
    assert platform.sent("POST", f"{MONITOR}/checks") == []


# History and monitors ---------------------------------------------------------------
def test_history_follows_pages_oldest_first(platform, client):
    import pandas as pd

    platform.pages(
        "GET",
        f"{MONITOR}/checks",
        [
            {
                "checks": [
                    {"id": 3, "created_at": "2026-01-03T00:00:00Z", "status": "drift"},
                    {"id": 2, "created_at": "2026-01-02T00:00:00Z", "status": "ok"},
                ],
                "next_page_token": "p2",
            },
            {
                "checks": [{"id": 1, "created_at": "2026-01-01T00:00:00Z", "status": "ok"}],
                "next_page_token": None,
            },
        ],
    )
    frame = drift.history("m", client=client)
    assert frame["id"].tolist() == [1, 2, 3]
    assert pd.api.types.is_datetime64_any_dtype(frame["created_at"])
    assert str(frame["created_at"].dt.tz) == "UTC"
    first, second = platform.sent("GET", f"{MONITOR}/checks")
    assert first["query"] == {"max_results": ["100"]}
    assert second["query"] == {"max_results": ["100"], "page_token": ["p2"]}


def test_history_asks_for_no_more_than_its_limit(platform, client):
    page = {"checks": [{"id": 1, "created_at": "2026-01-01T00:00:00Z"}] * 2, "next_page_token": "n"}
    platform.json("GET", f"{MONITOR}/checks", page)
    assert len(drift.history("m", limit=3, client=client)) >= 3
    assert [r["query"]["max_results"] for r in platform.requests] == [["3"], ["1"]]


def test_history_of_no_checks_is_an_empty_frame(platform, client):
    platform.json("GET", f"{MONITOR}/checks", {"checks": [], "next_page_token": None})
    assert drift.history("m", client=client).empty


def test_listing_monitors_follows_pages(platform, client):
    platform.pages(
        "GET",
        "api/drift/monitors",
        [
            {"monitors": [{"name": "a"}], "next_page_token": "2"},
            {"monitors": [{"name": "b"}], "next_page_token": None},
        ],
    )
    assert [m["name"] for m in drift.list_monitors(mine=True, client=client)] == ["a", "b"]
    first, second = platform.requests
    assert first["query"] == {"mine": ["1"]}
    assert second["query"] == {"mine": ["1"], "page_token": ["2"]}


def test_create_update_and_delete_a_monitor(platform, client):
    platform.json("POST", "api/drift/monitors", {"name": "m", "webhook_secret": "s"}, 201)
    platform.json("PATCH", MONITOR, {"name": "m"})
    platform.routes[("DELETE", MONITOR)] = lambda _: (204, {}, b"")
    platform.json("GET", "api/drift/checks/7", STORED)
    answer = drift.create_monitor(
        "m",
        model="models:/churn@champion",
        current={"kind": "feature_view", "view": "customers", "window_days": 7},
        tests={"age": {"method": "psi", "threshold": 0.2}},
        webhooks=["https://hook"],
        client=client,
    )
    assert answer["webhook_secret"] == "s"
    assert platform.sent("POST", "api/drift/monitors")[0]["json"] == {
        "name": "m",
        "model": "models:/churn@champion",
        "feature_view": None,
        "columns": None,
        "tests": {"age": {"method": "psi", "threshold": 0.2}},
        "drift_share": 0.5,
        "webhooks": ["https://hook"],
        "emails": [],
        "retrain_job_id": None,
        "description": "",
        "current": {"kind": "feature_view", "view": "customers", "window_days": 7},
    }
    drift.update_monitor("m", drift_share=0.3, client=client)
    assert platform.sent("PATCH", MONITOR)[0]["json"] == {"drift_share": 0.3}
    assert drift.delete_monitor("m", client=client) is None
    assert len(platform.sent("DELETE", MONITOR)) == 1
    assert drift.get_check("7", client=client) == STORED


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        (lambda c: drift.acknowledge("m", "known", client=c), "POST", "/acknowledge",
         {"comment": "known"}),
        (lambda c: drift.acknowledge("m", client=c), "POST", "/acknowledge", {"comment": None}),
        (lambda c: drift.mute("m", 120, client=c), "POST", "/mute", {"minutes": 120}),
        (lambda c: drift.mute("m", client=c), "POST", "/mute", {"minutes": 60}),
        (lambda c: drift.unmute("m", client=c), "DELETE", "/mute", None),
        (lambda c: drift.watch("m", client=c), "POST", "/watch", None),
        (lambda c: drift.unwatch("m", client=c), "DELETE", "/watch", None),
        (lambda c: drift.retrain("m", client=c), "POST", "/retrain", {}),
        (lambda c: drift.retrain("m", 7, client=c), "POST", "/retrain", {"check_id": 7}),
    ],
)  # fmt: skip
def test_alert_actions_hit_their_paths(platform, client, call, method, path, body):
    platform.json(method, MONITOR + path, {"ok": True})
    assert call(client) == {"ok": True}
    (request,) = platform.requests
    assert (request["method"], request["path"]) == (method, MONITOR + path)
    assert (json.loads(request["body"]) if request["body"] else None) == body


def test_a_monitor_name_is_quoted_in_paths(platform, client):
    platform.json("GET", "api/drift/monitors/a%2Fb%20c", {"name": "a/b c"})
    assert drift.get_monitor("a/b c", client=client) == {"name": "a/b c"}


def test_a_refusal_is_permission_denied_with_its_message(platform, client):
    platform.json(
        "POST",
        f"{MONITOR}/mute",
        {"message": "only the owner of m may mute it", "error_code": "PERMISSION_DENIED"},
        status=403,
    )
    with pytest.raises(PermissionDeniedError, match="^only the owner of m may mute it$"):
        drift.mute("m", client=client)


# Scheduling -------------------------------------------------------------------------
def test_schedule_copies_the_notebook_and_saves_the_job(platform, client, tmp_path):
    from nbplatform.notebook_templates import template

    platform.json("POST", "api/jobs", {"id": "j1", "name": "drift-m"}, status=201)
    platform.json("PATCH", MONITOR, {"name": "m", "schedule_job_id": "j1"})
    job = drift.schedule("m", "0 6 * * *", workspace=tmp_path, client=client)
    assert job == {"id": "j1", "name": "drift-m"}
    notebook = tmp_path / "drift" / "drift_check.ipynb"
    assert notebook.read_bytes() == template("drift_check.ipynb").read_bytes()
    (request,) = platform.sent("POST", "api/jobs")
    assert request["json"]["notebook"] == "drift/drift_check.ipynb"
    assert request["json"]["parameters"] == {"monitor": "m"}
    assert request["json"]["name"] == "drift-m"
    assert request["json"]["cron"] == "0 6 * * *"
    assert request["json"]["timezone"] == "UTC"
    assert "profile" not in request["json"]
    assert platform.sent("PATCH", MONITOR)[0]["json"] == {"schedule_job_id": "j1"}
    assert [r["method"] for r in platform.requests] == ["POST", "PATCH"]

    notebook.write_text("{}")  # your own version is kept
    kwargs = {"timezone": "Europe/Paris", "profile": "small", "workspace": tmp_path}
    drift.schedule("m", "0 7 * * *", **kwargs, client=client)
    assert notebook.read_text() == "{}"
    last = platform.sent("POST", "api/jobs")[-1]["json"]
    assert (last["timezone"], last["profile"]) == ("Europe/Paris", "small")


def test_schedule_refuses_a_notebook_outside_the_workspace(platform, client, tmp_path):
    with pytest.raises(InvalidParameterError, match="is not inside your workspace"):
        drift.schedule("m", "0 6 * * *", notebook="/etc/x.ipynb", workspace=tmp_path, client=client)
    assert platform.requests == []


def test_the_check_notebook_takes_parameters():
    import nbformat

    path = Path(drift.__file__).parent / "templates" / "drift_check.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, Any] = {}
    exec(cell.source, namespace)
    assert {k: namespace[k] for k in ("monitor", "sample")} == {"monitor": "", "sample": None}
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "nbp.drift.check(monitor=monitor, sample=sample)" in code
