"""Feature store settings: embedded defaults, Redis and warehouse stores by configuration."""

from __future__ import annotations

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_features.repo import store_config, write_config
from nbplatform_features.settings import FeaturesSettings


def test_defaults_are_embedded(tmp_path):
    settings = FeaturesSettings.from_env(tmp_path, {})
    config = store_config(settings)
    assert config["online_store"] == {
        "type": "sqlite",
        "path": str(tmp_path / "features/online.db"),
    }
    assert config["offline_store"]["type"] == "nbplatform_features.offline.DuckDBOfflineStore"
    assert config["registry"]["path"] == str(tmp_path / "features/registry.db")
    assert settings.data_roots == (tmp_path / "features" / "data",)


def test_redis_and_a_warehouse_by_configuration(tmp_path):
    warehouse = tmp_path / "offline.yaml"
    warehouse.write_text("type: postgres\nhost: db\nport: 5432\ndatabase: feast\n")
    settings = FeaturesSettings.from_env(
        tmp_path,
        {
            "NBP_FEATURES_ONLINE_STORE": "redis://:secret@cache:6380",
            "NBP_FEATURES_OFFLINE_STORE": str(warehouse),
            "NBP_FEATURES_DATA_ROOTS": "/srv/data",
        },
    )
    config = store_config(settings)
    assert config["online_store"] == {
        "type": "redis",
        "connection_string": "cache:6380,password=secret",
    }
    assert config["offline_store"]["type"] == "postgres"
    assert settings.data_roots[-1].as_posix() == "/srv/data"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"NBP_FEATURES_ONLINE_STORE": "memcached://x"}, "NBP_FEATURES_ONLINE_STORE"),
        ({"NBP_FEATURES_OFFLINE_STORE": "/no/such.yaml"}, "NBP_FEATURES_OFFLINE_STORE"),
        ({"NBP_FEATURES_DATA_ROOTS": "relative/dir"}, "NBP_FEATURES_DATA_ROOTS"),
        ({"NBP_FEATURES_MAX_FRAME_BYTES": "lots"}, "NBP_FEATURES_MAX_FRAME_BYTES"),
    ],
)
def test_bad_settings_say_which(tmp_path, env, named):
    with pytest.raises(ConfigurationError, match=named):
        FeaturesSettings.from_env(tmp_path, env)


def test_the_config_file_is_private_and_feast_reads_it(tmp_path):
    from feast.repo_config import load_repo_config

    path = write_config(FeaturesSettings.from_env(tmp_path, {}))
    assert path.stat().st_mode & 0o777 == 0o600
    config = load_repo_config(path.parent, path)
    assert config.project == "nbplatform"
    assert config.online_store.type == "sqlite"
