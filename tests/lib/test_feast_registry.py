"""The stock Feast SDK and CLI on the platform's read-only registry; reading definition folders."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto
from feast.repo_config import RepoConfig
from feast.types import Float32, Int64

from nbplatform import features
from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform.feast_registry import (
    READ_ONLY,
    PlatformRegistryStore,
    RegistryProto,
    collect_definitions,
)


class Registry:
    """A stand-in platform serving ``api/features/registry``; keeps each Authorization."""

    def __init__(self) -> None:
        self.status, self.body, self.seen = 200, b"", []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(fake.status)
                body = fake.body if fake.status < 400 else b'{"message": "no features:read"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/platform/"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    fake = Registry()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    monkeypatch.setenv("NBP_PLATFORM_URL", fake.url)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def driver_objects() -> tuple[Entity, FeatureView]:
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name="driver_id", dtype=Int64), Field(name="conv_rate", dtype=Float32)],
        source=FileSource(name="stats", path="/d/stats.parquet", timestamp_field="ts"),
    )
    return driver, view


def serve(registry: Registry, *objects: Any) -> None:
    proto = RegistryProto(registry_schema_version="1")
    for obj in objects:
        message = obj.to_proto()
        message.spec.project = "nbplatform"
        getattr(proto, "entities" if isinstance(obj, Entity) else "feature_views").append(message)
    registry.body = proto.SerializeToString()


def test_the_stock_feature_store_reads_the_platform_registry_and_never_writes(registry):
    serve(registry, *driver_objects())
    store = features.store()
    assert [v.name for v in store.list_feature_views()] == ["driver_stats"]
    assert store.get_entity("driver").join_key == "driver_id"
    assert registry.seen[0] == ("/services/platform/api/features/registry", "token hub-token")
    with pytest.raises(PermissionError, match="nbplatform features apply"):
        store.apply([Entity(name="rider", join_keys=["rider_id"], value_type=ValueType.INT64)])


def test_an_empty_platform_registry_is_an_empty_registry(registry):
    store = features.store()
    assert store.list_feature_views() == []


def test_a_refusal_names_the_registry(registry):
    registry.status = 403
    config = RepoConfig(**yaml.safe_load(features.client_config())).registry
    with pytest.raises(PermissionDeniedError, match=r"api/features/registry: no features:read"):
        PlatformRegistryStore(config, None).get_registry_proto()


def test_the_store_refuses_to_write():
    config = RepoConfig(**yaml.safe_load(features.client_config("http://h/p/"))).registry
    store = PlatformRegistryStore(config, None)
    for call in (lambda: store.update_registry_proto(RegistryProto()), store.teardown):
        with pytest.raises(PermissionError) as raised:
            call()
        assert str(raised.value) == READ_ONLY


def test_the_feast_cli_works_on_the_written_config(registry, tmp_path, monkeypatch):
    from feast.cli.cli import cli

    serve(registry, *driver_objects())
    path = features.write_client_config(tmp_path / ".nbplatform" / "feature_store.yaml")
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("FEAST_FS_YAML_FILE_PATH", str(path))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["feature-views", "list"])
    assert result.exit_code == 0, result.output
    assert "driver_stats" in result.output


# Reading definitions ----------------------------------------------------------------
ENTITIES = """
    from feast import Entity, ValueType

    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
"""
VIEWS = """
    from datetime import timedelta

    from feast import FeatureService, FeatureView, Field, FileSource, PushSource
    from feast.types import Float32, Int64

    from entities import driver

    stats = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name="driver_id", dtype=Int64), Field(name="conv_rate", dtype=Float32)],
        source=FileSource(name="stats", path="/d/stats.parquet", timestamp_field="ts"),
    )
    push = PushSource(name="push", batch_source=FileSource(name="batch", path="/d/p.parquet"))
    service = FeatureService(name="driver_model", features=[stats])
"""


def test_each_object_with_the_file_defining_it(tmp_path):
    (tmp_path / "entities.py").write_text(textwrap.dedent(ENTITIES))
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "stats.py").write_text(textwrap.dedent(VIEWS))
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.py").write_text("raise SystemExit\n")
    found = {(d.kind, d.name): d.file for d in collect_definitions(tmp_path)}
    assert found == {
        ("entity", "driver"): "entities.py",
        ("feature_view", "driver_stats"): "views/stats.py",
        ("data_source", "stats"): "views/stats.py",
        ("data_source", "push"): "views/stats.py",
        ("data_source", "batch"): "views/stats.py",
        ("feature_service", "driver_model"): "views/stats.py",
    }


def test_the_proto_round_trips(tmp_path):
    (tmp_path / "entities.py").write_text(textwrap.dedent(ENTITIES))
    (tmp_path / "views.py").write_text(textwrap.dedent(VIEWS))
    (view,) = [d for d in collect_definitions(tmp_path) if d.kind == "feature_view"]
    again = FeatureView.from_proto(FeatureViewProto.FromString(view.proto))
    assert again == view.obj and again.name == "driver_stats"


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(ENTITIES))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.py").write_text("x = 1\ny = (\n")
    with pytest.raises(InvalidParameterError) as raised:
        collect_definitions(tmp_path)
    assert raised.value.message.startswith("sub/bad.py: SyntaxError: ")
    assert "(line 2)" in raised.value.message


def test_an_error_in_an_imported_file_names_that_file(tmp_path):
    (tmp_path / "a.py").write_text("import helpers\n")
    (tmp_path / "helpers.py").write_text("\n\nvalue = 1 / 0\n")
    with pytest.raises(InvalidParameterError, match=r"^helpers.py: ZeroDivisionError: .*line 3"):
        collect_definitions(tmp_path)


def test_two_objects_with_one_name_name_both_files(tmp_path):
    (tmp_path / "a.py").write_text(textwrap.dedent(ENTITIES))
    (tmp_path / "b.py").write_text(textwrap.dedent(ENTITIES).replace("driver_id", "other_id"))
    with pytest.raises(InvalidParameterError) as raised:
        collect_definitions(tmp_path)
    assert raised.value.message.startswith("a.py: entity 'driver': defined also in b.py")


def test_an_on_demand_view_is_collected_with_its_kind(tmp_path):
    (tmp_path / "odfv.py").write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from feast import Field, RequestSource
            from feast.on_demand_feature_view import on_demand_feature_view
            from feast.types import Float64

            request = RequestSource(name="req", schema=[Field(name="x", dtype=Float64)])

            @on_demand_feature_view(sources=[request], schema=[Field(name="y", dtype=Float64)])
            def doubled(inputs: pd.DataFrame) -> pd.DataFrame:
                return pd.DataFrame({"y": inputs["x"] * 2})
            """
        )
    )
    kinds = {(d.kind, d.name) for d in collect_definitions(tmp_path)}
    assert kinds == {("on_demand_feature_view", "doubled"), ("data_source", "req")}


def test_applying_again_reads_the_edited_files(tmp_path):
    (tmp_path / "entities.py").write_text(textwrap.dedent(ENTITIES))
    assert [d.name for d in collect_definitions(tmp_path)] == ["driver"]
    (tmp_path / "entities.py").write_text(textwrap.dedent(ENTITIES).replace("driver", "rider"))
    assert [d.name for d in collect_definitions(tmp_path)] == ["rider"]


def test_a_folder_without_definitions_says_so(tmp_path):
    with pytest.raises(InvalidParameterError, match="no .py files"):
        collect_definitions(tmp_path)
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(InvalidParameterError, match="found no Feast"):
        collect_definitions(tmp_path)
