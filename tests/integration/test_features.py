"""The feature store on a real platform: Feast behind the platform service.

A data scientist applies a definitions folder (parsed in the test process, sent
as Feast protobufs), builds a point-in-time training frame, materializes, and
looks features up through the gateway (Feast reads the online store in the service), with
``nbp.features`` and with the stock Feast SDK in a platform kernel. Bad
definitions change nothing; viewers, other data scientists and admins get
what the README says.
"""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbplatform import features
from nbplatform.client import PlatformClient
from nbplatform.errors import InvalidParameterError, NotFoundError, PermissionDeniedError

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)

DEFINITIONS = """
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource
from feast.types import Float64, Int64

driver = Entity(name="driver", join_keys=["driver_id"])

stats_source = FileSource(
    name="driver_stats_source",
    path="{data}/driver_stats.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

live_push = PushSource(name="driver_live", batch_source=stats_source)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=2),
    schema=[Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)],
    source=live_push,
)

old_source = FileSource(
    name="driver_old_source",
    path="{data}/driver_old.parquet",
    timestamp_field="event_timestamp",
)

driver_old = FeatureView(
    name="driver_old",
    entities=[driver],
    ttl=timedelta(hours=1),
    schema=[Field(name="rating", dtype=Float64)],
    source=old_source,
)

driver_model = FeatureService(name="driver_model", features=[driver_stats])
"""


def write_data(data: Path, rng: np.random.Generator) -> pd.DataFrame:
    """Hourly stats for drivers 1..5 over the last three days (driver 6 has none)."""
    rows = []
    for driver in range(1, 6):
        for hours in range(72, 0, -3):
            when = NOW - timedelta(hours=hours)
            rows.append(
                {
                    "driver_id": driver,
                    "event_timestamp": when,
                    "created": when + timedelta(minutes=5),
                    "conv_rate": float(rng.random()),
                    "trips": int(rng.integers(0, 100)),
                }
            )
    frame = pd.DataFrame(rows)
    data.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(data / "driver_stats.parquet")
    old = pd.DataFrame(
        {
            "driver_id": [1, 2],
            "event_timestamp": [NOW - timedelta(days=3)] * 2,
            "rating": [4.5, 3.9],
        }
    )
    old.to_parquet(data / "driver_old.parquet")
    return frame


def reference(entity_df: pd.DataFrame, stats: pd.DataFrame, ttl: timedelta) -> list:
    """Brute force: the latest row at or before each entity time, within the TTL."""
    out = []
    for _, row in entity_df.iterrows():
        found = stats[
            (stats.driver_id == row.driver_id)
            & (stats.event_timestamp <= row.event_timestamp)
            & (stats.event_timestamp >= row.event_timestamp - ttl)
        ].sort_values(["event_timestamp", "created"])
        out.append(None if found.empty else float(found.iloc[-1].conv_rate))
    return out


@pytest.fixture(scope="module")
def people(platform):
    return {
        "ds": platform.create_user("feat-dana", "data-scientist"),
        "other": platform.create_user("feat-dan", "data-scientist"),
        "viewer": platform.create_user("feat-vic", "viewer"),
        "admin": platform.admin_token,
    }


def client(platform, token: str) -> PlatformClient:
    return PlatformClient(platform_url=f"{platform.url}/services/platform/", token=token)


@pytest.fixture(scope="module")
def repo(platform, people, tmp_path_factory):
    """The definitions folder applied by the data scientist, and the data behind it."""
    data = platform.home / "features" / "data"
    stats = write_data(data, np.random.default_rng(7))
    folder = tmp_path_factory.mktemp("feature_repo")
    (folder / "drivers.py").write_text(DEFINITIONS.replace("{data}", str(data)))
    answer = features.apply(folder, client=client(platform, people["ds"]))
    created = {(o["kind"], o["name"]) for o in answer["created"]}
    assert ("feature_view", "driver_stats") in created, answer
    return {"folder": folder, "stats": stats, "data": data}


