"""Online lookups in the service: a real Feast repository with its SQLite online store."""

from __future__ import annotations

import json

import pytest
from online_support import apply_driver_stats

from nbplatform.errors import InvalidParameterError
from nbplatform_features.online import look_up
from nbplatform_features.repo import FeatureRepo
from nbplatform_features.settings import FeaturesSettings


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    repo = FeatureRepo(FeaturesSettings.from_env(home, {}))
    apply_driver_stats(repo)
    return repo


def by_name(answer: dict) -> dict:
    """Feast's answer by feature name (its order of features is its own)."""
    names = answer["metadata"]["feature_names"]
    assert len(names) == len(answer["results"])
    return dict(zip(names, answer["results"], strict=True))


def test_a_lookup_answers_in_feast_servers_shape(repo):
    answer = json.loads(
        look_up(repo, {"driver_id": [2, 1, 99]}, ["driver_stats:conv_rate", "driver_stats:trips"])
    )
    results = by_name(answer)
    assert sorted(results) == ["conv_rate", "driver_id", "trips"]
    assert results["driver_id"]["values"] == [2, 1, 99]
    assert results["conv_rate"]["values"] == [0.5, 0.25, None]
    assert results["trips"]["values"] == [4, 3, None]
    assert results["trips"]["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]


def test_a_feature_service_and_full_names(repo):
    answer = json.loads(
        look_up(repo, {"driver_id": [1]}, feature_service="driver_model", full_feature_names=True)
    )
    results = by_name(answer)
    assert sorted(results) == ["driver_id", "driver_stats__trips"]
    assert results["driver_stats__trips"]["values"] == [3]


@pytest.mark.parametrize(
    "values, said", [(["abc"], "'abc'"), ([10**30], "out of range")], ids=["text", "huge"]
)
def test_a_value_feast_cannot_read_as_the_keys_type_is_a_clear_error(repo, values, said):
    with pytest.raises(InvalidParameterError, match=said):
        look_up(repo, {"driver_id": values}, ["driver_stats:trips"])
