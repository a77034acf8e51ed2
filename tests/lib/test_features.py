"""``nbp.features`` against a stand-in platform service: what goes over the wire, and back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fake_platform import Answer, FakePlatform, running
from nbplatform import features
from nbplatform.client import PlatformClient
from nbplatform.errors import InvalidParameterError


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> PlatformClient:
    return PlatformClient(platform.url, "tok")


def test_importing_features_loads_nothing_heavy():
    code = (
        "import sys, json, nbplatform\n"
        "nbplatform.features.client_config('http://h/services/platform/')\n"
        "from nbplatform.cli import main\n"
        "heavy = ['feast', 'pandas', 'pyarrow', 'mlflow', 'requests', 'numpy', 'yaml']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# Arguments --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "not neither"),
        ({"features": ["v:f"], "feature_service": "s"}, "not both"),
        ({"features": []}, "features is empty"),
        ({"features": ["no_colon"]}, "'view:feature', not 'no_colon'"),
        ({"features": ["v:"]}, "not 'v:'"),
    ],
)
def test_training_frames_need_exactly_one_way_to_name_features(kwargs, message):
    with pytest.raises(ValueError, match=message):
        features.get_training_frame(object(), **kwargs)
    with pytest.raises(ValueError, match=message):
        features.get_online_features([{"id": 1}], **kwargs)


def test_the_entity_frame_needs_event_timestamps():
    import pandas as pd

    with pytest.raises(ValueError, match=r"needs an event_timestamp column.*driver_id"):
        features.get_training_frame(pd.DataFrame({"driver_id": [1]}), features=["v:f"])
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        features.get_training_frame("SELECT 1", features=["v:f"])


# Training frames --------------------------------------------------------------------
def arrow_frames(platform: FakePlatform) -> list[Any]:
    """Answer training frames with the entity rows plus ``conv_rate``; return the entity tables."""
    import pyarrow as pa

    seen: list[Any] = []

    def answer(request: dict[str, Any]) -> Answer:
        table = pa.ipc.open_stream(request["body"]).read_all()
        seen.append(table)
        out = table.append_column("conv_rate", pa.array([0.5] * table.num_rows))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, out.schema) as writer:
            writer.write_table(out)
        spec = {
            "features": request["query"].get("features", []),
            "feature_service": None,
            "entity_hash": "ab" * 32,
            "rows": out.num_rows,
            "start": "2026-01-01T00:00:00+00:00",
            "end": "2026-01-02T00:00:00+00:00",
        }
        headers = {
            "Content-Type": features.ARROW_STREAM,
            "Nbplatform-Training-Frame": json.dumps(spec),
        }
        return 200, headers, sink.getvalue().to_pybytes()

    platform.routes[("POST", "api/features/training-frames")] = answer
    return seen


def entity_df() -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "driver_id": [1001, 1002],
            "event_timestamp": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
        }
    )


def test_a_training_frame_goes_as_an_arrow_stream_and_comes_back_as_pandas(platform, client):
    seen = arrow_frames(platform)
    frame = features.get_training_frame(
        entity_df(), features=["driver_stats:conv_rate"], client=client, log=False
    )
    assert list(frame.columns) == ["driver_id", "event_timestamp", "conv_rate"]
    assert frame["conv_rate"].tolist() == [0.5, 0.5]
    assert frame.attrs["nbplatform.training_frame"]["rows"] == 2
    request = platform.requests[0]
    assert request["headers"]["Content-Type"] == features.ARROW_STREAM
    assert request["headers"]["Authorization"] == "token tok"
    assert request["query"] == {
        "features": ["driver_stats:conv_rate"],
        "full_feature_names": ["false"],
    }
    assert seen[0].column("driver_id").to_pylist() == [1001, 1002]


def test_a_training_frame_is_recorded_on_the_active_mlflow_run(
    platform, client, tmp_path, monkeypatch
):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # quicker than a database
    arrow_frames(platform)
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    try:
        with mlflow.start_run() as run:
            features.get_training_frame(
                entity_df(), features=["driver_stats:conv_rate"], client=client
            )
        data = mlflow.get_run(run.info.run_id)
        tags = data.data.tags
        assert tags["nbplatform.training_frame.features"] == "driver_stats:conv_rate"
        assert tags["nbplatform.training_frame.entity_hash"] == "ab" * 32
        assert tags["nbplatform.training_frame.rows"] == "2"
        assert tags["nbplatform.training_frame.start"] == "2026-01-01T00:00:00+00:00"
        files = {
            a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "training_frame")
        }
        assert files == {"training_frame/spec.json", "training_frame/entities.parquet"}
        local = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id,
            artifact_path="training_frame/entities.parquet",
            dst_path=str(tmp_path),
        )
        import pandas as pd

        assert pd.read_parquet(local)["driver_id"].tolist() == [1001, 1002]
        assert [i.dataset.name for i in data.inputs.dataset_inputs] == ["training_frame"]
    finally:
        mlflow.set_tracking_uri(None)


# Online features --------------------------------------------------------------------
def test_online_features_are_feast_columns(platform, client):
    import numpy as np

    platform.json(
        "POST",
        "features/server/get-online-features",
        {
            "metadata": {"feature_names": ["driver_id", "conv_rate"]},
            "results": [
                {"values": [1001, 1002], "statuses": ["PRESENT"] * 2},
                {"values": [0.5, None], "statuses": ["PRESENT", "NOT_FOUND"]},
            ],
        },
    )
    rows = [{"driver_id": np.int64(1001)}, {"driver_id": 1002}]
    answer = features.get_online_features(rows, feature_service="driver_model", client=client)
    assert answer == {"driver_id": [1001, 1002], "conv_rate": [0.5, None]}
    assert json.loads(platform.requests[0]["body"]) == {
        "entities": {"driver_id": [1001, 1002]},
        "full_feature_names": False,
        "feature_service": "driver_model",
    }
    with pytest.raises(ValueError, match="the same keys"):
        features.get_online_features([{"a": 1}, {"b": 2}], features=["v:f"], client=client)


# Materialize, push, list, apply -----------------------------------------------------
def test_materialize_sends_iso_times_and_raises_when_it_failed(platform, client):
    record = {"id": "m1", "views": ["v"], "start": "s", "end": "e", "status": "succeeded"}
    platform.json("POST", "api/features/materializations", record, status=201)
    assert features.materialize(datetime(2026, 1, 1), "2026-02-01T00:00:00Z", "v", client=client)
    assert json.loads(platform.requests[0]["body"]) == {
        "views": ["v"],
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-02-01T00:00:00Z",
        "incremental": False,
    }
    platform.json(
        "POST",
        "api/features/materializations",
        {**record, "status": "failed", "error": "no data"},
        201,
    )
    with pytest.raises(
        features.MaterializationError, match="Materializing v from s to e failed: no data"
    ) as e:
        features.materialize_incremental(client=client)
    assert e.value.record["id"] == "m1"
    assert json.loads(platform.requests[1]["body"])["incremental"] is True


def test_push_sends_rows_with_iso_timestamps(platform, client):
    import pandas as pd

    platform.json("POST", "api/features/push", {"rows": 1})
    rows = pd.DataFrame(
        {
            "driver_id": [1001],
            "conv_rate": [float("nan")],
            "ts": pd.to_datetime(["2026-01-01"], utc=True),
        }
    )
    assert features.push("driver_push", rows, to="online_and_offline", client=client) == {"rows": 1}
    assert json.loads(platform.requests[0]["body"]) == {
        "push_source": "driver_push",
        "rows": [{"driver_id": 1001, "conv_rate": None, "ts": "2026-01-01T00:00:00+00:00"}],
        "to": "online_and_offline",
    }
    with pytest.raises(ValueError, match="to must be one of"):
        features.push("driver_push", [], to="elsewhere", client=client)


def test_listing_views_follows_pages(platform, client):
    pages = iter(
        [
            {"feature_views": [{"name": "a"}], "next_page_token": "2"},
            {"feature_views": [{"name": "b"}], "next_page_token": None},
        ]
    )
    platform.routes[("GET", "api/features/views")] = lambda _: (
        200,
        {},
        json.dumps(next(pages)).encode(),
    )
    assert [v["name"] for v in features.list_feature_views(client=client)] == ["a", "b"]
    assert platform.requests[1]["query"]["page_token"] == ["2"]


def test_apply_sends_each_object_with_its_file(platform, client, tmp_path):
    (tmp_path / "entities.py").write_text(
        "from feast import Entity, ValueType\n"
        "driver = Entity(name='driver', join_keys=['driver_id'], value_type=ValueType.INT64)\n"
    )
    platform.json(
        "POST",
        "api/features/apply",
        {
            "created": [{"kind": "entity", "name": "driver"}],
            "updated": [],
            "unchanged": [],
            "dry_run": True,
        },
    )
    answer = features.apply(tmp_path, dry_run=True, client=client)
    assert answer["created"] == [{"kind": "entity", "name": "driver"}]
    body = json.loads(platform.requests[0]["body"])
    assert body["dry_run"] is True
    (sent,) = body["objects"]
    assert {k: sent[k] for k in ("kind", "name", "file")} == {
        "kind": "entity",
        "name": "driver",
        "file": "entities.py",
    }
    import base64

    from feast import Entity
    from feast.protos.feast.core.Entity_pb2 import Entity as EntityProto

    assert (
        Entity.from_proto(EntityProto.FromString(base64.b64decode(sent["proto"]))).join_key
        == "driver_id"
    )


def test_the_platform_refusing_an_object_is_its_message(platform, client, tmp_path):
    (tmp_path / "x.py").write_text(
        "from feast import Entity, ValueType\n"
        "e = Entity(name='e', join_keys=['k'], value_type=ValueType.INT64)\n"
    )
    platform.json(
        "POST",
        "api/features/apply",
        {"message": "x.py: entity 'e': no", "error_code": "X"},
        status=400,
    )
    with pytest.raises(InvalidParameterError, match="^x.py: entity 'e': no$"):
        features.apply(tmp_path, client=client)


# The Feast client config and the template -------------------------------------------
def test_the_client_config_is_one_feast_accepts(monkeypatch):
    import yaml
    from feast.repo_config import RepoConfig

    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    text = features.client_config("http://hub:8000/services/platform")
    config = RepoConfig(**yaml.safe_load(text))
    assert config.project == "nbplatform"
    assert config.registry.path == "http://hub:8000/services/platform/api/features/registry"
    assert config.registry.registry_store_type == "nbplatform.feast_registry.PlatformRegistryStore"
    assert config.online_store.path == "http://hub:8000/services/platform/features/server"
    assert config.auth_config.token_env_var == "JUPYTERHUB_API_TOKEN"
    assert config.entity_key_serialization_version == 3
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    monkeypatch.setenv("NBP_TOKEN", "t")
    assert 'token_env_var: "NBP_TOKEN"' in features.client_config("http://h/")


def test_write_client_config_defaults_to_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NBP_PLATFORM_URL", "http://h/services/platform/")
    path = features.write_client_config()
    assert path == tmp_path / ".nbplatform" / "feature_store.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "http://h/services/platform/api/features/registry" in path.read_text()


def test_the_template_notebook_takes_parameters():
    import nbformat

    path = Path(features.__file__).parent / "templates" / "materialize_features.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, Any] = {}
    exec(cell.source, namespace)
    assert {k: namespace[k] for k in ("views", "incremental", "start", "end")} == {
        "views": None,
        "incremental": True,
        "start": None,
        "end": None,
    }
    assert "nbp.features.materialize_incremental(" in nb.cells[-1].source
