"""Fast data-drift verdicts that match Evidently 0.7.23's ``DataDriftPreset``.

Column types and default tests are chosen exactly as Evidently chooses them:

* type (inferred from the *current* frame, as Evidently's ``Dataset.from_pandas``):
  float -> numeric; int -> categorical when it has at most 10 distinct values,
  else numeric; bool / category -> categorical; strings -> categorical (free
  text, more than half the values distinct, is refused); other dtypes are skipped.
* test (NaN and ±inf dropped first): reference of at most 1000 rows: numeric
  with more than 5 distinct values (both sides together) -> ``ks``; otherwise
  ``chisquare`` (more than 2 values) or ``z`` (binary). Larger reference:
  numeric with more than 5 distinct values -> ``wasserstein`` (normed by the
  reference std); otherwise ``jensenshannon``.
* dataset drift when the share of drifted columns is ``>= drift_share``.

The maths is in :mod:`nbplatform.drift_stattests`. What each test needs of the
reference (sorted values, category counts) is computed once by
:func:`reference_statistics`, cached in-process by fingerprint and savable
with :meth:`ReferenceStatistics.save` (``numpy.savez``, no pickle). Evidently's
own verdicts and HTML report for the same inputs are in :mod:`nbplatform.drift_evidently`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nbplatform import drift_stattests as st
from nbplatform.errors import InvalidParameterError

_CACHE_SIZE = 8
_cache: OrderedDict[str, ReferenceStatistics] = OrderedDict()
_cache_lock = threading.Lock()
_cache_stats = {"hits": 0, "misses": 0, "disk_hits": 0}


class SchemaMismatchError(InvalidParameterError):
    """Reference and current frames do not have the columns or types asked for."""


@dataclass
class ColumnTest:
    """A per-column override of the drift test.

    Args:
        method: One of ``wasserstein``, ``jensenshannon``, ``psi``, ``ks``,
            ``chisquare``, ``z`` (``None``: Evidently's default for the column).
        threshold: The method's threshold (``None``: the method's default).
    """

    method: str | None = None
    threshold: float | None = None


@dataclass
class DriftResult:
    """The verdicts of one drift check (the ``CheckCreate`` fields it fills)."""

    columns: list[dict[str, Any]]
    dataset_drift: bool
    drift_share: float
    threshold_share: float
    reference_rows: int
    current_rows: int
    sampled_rows: int | None = None

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns that drifted."""
        return [c["column"] for c in self.columns if c["drifted"]]

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "columns": [dict(c) for c in self.columns],
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "threshold_share": self.threshold_share,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "sampled_rows": self.sampled_rows,
        }

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(c['column'])}</td><td>{c['type']}</td><td>{c['method']}</td>"
            f"<td>{c['statistic']:.4g}</td><td>{c['threshold']:g}</td>"
            f"<td>{'yes' if c['drifted'] else 'no'}</td></tr>"
            for c in sorted(self.columns, key=lambda c: -c["score"])
        )
        head = (
            f"<p>Dataset drift: <b>{'yes' if self.dataset_drift else 'no'}</b> "
            f"({self.drift_share:.0%} of columns drifted, threshold {self.threshold_share:.0%})</p>"
        )
        return (
            head + "<table><tr><th>column</th><th>type</th><th>method</th><th>statistic</th>"
            "<th>threshold</th><th>drifted</th></tr>" + rows + "</table>"
        )


@dataclass
class ReferenceStatistics:
    """What the drift tests need of a reference frame, computed once.

    Attributes:
        fingerprint: sha256 (hex) of the reference data, the columns and the tests.
        columns: The columns prepared, in frame order.
        rows: Rows of the reference frame.
        stats: Per column: ``dtype`` (``number``/``bool``/``string``/``category``),
            ``rows`` (after NaN/inf dropped), and ``sorted`` + ``std`` (numbers) or
            ``keys`` + ``counts`` (others).
    """

    fingerprint: str
    columns: list[str]
    rows: int
    stats: dict[str, dict[str, Any]] = field(repr=False)

    def save(self, path: str) -> None:
        """Write the statistics to ``path`` with ``numpy.savez`` (no pickle)."""
        import numpy as np

        meta = {"fingerprint": self.fingerprint, "columns": self.columns, "rows": self.rows}
        arrays: dict[str, Any] = {}
        for i, name in enumerate(self.columns):
            s = self.stats[name]
            meta.setdefault("dtypes", []).append(s["dtype"])
            if "sorted" in s:
                arrays[f"c{i}_sorted"] = s["sorted"]
            else:
                keys = np.asarray(s["keys"])
                if keys.dtype == object:
                    raise InvalidParameterError(
                        f"column {name!r} has values of mixed types; it cannot be saved"
                    )
                arrays[f"c{i}_keys"] = keys
                arrays[f"c{i}_counts"] = s["counts"]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str) -> ReferenceStatistics:
        """Read statistics written by :meth:`save`."""
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            stats = {}
            for i, name in enumerate(meta["columns"]):
                dtype = meta["dtypes"][i]
                if f"c{i}_sorted" in data:
                    stats[name] = st.num_stats(data[f"c{i}_sorted"], dtype)
                else:
                    stats[name] = st.cat_stats(
                        data[f"c{i}_keys"].tolist(), data[f"c{i}_counts"], dtype
                    )
        return cls(meta["fingerprint"], meta["columns"], int(meta["rows"]), stats)


