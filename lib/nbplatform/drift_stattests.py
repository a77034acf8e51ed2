"""Column drift tests that reproduce Evidently 0.7.23's maths on precomputed statistics.

Each function takes what :mod:`nbplatform.drift_engine` keeps of a column (sorted
values for numeric columns, ``keys``/``counts`` for categorical ones) instead of
two raw series, so that the reference side is prepared once and reused. The
formulas are Evidently's (``evidently/legacy/calculations/stattests``):

* ``wasserstein``: ``scipy.stats.wasserstein_distance(ref, cur) / max(std(ref), 0.001)``,
  drifted when ``>= threshold`` (default 0.1).
* ``jensenshannon``: ``scipy.spatial.distance.jensenshannon`` of the binned shares,
  drifted when ``>= threshold`` (default 0.1).
* ``psi``: ``sum((r - c) * ln(r / c))`` of the binned shares with empty bins
  filled, drifted when ``>= threshold`` (default 0.1).
* ``ks``: two-sample Kolmogorov-Smirnov p-value, drifted when ``<= threshold`` (0.05).
* ``chisquare``: chi-square p-value of current counts against reference shares,
  drifted when ``< threshold`` (0.05).
* ``z``: two-proportion Z-test p-value, drifted when ``< threshold`` (0.05).

Binning (Evidently's ``get_binned_data``): a numeric column whose reference has
more than 20 distinct values gets ``numpy.histogram_bin_edges(ref ∪ cur,
"sturges")`` bins; otherwise one bin per distinct value of either side.
"""

from __future__ import annotations

import math
from typing import Any

DISTANCE_METHODS = ("wasserstein", "jensenshannon", "psi")
PVALUE_METHODS = ("ks", "chisquare", "z")
METHODS = DISTANCE_METHODS + PVALUE_METHODS
DEFAULT_THRESHOLDS = {
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
}
#: Methods Evidently allows per column type ("num" / "cat").
ALLOWED = {
    "wasserstein": ("num",),
    "ks": ("num",),
    "jensenshannon": ("num", "cat"),
    "psi": ("num", "cat"),
    "chisquare": ("cat",),
    "z": ("cat",),
}
#: Evidently's display names, as its reports name the methods.
DISPLAY_NAMES = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}
SMALL_SAMPLE = 1000  # reference rows at or under this: "small sample" tests


def default_method(kind: str, ref_rows: int, n_values: int) -> str:
    """Evidently's default test (``_get_default_stattest``).

    Args:
        kind: ``"num"`` or ``"cat"`` (Evidently's Numerical / Categorical).
        ref_rows: Rows of the reference column after NaN/inf are dropped.
        n_values: Distinct values of reference and current together.

    Returns:
        The method name.
    """
    if ref_rows <= SMALL_SAMPLE:
        if kind == "num" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "num" and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def drifted(method: str, statistic: float, threshold: float) -> bool:
    """Evidently's verdict for ``statistic`` under ``method`` and ``threshold``."""
    if method in DISTANCE_METHODS:
        return bool(statistic >= threshold)
    if method == "ks":
        return bool(statistic <= threshold)
    return bool(statistic < threshold)


def score(method: str, statistic: float, threshold: float) -> float:
    """Drift normalised so that values >= 1 mean drifted (see the drift contract)."""
    if method in DISTANCE_METHODS:
        return float(statistic) / threshold
    p = max(float(statistic), 1e-300)
    return -math.log10(p) / -math.log10(threshold)


def distinct(sorted_values: Any) -> tuple[Any, Any]:
    """Distinct values and their counts of a sorted array, in O(n)."""
    import numpy as np

    if sorted_values.size == 0:
        return sorted_values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    starts = np.concatenate(([0], starts))
    counts = np.diff(np.concatenate((starts, [sorted_values.size])))
    return sorted_values[starts], counts


def count_distinct(sorted_values: Any) -> int:
    """Number of distinct values of a sorted array."""
    import numpy as np

    if sorted_values.size == 0:
        return 0
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1


