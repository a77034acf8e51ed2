"""The platform's Feast repository: its store reads the platform's config, whatever the env says."""

from __future__ import annotations

from nbplatform_features.repo import FeatureRepo
from nbplatform_features.settings import FeaturesSettings


def test_the_store_ignores_a_client_config_named_in_the_environment(tmp_path, monkeypatch):
    client = tmp_path / "client.yaml"
    client.write_text("project: elsewhere\nregistry: nowhere.db\nprovider: local\n")
    monkeypatch.setenv("FEAST_FS_YAML_FILE_PATH", str(client))  # as a platform kernel has it
    store = FeatureRepo(FeaturesSettings.from_env(tmp_path, {})).store
    assert store.config.project != "elsewhere"
    assert store.config.online_store.path == str(tmp_path / "features" / "online.db")