def _normalise_tests(tests: dict[str, Any] | None) -> dict[str, ColumnTest]:
    out: dict[str, ColumnTest] = {}
    for column, test in (tests or {}).items():
        if isinstance(test, dict):
            unknown = set(test) - {"method", "threshold"}
            if unknown:
                raise InvalidParameterError(
                    f"tests[{column!r}]: unknown keys {sorted(unknown)}; use method and threshold"
                )
            test = ColumnTest(test.get("method"), test.get("threshold"))
        if not isinstance(test, ColumnTest):
            raise InvalidParameterError(f"tests[{column!r}] must be a ColumnTest or a dict")
        if test.method is not None and test.method not in st.METHODS:
            raise InvalidParameterError(
                f"tests[{column!r}]: unknown method {test.method!r}; use one of {list(st.METHODS)}"
            )
        if test.threshold is not None:
            t = test.threshold
            if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < float("inf"):
                raise InvalidParameterError(
                    f"tests[{column!r}]: threshold must be a positive number, not {t!r}"
                )
            if test.method in st.PVALUE_METHODS and t >= 1:
                raise InvalidParameterError(
                    f"tests[{column!r}]: a p-value threshold must be between 0 and 1, not {t!r}"
                )
        out[column] = test
    return out


def _fingerprint(frame: Any, columns: list[str], tests: dict[str, ColumnTest]) -> str:
    import numpy as np
    import pandas as pd

    digest = hashlib.sha256()
    spec = {"columns": columns, "tests": {k: [v.method, v.threshold] for k, v in tests.items()}}
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    digest.update(str(len(frame)).encode())
    for name in columns:
        series = frame[name]
        digest.update(f"\0{name}\0{series.dtype}\0".encode())
        if series.dtype.kind in "biuf":
            digest.update(np.ascontiguousarray(series.to_numpy()).data)
        else:
            digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy().data)
    return digest.hexdigest()


def _check_columns(frame: Any, columns: list[str] | None, side: str) -> list[str]:
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SchemaMismatchError(f"columns missing in the {side} frame: {missing}")
    return list(columns) if columns is not None else [str(c) for c in frame.columns]


def _workers(workers: int | None, n: int) -> int:
    import os

    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InvalidParameterError(f"workers must be a positive integer, not {workers!r}")
    return max(1, min(n, workers or os.cpu_count() or 1))


