"""Ranking columns by drift weighted with importance."""

from __future__ import annotations

import pytest
from drift_support import column

from nbplatform_drift.ranking import importance_shares, rank, top_columns


def test_weighted_drift_is_the_score_times_the_importance_share():
    columns = [column("a", True, 4.0), column("b", True, 1.0), column("c", False, 0.5)]
    ranked = rank(columns, {"a": 1.0, "b": 3.0, "c": 0.0})
    assert [(c["column"], c["weighted"], c["importance"]) for c in ranked] == [
        ("a", pytest.approx(1.0), pytest.approx(0.25)),
        ("b", pytest.approx(0.75), pytest.approx(0.75)),
        ("c", 0.0, 0.0),
    ]
    assert ranked[0]["score"] == 4.0 and ranked[0]["method"] == "wasserstein"


def test_without_importance_the_score_is_the_weight():
    columns = [column("a", False, 0.5), column("b", True, 2.0)]
    for importance in (None, {}, {"a": 0.0, "b": 0.0}):
        ranked = rank(columns, importance)
        assert [(c["column"], c["weighted"], c["importance"]) for c in ranked] == [
            ("b", 2.0, None),
            ("a", 0.5, None),
        ]


def test_a_column_the_importance_does_not_name_weighs_nothing_and_ties_keep_scores():
    columns = [column("x", True, 9.0), column("y", True, 2.0), column("z", True, 3.0)]
    ranked = rank(columns, {"q": 1.0})
    assert [c["column"] for c in ranked] == ["x", "z", "y"]  # all 0: by score
    assert all(c["weighted"] == 0 and c["importance"] == 0 for c in ranked)


def test_shares_and_top_columns():
    assert importance_shares({"a": 1, "b": 3}) == {"a": 0.25, "b": 0.75}
    assert importance_shares(None) is None
    columns = [column("a", False, 5.0), column("b", True, 1.0), column("c", True, 2.0)]
    assert [c["column"] for c in top_columns(columns, None, 2)] == ["a", "c"]
    assert [c["column"] for c in top_columns(columns, None, 5, drifted_only=True)] == ["c", "b"]
