"""Evidently's own data-drift verdicts and its HTML report, for the same inputs as ours.

:func:`evidently_result` runs Evidently's ``Report(DataDriftPreset)`` with the
same column choice, per-column tests and drift share as
:func:`nbplatform.drift_engine.evaluate` and reads its verdicts back as a
:class:`~nbplatform.drift_engine.DriftResult`: the parity tests and the bench
compare the two. :func:`report_html` is the standalone report a drift check
stores next to its verdicts. Evidently loads here, on first use only.
"""

from __future__ import annotations

from typing import Any

from nbplatform import drift_stattests as st
from nbplatform.drift_engine import (
    DriftResult,
    _check_columns,
    _current_columns,
    _normalise_tests,
    _sample_frame,
    _share_check,
)
from nbplatform.errors import InvalidParameterError


def _evidently_report(
    columns: list[str] | None, tests: dict[str, Any] | None, drift_share: float
) -> Any:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    norm = _normalise_tests(tests)
    methods = {c: t.method for c, t in norm.items() if t.method is not None}
    thresholds = {c: float(t.threshold) for c, t in norm.items() if t.threshold is not None}
    preset = DataDriftPreset(
        columns=columns,
        drift_share=drift_share,
        per_column_method=methods or None,
        per_column_threshold=thresholds or None,
    )
    return Report([preset], include_tests=True)


def evidently_result(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    tests: dict[str, Any] | None = None,
    drift_share: float = 0.5,
) -> DriftResult:
    """Evidently's own ``Report(DataDriftPreset)`` verdicts, as a :class:`DriftResult`.

    Per-column overrides go through the preset's ``per_column_method`` and
    ``per_column_threshold``. Used by the parity tests and the bench.
    """
    import numpy as np

    threshold_share = _share_check(drift_share)
    snapshot = _evidently_report(columns, tests, threshold_share).run(current, reference)
    results = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        name = config["column"]
        method = st.DISPLAY_NAMES.get(config["method"], config["method"])
        tests_ = snapshot.metric_results[metric["id"]].tests
        is_drift = bool(tests_) and tests_[0].status.value == "FAIL"
        statistic, threshold = float(metric["value"]), float(config["threshold"])
        kind = "num" if method in ("wasserstein", "ks") else None
        if kind is None:
            sides = (reference[name], current[name])
            clean = [x.replace([np.inf, -np.inf], np.nan).dropna().unique() for x in sides]
            n_values = len(set(clean[0]) | set(clean[1]))
            inferred = st.infer_kind(current[name])
            kind = "num" if inferred == "num" else ("bin" if n_values <= 2 else "cat")
        results.append(
            {
                "column": name,
                "type": kind,
                "method": method,
                "statistic": statistic,
                "threshold": threshold,
                "drifted": is_drift,
                "score": st.score(method, statistic, threshold),
            }
        )
    share = sum(r["drifted"] for r in results) / len(results) if results else 0.0
    return DriftResult(
        columns=results,
        dataset_drift=bool(results) and share >= threshold_share,
        drift_share=share,
        threshold_share=threshold_share,
        reference_rows=len(reference),
        current_rows=len(current),
    )


def report_html(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    tests: dict[str, Any] | None = None,
    drift_share: float = 0.5,
    sample_rows: int = 100_000,
    seed: int = 0,
) -> str:
    """Evidently's standalone HTML drift report (JavaScript inline, no network needed).

    Each side larger than ``sample_rows`` is replaced by a seeded random sample of
    ``sample_rows`` rows first, so the report is cheap on big data; its figures are
    then those of the sample. The verdicts a check stores come from
    :func:`evaluate` on all rows, not from this report.
    """
    threshold_share = _share_check(drift_share)
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1:
        raise InvalidParameterError(f"sample_rows must be a positive integer, not {sample_rows!r}")
    names = columns if columns is not None else [n for n, _ in _current_columns(current, None)]
    _check_columns(reference, names, "reference")
    ref = _sample_frame(reference, names, sample_rows, seed)
    cur = _sample_frame(current, names, sample_rows, seed + 1)
    snapshot = _evidently_report(columns, tests, threshold_share).run(cur, ref)
    return snapshot.get_html_str(as_iframe=False)
