"""Columns of a check ranked by drift weighted with the model's importance.

A column's ``score`` is its drift normalised so that 1 is the threshold (the
library computes it). With the SHAP importance of the model's features, each
column's ``weighted`` drift is ``score × importance / Σ importance``: a drifted
column the model hardly uses ranks below a slightly drifted one it relies on.
Without importance, ``weighted`` is the score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def importance_shares(importance: Mapping[str, float] | None) -> dict[str, float] | None:
    """Each feature's share of the total importance (``None`` without importance or total).

    Args:
        importance: Mean absolute SHAP value by feature (non-negative).

    Returns:
        ``{feature: importance / sum}``, or ``None`` when there is nothing to share.
    """
    if not importance:
        return None
    total = sum(importance.values())
    if total <= 0:
        return None
    return {name: value / total for name, value in importance.items()}


def rank(
    columns: Sequence[Mapping[str, Any]], importance: Mapping[str, float] | None
) -> list[dict[str, Any]]:
    """The columns with ``importance`` (share, or ``None``) and ``weighted``, highest first.

    A column the importance does not name weighs 0 when the check has
    importance. Ties keep the order of drift scores, then of names.

    Args:
        columns: Column results (``column``, ``score``...).
        importance: The check's importance by feature, or ``None``.

    Returns:
        New dicts, ranked by ``weighted`` descending.
    """
    shares = importance_shares(importance)
    ranked = []
    for column in columns:
        score = float(column["score"])
        if shares is None:
            share, weighted = None, score
        else:
            share = shares.get(column["column"], 0.0)
            weighted = score * share
        ranked.append({**column, "importance": share, "weighted": weighted})
    ranked.sort(key=lambda c: (-c["weighted"], -float(c["score"]), c["column"]))
    return ranked


def top_columns(
    columns: Sequence[Mapping[str, Any]],
    importance: Mapping[str, float] | None,
    limit: int,
    drifted_only: bool = False,
) -> list[dict[str, Any]]:
    """The ``limit`` highest-ranked columns (only drifted ones with ``drifted_only``)."""
    ranked = rank(columns, importance)
    if drifted_only:
        ranked = [c for c in ranked if c.get("drifted")]
    return ranked[:limit]