def test_apply_again_changes_nothing_and_the_views_are_listed(platform, people, repo):
    again = features.apply(repo["folder"], client=client(platform, people["ds"]))
    assert again["created"] == [] and again["updated"] == [], again
    views = {
        v["name"]: v for v in features.list_feature_views(client=client(platform, people["viewer"]))
    }
    stats = views["driver_stats"]
    assert stats["owner"] == "feat-dana"
    assert stats["ttl_seconds"] == 2 * 86400
    assert [f["name"] for f in stats["features"]] == ["conv_rate", "trips"]
    assert stats["entities"][0]["join_keys"] == ["driver_id"]
    assert stats["freshness"]["status"] == "never"


def test_an_invalid_definition_names_file_and_object_and_changes_nothing(
    platform, people, repo, tmp_path
):
    before = platform.service("GET", "api/features/registry", people["ds"]).content
    bad = tmp_path / "bad_repo"
    bad.mkdir()
    (bad / "drivers.py").write_text(
        DEFINITIONS.replace("{data}", str(repo["data"])).replace(
            'Field(name="trips", dtype=Int64)', 'Field(name="no_such_column", dtype=Int64)'
        )
    )
    with pytest.raises(InvalidParameterError) as caught:
        features.apply(bad, client=client(platform, people["ds"]))
    message = str(caught.value)
    assert "drivers.py" in message and "driver_stats" in message and "no_such_column" in message
    outside = tmp_path / "outside_repo"
    outside.mkdir()
    (outside / "drivers.py").write_text(DEFINITIONS.replace("{data}", "/etc"))
    with pytest.raises(InvalidParameterError, match="outside the folders"):
        features.apply(outside, client=client(platform, people["ds"]))
    after = platform.service("GET", "api/features/registry", people["ds"]).content
    assert after == before


def test_training_frame_is_point_in_time_correct_and_recorded(platform, people, repo):
    rng = np.random.default_rng(3)
    entity_df = pd.DataFrame(
        {
            "driver_id": rng.integers(1, 7, 60),  # driver 6 has no history
            "event_timestamp": [NOW - timedelta(hours=float(h)) for h in rng.uniform(0, 80, 60)],
        }
    )
    frame = features.get_training_frame(
        entity_df, features=["driver_stats:conv_rate"], client=client(platform, people["viewer"])
    )
    assert len(frame) == len(entity_df)
    merged = entity_df.merge(frame, on=["driver_id", "event_timestamp"], how="left")
    expected = reference(entity_df, repo["stats"], timedelta(days=2))
    got = [None if pd.isna(v) else float(v) for v in merged["conv_rate"]]
    assert got == expected
    by_service = features.get_training_frame(
        entity_df, feature_service="driver_model", client=client(platform, people["ds"])
    )
    assert {"conv_rate", "trips"} <= set(by_service.columns)


def _lookup(platform, token, body):
    return platform.service("POST", "features/server/get-online-features", token, json=body)


def test_materialize_then_look_up_online_and_see_freshness(platform, people, repo):
    ds = client(platform, people["ds"])
    record = features.materialize(NOW - timedelta(days=4), NOW, views=["driver_stats"], client=ds)
    assert record["status"] == "succeeded", record
    old = features.materialize(
        NOW - timedelta(days=4), NOW - timedelta(days=2), views=["driver_old"], client=ds
    )
    assert old["status"] == "succeeded", old
    latest = repo["stats"].sort_values("event_timestamp").groupby("driver_id").last()
    deadline = time.monotonic() + 30
    while True:  # the service trusts its cached registry for 2 s
        answer = features.get_online_features(
            [{"driver_id": 1}, {"driver_id": 6}],
            features=["driver_stats:conv_rate", "driver_stats:trips"],
            client=client(platform, people["viewer"]),
        )
        if answer["conv_rate"][0] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer["conv_rate"][0] == pytest.approx(latest.loc[1, "conv_rate"])
    assert answer["trips"][0] == latest.loc[1, "trips"]
    assert answer["conv_rate"][1] is None  # no history
    views = {v["name"]: v for v in features.list_feature_views(client=ds)}
    assert views["driver_stats"]["freshness"]["status"] == "fresh"
    assert views["driver_old"]["freshness"]["status"] == "stale"
    assert views["driver_stats"]["materialization"]["last_run"]["id"] == record["id"]
    described = features.describe("driver_stats", client=ds)
    assert described["stats"]["row_count"] == len(repo["stats"])
    conv = next(c for c in described["stats"]["columns"] if c["name"] == "conv_rate")
    assert sum(conv["histogram"]["counts"]) == len(repo["stats"])