def wasserstein(ref_sorted: Any, cur_sorted: Any, ref_std: float) -> float:
    """Normed Wasserstein-1 distance from two sorted arrays (scipy's CDF formula)."""
    import numpy as np

    merged = np.concatenate((ref_sorted, cur_sorted))
    merged.sort(kind="stable")  # timsort: merges the two sorted runs in O(n)
    deltas = np.diff(merged)
    points = merged[:-1]
    u_cdf = np.searchsorted(ref_sorted, points, "right") / ref_sorted.size
    v_cdf = np.searchsorted(cur_sorted, points, "right") / cur_sorted.size
    distance = float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))
    return distance / max(float(ref_std), 0.001)


def _histogram(sorted_values: Any, edges: Any) -> Any:
    """``numpy.histogram(values, edges)[0]`` for sorted values (last bin closed)."""
    import numpy as np

    left = np.searchsorted(sorted_values, edges[:-1], "left")
    right = np.searchsorted(sorted_values, edges[-1:], "right")
    return np.diff(np.concatenate((left, right)))


def _sturges_edges(ref_sorted: Any, cur_sorted: Any) -> Any:
    """``numpy.histogram_bin_edges(concat(ref, cur), "sturges")`` from sorted sides."""
    import numpy as np

    size = ref_sorted.size + cur_sorted.size
    first = float(min(ref_sorted[0], cur_sorted[0]))
    last = float(max(ref_sorted[-1], cur_sorted[-1]))
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = (last - first) / (np.log2(size) + 1.0)
    bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, bins + 1, endpoint=True)


def binned_shares(ref: dict[str, Any], cur: dict[str, Any], kind: str, fill_zeroes: bool) -> Any:
    """Evidently's ``get_binned_data``: shares per bin of each side.

    Args:
        ref: The reference column statistics (``sorted`` or ``keys``/``counts``).
        cur: The current column statistics, same shape.
        kind: ``"num"`` or ``"cat"``.
        fill_zeroes: Replace empty bins by a small share (PSI does, JS does not).

    Returns:
        ``(reference_shares, current_shares)`` as float arrays.
    """
    import numpy as np

    if kind == "num" and ref["n_distinct"] > 20:
        edges = _sturges_edges(ref["sorted"], cur["sorted"])
        r = _histogram(ref["sorted"], edges) / ref["rows"]
        c = _histogram(cur["sorted"], edges) / cur["rows"]
    else:
        r_counts, c_counts = aligned_counts(ref, cur)
        r = r_counts / ref["rows"]
        c = c_counts / cur["rows"]
    if fill_zeroes:
        for shares in (r, c):
            low = shares[shares != 0].min()
            np.place(shares, shares == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return r, c


def aligned_counts(ref: dict[str, Any], cur: dict[str, Any]) -> tuple[Any, Any]:
    """Counts of both sides over the union of their distinct values (same order)."""
    import numpy as np

    r_map = dict(zip(ref["keys"], ref["counts"].tolist(), strict=True))
    c_map = dict(zip(cur["keys"], cur["counts"].tolist(), strict=True))
    keys = list(r_map) + [k for k in c_map if k not in r_map]
    r = np.array([r_map.get(k, 0) for k in keys], dtype=np.float64)
    c = np.array([c_map.get(k, 0) for k in keys], dtype=np.float64)
    return r, c


def union_keys(ref: dict[str, Any], cur: dict[str, Any]) -> list[Any]:
    """Distinct values of either side."""
    seen = dict.fromkeys(ref["keys"])
    seen.update(dict.fromkeys(cur["keys"]))
    return list(seen)


def run(method: str, ref: dict[str, Any], cur: dict[str, Any], kind: str) -> float:
    """The statistic of ``method`` on two prepared columns (Evidently's formula).

    Args:
        method: One of :data:`METHODS`.
        ref: Reference column statistics.
        cur: Current column statistics.
        kind: ``"num"`` or ``"cat"``.

    Returns:
        The distance or p-value.
    """
    import numpy as np

    if method == "wasserstein":
        return wasserstein(ref["sorted"], cur["sorted"], ref["std"])
    if method == "ks":
        from scipy.stats import ks_2samp

        return float(ks_2samp(ref["sorted"], cur["sorted"])[1])
    if method == "jensenshannon":
        from scipy.spatial import distance

        r, c = binned_shares(ref, cur, kind, False)
        return float(distance.jensenshannon(r, c))
    if method == "psi":
        r, c = binned_shares(ref, cur, kind, True)
        return float(np.sum((r - c) * np.log(r / c)))
    if method == "chisquare":
        from scipy.stats import chisquare

        r, c = aligned_counts(ref, cur)
        k_norm = cur["rows"] / ref["rows"]
        return float(chisquare(c.tolist(), (r * k_norm).tolist())[1])
    if method == "z":
        return _z_test(ref, cur)
    raise ValueError(method)


def _z_test(ref: dict[str, Any], cur: dict[str, Any]) -> float:
    from scipy.stats import norm

    if len(ref["keys"]) == 1 and len(cur["keys"]) == 1 and ref["keys"][0] == cur["keys"][0]:
        return 1.0
    first = sorted(union_keys(ref, cur))[0]
    n1, n2 = ref["rows"], cur["rows"]
    r_map = dict(zip(ref["keys"], ref["counts"].tolist(), strict=True))
    c_map = dict(zip(cur["keys"], cur["counts"].tolist(), strict=True))
    p1 = float(n1 - r_map.get(first, 0)) / n1
    p2 = float(n2 - c_map.get(first, 0)) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - norm.cdf(abs(z))))


