"""Data drift: ``nbplatform.drift_engine`` vs Evidently's ``DataDriftPreset``, same run.

``drift_1m``: reference and current frames of ``--rows`` rows each (default
1,000,000) × 20 columns (14 float, 5 of them shifted in the current frame; 4
string categoricals, one shifted; 2 binary int columns, one shifted), made from
a fixed seed. Each side runs in a fresh Python process of its own, so that its
peak RSS (``getrusage`` at its end) is its own:

* ours: ``evaluate(reference, current)`` with the reference statistics computed
  from scratch (cache cleared), plus ``report_html(reference, current)`` with its
  default sample (100,000 rows per side); the time of ``evaluate`` with the
  statistics reused is printed too.
* Evidently: ``Report([DataDriftPreset()], include_tests=True).run(current,
  reference)`` on the full frames (the tests give the per-column verdicts).

The verdicts (method and drifted, per column, and the dataset verdict) must be
identical. Goals: ratio (ours ÷ Evidently) ≤ 0.3, our peak RSS ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

sys.path.insert(0, str(benchlib.REPO / "lib"))

GOAL_RATIO = 0.3
GOAL_RSS_MB = 1024


def make_frames(rows: int, seed: int = 0) -> tuple[Any, Any]:
    """The reference and current frames (20 columns, some shifted in current)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"], dtype=object)

    def frame(shifted: bool) -> Any:
        cols: dict[str, Any] = {}
        for i in range(14):
            shift = 0.3 if shifted and i < 5 else 0.0
            if i % 3 == 0:
                cols[f"num{i}"] = rng.normal(shift, 1.0, rows)
            elif i % 3 == 1:
                cols[f"num{i}"] = rng.exponential(1.0 + shift, rows)
            else:
                cols[f"num{i}"] = rng.uniform(0, 10 + 10 * shift, rows)
        for i in range(4):
            p = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
            if shifted and i == 0:
                p = p[::-1]
            cols[f"cat{i}"] = words[rng.choice(6, rows, p=p)]
        for i in range(2):
            share = 0.5 if shifted and i == 0 else 0.3
            cols[f"bin{i}"] = (rng.random(rows) < share).astype(np.int64)
        return pd.DataFrame(cols)

    return frame(False), frame(True)


def _verdicts(result: Any) -> dict[str, Any]:
    return {
        "dataset_drift": result.dataset_drift,
        "columns": {c["column"]: [c["method"], c["drifted"]] for c in result.columns},
    }


def child_ours(rows: int) -> dict[str, Any]:
    """Our side: evaluate (statistics from scratch), evaluate (reused), report_html."""
    from nbplatform import drift_engine as de
    from nbplatform.drift_evidently import report_html

    ref, cur = make_frames(rows)
    de.clear_cache()
    started = time.perf_counter()
    result = de.evaluate(ref, cur)
    t_eval = time.perf_counter() - started
    started = time.perf_counter()
    stats = de.reference_statistics(ref, result_columns(result))  # a cache hit: hashing only
    t_lookup = time.perf_counter() - started
    started = time.perf_counter()
    de.evaluate(stats, cur)
    t_reused = time.perf_counter() - started
    started = time.perf_counter()
    html = report_html(ref, cur)
    t_report = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "t_evaluate": t_eval,
        "t_reused": t_reused,
        "t_lookup": t_lookup,
        "t_report": t_report,
        "html_bytes": len(html),
        "peak_rss_mb": peak,
        "verdicts": _verdicts(result),
        "cache": de.cache_info(),
    }


def result_columns(result: Any) -> list[str]:
    """The columns a result tested, in order."""
    return [c["column"] for c in result.columns]


def child_evidently(rows: int) -> dict[str, Any]:
    """Evidently's side: its DataDriftPreset report on the full frames."""
    from nbplatform.drift_evidently import evidently_result

    ref, cur = make_frames(rows)
    started = time.perf_counter()
    result = evidently_result(ref, cur)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"t_run": elapsed, "peak_rss_mb": peak, "verdicts": _verdicts(result)}


def _run_child(side: str, rows: int, timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", side, "--rows", str(rows)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{side} side failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run both sides, compare verdicts, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per side")
    parser.add_argument("--child", choices=["ours", "evidently"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child_ours if args.child == "ours" else child_evidently
        print(json.dumps(run(args.rows)))
        return

    ours = _run_child("ours", args.rows, args.timeout)
    print(
        f"ours: evaluate {ours['t_evaluate']:.2f}s (statistics from scratch), "
        f"{ours['t_reused']:.2f}s with statistics reused (cache lookup by fingerprint "
        f"{ours['t_lookup']:.2f}s); report_html {ours['t_report']:.2f}s "
        f"({ours['html_bytes'] / 1e6:.1f} MB); peak RSS {ours['peak_rss_mb']:.0f} MB"
    )
    theirs = _run_child("evidently", args.rows, args.timeout)
    print(
        f"evidently: Report(DataDriftPreset).run {theirs['t_run']:.2f}s; "
        f"peak RSS {theirs['peak_rss_mb']:.0f} MB"
    )
    same = ours["verdicts"] == theirs["verdicts"]
    print(f"verdicts identical: {same}; dataset drift: {ours['verdicts']['dataset_drift']}")
    ours_s = ours["t_evaluate"] + ours["t_report"]
    ratio = ours_s / theirs["t_run"]
    peak = ours["peak_rss_mb"]
    met = same and ratio <= GOAL_RATIO and peak <= GOAL_RSS_MB
    benchlib.emit(
        {
            "name": "drift_1m",
            "rows": args.rows,
            "columns": 20,
            "ours_s": round(ours_s, 3),
            "ours_evaluate_s": round(ours["t_evaluate"], 3),
            "ours_evaluate_reused_s": round(ours["t_reused"], 3),
            "ours_cache_lookup_s": round(ours["t_lookup"], 3),
            "ours_report_s": round(ours["t_report"], 3),
            "evidently_s": round(theirs["t_run"], 3),
            "ratio": round(ratio, 4),
            "peak_rss_mb": round(peak, 1),
            "evidently_peak_rss_mb": round(theirs["peak_rss_mb"], 1),
            "verdicts_identical": same,
            "goal": {"ratio": GOAL_RATIO, "peak_rss_mb": GOAL_RSS_MB},
            "met": met,
        }
    )
    if not same:
        print(
            json.dumps({"ours": ours["verdicts"], "evidently": theirs["verdicts"]}), file=sys.stderr
        )
        raise SystemExit("verdicts differ")


if __name__ == "__main__":
    main()