def test_the_gateway_refuses_what_feast_would_not_serve(platform, people, repo):
    viewer = people["viewer"]
    assert (
        _lookup(platform, None, {"entities": {"driver_id": [1]}, "features": []}).status_code == 401
    )
    unknown = _lookup(platform, viewer, {"entities": {"driver_id": [1]}, "features": ["x:y"]})
    assert unknown.status_code == 404, unknown.text
    ragged = _lookup(
        platform,
        viewer,
        {"entities": {"driver_id": [1, 2], "other": [1]}, "features": ["driver_stats:trips"]},
    )
    assert ragged.status_code == 400, ragged.text
    extra = _lookup(
        platform,
        viewer,
        {"entities": {"driver_id": [1]}, "features": ["driver_stats:trips"], "x": 1},
    )
    assert extra.status_code == 400, extra.text
    # A join key missing: Feast would fail deep inside (a 500); the gateway says which.
    for body in (
        {"entities": {"trips": [1]}, "features": ["driver_stats:trips"]},
        {"entities": {"other": [1]}, "feature_service": "driver_model"},
    ):
        missing = _lookup(platform, viewer, body)
        assert missing.status_code == 400, missing.text
        assert "missing the join key driver_id" in missing.json()["message"], missing.text
    # Values Feast cannot read as the join key's type: a 400 naming the value, never a 500.
    for values, said in ((["abc"], "'abc'"), ([None], "null"), ([10**30], "out of range")):
        body = {"entities": {"driver_id": values}, "features": ["driver_stats:trips"]}
        wrong = _lookup(platform, viewer, body)
        assert wrong.status_code == 400, wrong.text
        assert said in wrong.json()["message"], wrong.text
    for path in ("features/server/push", "features/server/materialize"):
        assert platform.service("POST", path, viewer, json={}).status_code == 404


def test_permissions_viewer_reads_data_scientists_write_admins_delete(platform, people, repo):
    viewer, other = client(platform, people["viewer"]), client(platform, people["other"])
    with pytest.raises(PermissionDeniedError):
        features.apply(repo["folder"], client=viewer)
    with pytest.raises(PermissionDeniedError):
        features.materialize_incremental(views=["driver_stats"], client=viewer)
    with pytest.raises(PermissionDeniedError):
        features.push(
            "driver_live",
            [
                {
                    "driver_id": 1,
                    "event_timestamp": NOW.isoformat(),
                    "created": NOW.isoformat(),
                    "conv_rate": 0.5,
                    "trips": 1,
                }
            ],
            client=viewer,
        )
    # another data scientist may not change the first one's definitions
    with pytest.raises(PermissionDeniedError, match="owned by feat-dana"):
        features.apply(repo["folder"], client=other)
    # nor may a data scientist delete a view
    refused = platform.service("DELETE", "api/features/views/driver_old", people["ds"])
    assert refused.status_code == 403, refused.text
    pushed = features.push(
        "driver_live",
        [
            {
                "driver_id": 1,
                "event_timestamp": NOW.isoformat(),
                "created": NOW.isoformat(),
                "conv_rate": 0.25,
                "trips": 7,
            }
        ],
        client=client(platform, people["ds"]),
    )
    assert pushed["rows"] == 1
    online = features.get_online_features(
        [{"driver_id": 1}], features=["driver_stats:trips"], client=viewer
    )
    assert online["trips"] == [7]  # the pushed row is the newest
    gone = platform.service("DELETE", "api/features/views/driver_old", people["admin"])
    assert gone.status_code == 204, gone.text
    with pytest.raises(NotFoundError):
        features.describe("driver_old", client=viewer)
    kept = features.get_online_features(
        [{"driver_id": 1}], features=["driver_stats:trips"], client=viewer
    )
    assert kept["trips"] == [7]  # deleting one view leaves the others' online rows
    audit = platform.service(
        "GET", "api/audit", people["admin"], params={"action": "features:", "max_results": 100}
    ).json()["entries"]
    actions = {(e["action"], e["result"]) for e in audit}
    assert ("features:apply:post", "refused") in actions
    assert ("features:views:delete", "allowed") in actions