def num_stats(sorted_values: Any, dtype: str) -> dict[str, Any]:
    """Statistics of a numeric column from its sorted finite values."""
    import numpy as np

    return {
        "dtype": dtype,
        "rows": int(sorted_values.size),
        "sorted": sorted_values,
        "std": float(np.std(sorted_values)) if sorted_values.size else 0.0,
        "n_distinct": count_distinct(sorted_values),
    }


def cat_stats(keys: list[Any], counts: Any, dtype: str) -> dict[str, Any]:
    """Statistics of a categorical column from its distinct values and their counts."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    return {"dtype": dtype, "rows": int(counts.sum()), "keys": list(keys), "counts": counts}


def dtype_family(series: Any) -> str | None:
    """``number``, ``bool``, ``category``, ``string`` or ``None`` (not testable)."""
    name = series.dtype.name
    if name.startswith(("float", "int")):
        return "number"
    if name == "bool":
        return "bool"
    if name == "category":
        return "category"
    if name in ("string", "str", "object"):
        return "string"
    return None


def column_stats(series: Any) -> dict[str, Any]:
    """Statistics of one column (NaN and ±inf dropped, as Evidently does)."""
    import numpy as np

    family = dtype_family(series)
    if family == "number":
        values = series.to_numpy()
        values = values[np.isfinite(values)] if values.dtype.kind == "f" else values.copy()
        values.sort()
        return num_stats(values, family)
    counts = series.value_counts(dropna=True, sort=False)
    keep = counts.to_numpy() > 0
    keys = counts.index.tolist()
    pairs = [
        (k, n)
        for k, n, ok in zip(keys, counts.to_numpy().tolist(), keep.tolist(), strict=True)
        if ok and not (isinstance(k, float) and np.isinf(k))  # Evidently drops ±inf too
    ]
    return cat_stats([k for k, _ in pairs], [n for _, n in pairs], family or "string")


def as_categorical(s: dict[str, Any]) -> dict[str, Any]:
    """A numeric column's statistics as distinct values and counts (int categoricals)."""
    if "keys" not in s:
        keys, counts = distinct(s["sorted"])
        s = {**s, "keys": keys.tolist(), "counts": counts}
    return s


INTEGER_CARDINALITY_LIMIT = 10


def infer_kind(series: Any) -> str | None:
    """Evidently's ``infer_column_type``: ``num``, ``cat``, ``text`` or ``None`` (skipped)."""
    name = series.dtype.name
    if name.startswith("float"):
        return "num"
    if name.startswith("int"):
        return "cat" if series.nunique() <= INTEGER_CARDINALITY_LIMIT else "num"
    if name in ("string", "str", "object"):
        without_na = series.dropna()
        if without_na.empty:
            return None
        if name == "object" and not (
            isinstance(without_na.iloc[0], str) and isinstance(without_na.iloc[-1], str)
        ):
            return None
        return "text" if series.nunique() > series.count() * 0.5 else "cat"
    if name in ("bool", "category"):
        return "cat"
    return None