def reference_statistics(
    reference: Any,
    columns: list[str] | None = None,
    tests: dict[str, Any] | None = None,
    *,
    workers: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ReferenceStatistics:
    """Prepare a reference frame for :func:`evaluate`, once (cached by fingerprint).

    Cached in this process and, with ``cache_dir``, on disk as
    ``<cache_dir>/<fingerprint>.npz``, so that the next process checking the same
    reference (a scheduled check is a new job run each time) only hashes it.

    Args:
        reference: The reference ``pandas.DataFrame``.
        columns: Columns to prepare (default: every numeric, bool, string or
            category column).
        tests: Per-column overrides (part of the fingerprint).
        workers: Threads (default: the CPU count).
        cache_dir: A folder to keep statistics in across processes.

    Returns:
        The statistics; the same object again for the same data, columns and tests.

    Raises:
        SchemaMismatchError: A named column is missing.
        InvalidParameterError: A test override is invalid.
    """
    norm_tests = _normalise_tests(tests)
    names = _check_columns(reference, columns, "reference")
    if columns is None:
        names = [c for c in names if st.dtype_family(reference[c]) is not None]
    key = _fingerprint(reference, names, norm_tests)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            _cache_stats["hits"] += 1
            return _cache[key]
        _cache_stats["misses"] += 1
    stored = _load_cached(cache_dir, key)
    if stored is not None:
        with _cache_lock:
            _cache_stats["disk_hits"] += 1
            _cache[key] = stored
        return stored
    for name in names:
        if st.dtype_family(reference[name]) is None:
            raise SchemaMismatchError(
                f"column {name!r} has dtype {reference[name].dtype}, which drift tests cannot use"
            )
    with ThreadPoolExecutor(_workers(workers, len(names))) as pool:
        computed = list(pool.map(lambda c: st.column_stats(reference[c]), names))
    stats = ReferenceStatistics(key, names, len(reference), dict(zip(names, computed, strict=True)))
    with _cache_lock:
        _cache[key] = stats
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _store_cached(cache_dir, stats)
    return stats


def _load_cached(cache_dir: str | os.PathLike[str] | None, key: str) -> ReferenceStatistics | None:
    """The statistics kept in ``cache_dir`` under ``key``, or ``None`` (absent, unreadable)."""
    if cache_dir is None:
        return None
    path = os.path.join(cache_dir, f"{key}.npz")
    try:
        stats = ReferenceStatistics.load(path)
    except (OSError, ValueError, KeyError):
        return None
    return stats if stats.fingerprint == key else None


def _store_cached(cache_dir: str | os.PathLike[str] | None, stats: ReferenceStatistics) -> None:
    """Keep ``stats`` in ``cache_dir`` (written whole, then renamed); problems are skipped."""
    if cache_dir is None:
        return
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        final = os.path.join(cache_dir, f"{stats.fingerprint}.npz")
        partial = f"{final}.{os.getpid()}.partial.npz"
        stats.save(partial)
        os.replace(partial, final)
    except (OSError, InvalidParameterError):  # a full disk, mixed-type categories
        pass


def cache_info() -> dict[str, int]:
    """Hits, misses (then ``disk_hits``) and size of the reference-statistics cache."""
    with _cache_lock:
        return {**_cache_stats, "size": len(_cache)}


def clear_cache() -> None:
    """Empty the reference-statistics cache (and reset its counters)."""
    with _cache_lock:
        _cache.clear()
        _cache_stats.update(hits=0, misses=0, disk_hits=0)


def _sample_frame(frame: Any, columns: list[str], n: int, seed: int) -> Any:
    """``n`` random rows (seeded, original order) of ``columns`` only; no copy when smaller."""
    import numpy as np

    if len(frame) <= n:
        return frame
    import pandas as pd

    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
    return pd.DataFrame({c: frame[c].iloc[rows].reset_index(drop=True) for c in columns})


def _current_columns(current: Any, columns: list[str] | None) -> list[tuple[str, str]]:
    names = _check_columns(current, columns, "current")
    out = []
    for name in names:
        kind = st.infer_kind(current[name])
        if kind == "text":
            raise InvalidParameterError(
                f"column {name!r} looks like free text (more than half its values are distinct); "
                "exclude it or cast it to the 'category' dtype"
            )
        if kind is None:
            if columns is not None:
                raise InvalidParameterError(
                    f"column {name!r} has dtype {current[name].dtype}, which drift tests cannot use"
                )
            continue
        out.append((name, kind))
    return out


def _check_schema(ref: ReferenceStatistics, current: Any, cols: list[tuple[str, str]]) -> None:
    missing = [name for name, _ in cols if name not in ref.stats]
    bad = []
    for name, kind in cols:
        if name in ref.stats:
            r, c = ref.stats[name]["dtype"], st.dtype_family(current[name])
            if (r == "number") != (c == "number") and (kind == "num" or "string" in (r, c)):
                bad.append(f"{name!r} (reference {r}, current {current[name].dtype})")
    if missing or bad:
        parts = []
        if missing:
            parts.append(f"columns missing in the reference: {missing}")
        if bad:
            parts.append("incompatible types: " + ", ".join(bad))
        raise SchemaMismatchError("; ".join(parts))


def _one_column(name: str, kind: str, ref: dict[str, Any], series: Any, test: ColumnTest) -> dict:
    cur = st.column_stats(series)
    if ref["rows"] == 0 or cur["rows"] == 0:
        side = "reference" if ref["rows"] == 0 else "current"
        raise InvalidParameterError(f"column {name!r} is empty in the {side} frame")
    if kind == "cat":
        ref, cur = st.as_categorical(ref), st.as_categorical(cur)
        n_values = len(st.union_keys(ref, cur))
    elif ref["n_distinct"] > 5 or cur["n_distinct"] > 5:
        n_values = 6
    else:
        ref, cur = st.as_categorical(ref), st.as_categorical(cur)
        n_values = len(st.union_keys(ref, cur))
    method = test.method or st.default_method(kind, ref["rows"], n_values)
    if test.method is not None and kind not in st.ALLOWED[method]:
        what = "numeric" if kind == "num" else "categorical"
        raise InvalidParameterError(f"tests[{name!r}]: {method} does not apply to {what} columns")
    if method in ("chisquare", "z") or (
        method in ("jensenshannon", "psi") and (kind == "cat" or ref["n_distinct"] <= 20)
    ):
        ref, cur = st.as_categorical(ref), st.as_categorical(cur)
    threshold = float(
        test.threshold if test.threshold is not None else st.DEFAULT_THRESHOLDS[method]
    )
    if method in st.PVALUE_METHODS and not 0 < threshold < 1:
        raise InvalidParameterError(f"tests[{name!r}]: a p-value threshold must be between 0 and 1")
    statistic = st.run(method, ref, cur, kind)
    return {
        "column": name,
        "type": "num" if kind == "num" else ("bin" if n_values <= 2 else "cat"),
        "method": method,
        "statistic": float(statistic),
        "threshold": threshold,
        "drifted": st.drifted(method, statistic, threshold),
        "score": st.score(method, statistic, threshold),
    }


def _share_check(drift_share: float) -> float:
    if isinstance(drift_share, bool) or not isinstance(drift_share, int | float):
        raise InvalidParameterError("drift_share must be a number between 0 and 1")
    if not 0 <= drift_share <= 1:
        raise InvalidParameterError(f"drift_share must be between 0 and 1, not {drift_share}")
    return float(drift_share)


def evaluate(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    tests: dict[str, Any] | None = None,
    drift_share: float = 0.5,
    sample: int | None = None,
    workers: int | None = None,
    seed: int = 0,
) -> DriftResult:
    """Drift verdicts per column and for the dataset, as Evidently's ``DataDriftPreset``.

    Args:
        reference: The reference ``DataFrame``, or :class:`ReferenceStatistics`.
        current: The current ``DataFrame``.
        columns: Columns to test (default: those of ``current`` Evidently would test).
        tests: Per-column overrides: column -> :class:`ColumnTest` or
            ``{"method", "threshold"}``.
        drift_share: Dataset drift when at least this share of columns drifted.
        sample: Test on ``sample`` random rows (seeded by ``seed``) of each side
            larger than that; a :class:`ReferenceStatistics` reference is used whole.
        workers: Threads for the columns (default: the CPU count).
        seed: Seed of the sampling.

    Returns:
        The verdicts.

    Raises:
        SchemaMismatchError: Columns missing on a side, or incompatible types.
        InvalidParameterError: Bad overrides, thresholds, ``sample`` or ``drift_share``.
    """
    threshold_share = _share_check(drift_share)
    norm_tests = _normalise_tests(tests)
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, int) or sample < 1
    ):
        raise InvalidParameterError(f"sample must be a positive integer, not {sample!r}")
    cols = _current_columns(current, columns)
    names = [n for n, _ in cols]
    unknown = sorted(set(norm_tests) - set(names))
    if unknown:
        raise InvalidParameterError(f"tests name columns that are not tested: {unknown}")
    sampled = None
    if isinstance(reference, ReferenceStatistics):
        ref_stats = reference
    else:
        missing = [n for n in names if n not in reference.columns]
        if missing:
            raise SchemaMismatchError(f"columns missing in the reference: {missing}")
        if sample is not None and len(reference) > sample:
            reference = _sample_frame(reference, names, sample, seed)
            sampled = sample
        ref_stats = reference_statistics(reference, names, tests, workers=workers)
    _check_schema(ref_stats, current, cols)
    current_rows = len(current)
    if sample is not None and len(current) > sample:
        current = _sample_frame(current, names, sample, seed + 1)
        sampled = sample
    with ThreadPoolExecutor(_workers(workers, len(cols))) as pool:
        results = list(
            pool.map(
                lambda nk: _one_column(
                    nk[0],
                    nk[1],
                    ref_stats.stats[nk[0]],
                    current[nk[0]],
                    norm_tests.get(nk[0], ColumnTest()),
                ),
                cols,
            )
        )
    n_drifted = sum(r["drifted"] for r in results)
    share = n_drifted / len(results) if results else 0.0
    return DriftResult(
        columns=results,
        dataset_drift=bool(results) and share >= threshold_share,
        drift_share=share,
        threshold_share=threshold_share,
        reference_rows=ref_stats.rows,
        current_rows=current_rows,
        sampled_rows=sampled,
    )