def test_stock_feast_sdk_in_a_platform_kernel(platform, people, repo):
    platform.create_user("feat-dana", "data-scientist")
    token = platform.tokens["feat-dana"]
    features.materialize(
        NOW - timedelta(days=4), NOW, views=["driver_stats"], client=client(platform, token)
    )
    code = textwrap.dedent(
        """
        import os
        from feast import FeatureStore
        store = FeatureStore(fs_yaml_file=os.environ["FEAST_FS_YAML_FILE_PATH"])
        print(sorted(v.name for v in store.list_feature_views()))
        answer = store.get_online_features(
            features=["driver_stats:trips"], entity_rows=[{"driver_id": 2}]
        ).to_dict()
        print("trips", answer["trips"])
        from feast import Entity
        try:
            store.apply([Entity(name="sneaky", join_keys=["k"])])
        except PermissionError as e:
            print("refused:", e)
        """
    )
    with platform.spawned("feat-dana", "cpu-small"):
        result = platform.execute("feat-dana", code, token, timeout=180)
    assert result["error"] is None, result
    latest = repo["stats"].sort_values("event_timestamp").groupby("driver_id").last()
    assert "driver_stats" in result["stdout"]
    assert f"trips [{latest.loc[2, 'trips']}]" in result["stdout"], result["stdout"]
    assert "refused:" in result["stdout"] and "nbplatform features apply" in result["stdout"]


def test_materialization_runs_as_a_scheduled_job_and_links_its_run(platform, people, repo):
    import os
    import subprocess
    import sys

    token = people["ds"]
    workspace = platform.home / "users" / "feat-dana"
    workspace.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))},
        "NBP_PLATFORM_URL": f"{platform.url}/services/platform/",
        "NBP_TOKEN": token,
        "HOME": str(workspace),
    }
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbplatform.cli",
            "features",
            "schedule-materialization",
            "--cron",
            "0 3 * * *",
            "--view",
            "driver_stats",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    job = __import__("json").loads(made.stdout)
    assert (workspace / job["notebook"]).exists()
    assert job["parameters"] == {"views": ["driver_stats"], "incremental": True}
    r = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json={})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in ("succeeded", "failed", "timed-out", "cancelled"):
            break
        time.sleep(1)
    assert run["status"] == "succeeded", run
    records = features.list_materializations(view="driver_stats", client=client(platform, token))
    assert records[0]["job_id"] == job["id"] and records[0]["run_id"] == run_id, records[0]
    assert records[0]["incremental"] and records[0]["status"] == "succeeded"
    view = features.describe("driver_stats", client=client(platform, token))
    assert view["materialization"]["last_run"]["run_id"] == run_id


