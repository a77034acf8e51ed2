"""Explanations: ``nbp.explain.explain`` vs SHAP's TreeExplainer called directly, same run.

``explain_tree``: a 100-tree, depth-8 ``RandomForestRegressor`` on ``--features``
(default 20) float features; ``--rows`` rows (default 2,000) explained
``--n`` times (default 5) each way, turns alternating: ``nbp.explain.explain(model, X,
max_rows=None)`` (which picks TreeExplainer, and returns an ``Explanation`` with
its DataFrame) and ``shap.TreeExplainer(model).shap_values(X)``, both from the
same fitted model and the same rows, both constructing the explainer each time
and both with SHAP's additivity check on (its default). The two answers must be
equal (``np.allclose``). The ratio is ours ÷ SHAP's in *rows per second* (median
of the runs), so higher is better: goal >= 0.9. ``peak_rss_mb`` is this
process's peak RSS (``getrusage``): the data, the model and both sides.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

GOAL = 0.9


def explain_tree(args: argparse.Namespace) -> dict[str, Any]:
    """Rows/s of our tree path vs SHAP's TreeExplainer on the same forest and rows."""
    import numpy as np
    import pandas as pd
    import shap
    from sklearn.ensemble import RandomForestRegressor

    from nbplatform import explain as nbx

    rng = np.random.default_rng(0)
    columns = [f"x{i}" for i in range(args.features)]
    train = pd.DataFrame(rng.normal(size=(args.train_rows, args.features)), columns=columns)
    weights = rng.normal(size=args.features)
    y = train.to_numpy() @ weights + np.sin(3 * train["x0"].to_numpy())
    t0 = time.perf_counter()
    model = RandomForestRegressor(
        n_estimators=100, max_depth=8, random_state=0, n_jobs=args.jobs
    ).fit(train, y)
    fit_s = time.perf_counter() - t0
    X = pd.DataFrame(rng.normal(size=(args.rows, args.features)), columns=columns)
    print(
        f"model: RandomForestRegressor(100 trees, depth 8) on {args.train_rows:,} rows x "
        f"{args.features} features ({fit_s:.1f} s to fit); explaining {args.rows:,} rows"
    )

    def ours() -> Any:
        return nbx.explain(model, X, max_rows=None)

    def theirs() -> Any:
        return shap.TreeExplainer(model).shap_values(X)

    ex, direct = ours(), theirs()  # warm-up, and the answers compared
    if ex.kind != "tree":
        raise AssertionError(f"nbp.explain chose {ex.kind}, not the tree path")
    if not np.allclose(ex.values, direct):
        raise AssertionError("nbp.explain's SHAP values differ from TreeExplainer's")
    print(f"answers: equal (np.allclose) on {ex.values.shape[0]:,} x {ex.values.shape[1]} values")
    ours_t, theirs_t = [], []
    for i in range(args.n):
        for fn, times in (
            ((ours, ours_t), (theirs, theirs_t))
            if i % 2 == 0
            else (
                (theirs, theirs_t),
                (ours, ours_t),
            )
        ):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    ours_rps = args.rows / statistics.median(ours_t)
    theirs_rps = args.rows / statistics.median(theirs_t)
    ratio = round(ours_rps / theirs_rps, 4)
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB
    print(
        f"nbp.explain.explain: {ours_rps:,.0f} rows/s (median of {args.n}: "
        f"{statistics.median(ours_t):.3f} s); shap.TreeExplainer(model).shap_values: "
        f"{theirs_rps:,.0f} rows/s ({statistics.median(theirs_t):.3f} s)"
    )
    print(f"explain_tree ratio ours/SHAP rows/s: {ratio} (goal >= {GOAL}); peak RSS {peak} MB")
    return {
        "name": "explain_tree",
        "ratio": ratio,
        "ratio_kind": "rows/s ours / SHAP's (higher is better)",
        "peak_rss_mb": peak,
        "ours": {**benchlib.summary(ours_t), "rows_per_s": round(ours_rps, 1)},
        "baseline": {**benchlib.summary(theirs_t), "rows_per_s": round(theirs_rps, 1)},
        "rows": args.rows,
        "features": args.features,
        "runs": args.n,
        "goal": {"ratio_min": GOAL},
        "met": ratio >= GOAL,
    }


BENCHES = [explain_tree]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print their JSON lines (the last one last)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained")
    parser.add_argument("--features", type=int, default=20, help="features")
    parser.add_argument("--train-rows", type=int, default=5000, help="training rows")
    parser.add_argument("--n", type=int, default=5, help="timed runs of each side")
    parser.add_argument("--jobs", type=int, default=None, help="n_jobs of the forest's fit")
    parser.add_argument("--only", choices=[b.__name__ for b in BENCHES], help="run one benchmark")
    args = parser.parse_args(argv)
    wall0 = time.perf_counter()
    for bench in BENCHES:
        if args.only and bench.__name__ != args.only:
            continue
        result = bench(args)
        result["wall_s"] = round(time.perf_counter() - wall0, 1)
        benchlib.emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