def test_bad_input_to_training_frames_push_and_materialize_is_a_clear_4xx(platform, people, repo):
    import io

    import pyarrow as pa

    ds = people["ds"]
    path = "api/features/training-frames?features=driver_stats:trips"
    as_json = platform.service("POST", path, ds, json={"driver_id": [1]})
    assert as_json.status_code == 400 and "Arrow IPC stream" in as_json.json()["message"]
    import requests

    def post_arrow(url_path: str, body: bytes) -> requests.Response:
        headers = {
            "Authorization": f"token {ds}",
            "Content-Type": "application/vnd.apache.arrow.stream",
        }
        url = f"{platform.url}/services/platform/{url_path}"
        return requests.post(url, data=body, headers=headers, timeout=60)

    garbage = post_arrow(path, b"not arrow")
    assert garbage.status_code == 400 and "not an Arrow IPC stream" in garbage.json()["message"]
    sink = io.BytesIO()
    table = pa.table({"driver_id": [1]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    no_time = post_arrow(path, sink.getvalue())
    assert no_time.status_code == 400 and "event_timestamp" in no_time.json()["message"]
    both = post_arrow(path + "&feature_service=driver_model", sink.getvalue())
    assert both.status_code == 400 and "not both" in both.json()["message"]
    with pytest.raises(NotFoundError, match="no data source named 'nope'"):
        features.push("nope", [{"driver_id": 1}], client=client(platform, ds))
    with pytest.raises(InvalidParameterError, match="not a push source"):
        features.push("driver_stats_source", [{"driver_id": 1}], client=client(platform, ds))
    no_start = platform.service("POST", "api/features/materializations", ds, json={})
    assert no_start.status_code == 400 and "needs a start" in no_start.json()["message"]
    unknown = platform.service(
        "POST", "api/features/materializations", ds, json={"views": ["nope"], "incremental": True}
    )
    assert unknown.status_code == 404, unknown.text


NEW_VIEW = """
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float32, Int64

rider = Entity(name="rider", join_keys=["rider_id"], value_type=ValueType.INT64)
rides = FileSource(
    name="rider_rides_source",
    path="{path}",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)
rides_push = PushSource(name="rider_rides_push", batch_source=rides)
rider_rides = FeatureView(
    name="{view}",
    entities=[rider],
    ttl=timedelta(days=2),
    schema=[Field(name="rating", dtype=Float32), Field(name="rides", dtype=Int64)],
    source=rides_push,
)
"""


BATCH_ONLY = """
rider_history = FeatureView(
    name="rider_history",
    entities=[rider],
    ttl=timedelta(days=2),
    schema=[Field(name="rating", dtype=Float32)],
    source=FileSource(name="rider_history_source", path="{path}", timestamp_field="ts"),
)
"""


def test_a_data_scientists_first_push_fed_view_gets_an_empty_table(
    platform, people, repo, tmp_path
):
    """Users cannot write the feature data folder: apply makes a push-fed view's first table."""
    import pyarrow.parquet as pq

    ds = client(platform, people["ds"])
    data = platform.home / "features" / "data"
    folder = tmp_path / "riders"
    folder.mkdir()
    view = "rider_rides"

    def write(path: str, name: str = view, extra: str = "") -> None:
        (folder / "riders.py").write_text(NEW_VIEW.format(path=path, view=name) + extra)

    # A dry run, and an apply refused later (another view's file source is missing: only
    # push-fed views get a table), leave no file behind.
    write("riders/rides.parquet")
    assert features.apply(folder, client=ds, dry_run=True)["dry_run"] is True
    assert not (data / "riders").exists()
    write("riders/rides.parquet", extra=BATCH_ONLY.format(path="riders/missing.parquet"))
    with pytest.raises(InvalidParameterError, match="does not exist"):
        features.apply(folder, client=ds)
    assert not (data / "riders").exists()

    write("riders/rides.parquet")
    answer = features.apply(folder, client=ds)
    assert ("feature_view", view) in {(o["kind"], o["name"]) for o in answer["created"]}
    table = pq.read_table(data / "riders" / "rides.parquet")
    assert table.num_rows == 0
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("rider_id", "int64"),
        ("event_timestamp", "timestamp[ns, tz=UTC]"),
        ("rating", "float"),
        ("rides", "int64"),
        ("created", "timestamp[ns, tz=UTC]"),
    ]
    rows = pd.DataFrame(
        {
            "rider_id": [1, 2],
            "event_timestamp": [NOW - timedelta(hours=1), NOW],
            "rating": np.array([4.5, 3.0], dtype="float32"),
            "rides": [3, 7],
            "created": [NOW, NOW],
        }
    )
    features.push("rider_rides_push", rows, to="offline", client=ds)
    assert features.describe(view, client=ds)["stats"]["row_count"] == 2
    # Outside the platform's own folder nothing is made: the path must exist.
    write(str(tmp_path / "elsewhere.parquet"), name="rider_elsewhere")
    with pytest.raises(InvalidParameterError, match="outside the folders"):
        features.apply(folder, client=ds)
