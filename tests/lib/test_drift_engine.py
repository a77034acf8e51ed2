"""nbplatform.drift_engine: parity with Evidently's DataDriftPreset, overrides, caching."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nbplatform import drift_engine as de
from nbplatform.drift_evidently import evidently_result
from nbplatform.errors import InvalidParameterError

WORDS = np.array(["a", "b", "c", "d"], dtype=object)


def make(n: int, shift: float, seed: int) -> pd.DataFrame:
    """A frame with numeric, few-valued numeric, int, categorical and binary columns."""
    rng = np.random.default_rng(seed)
    p = [0.4, 0.3, 0.2, 0.1] if not shift else [0.25, 0.25, 0.25, 0.25]
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "e": rng.exponential(1 + shift, n),
            "few": rng.integers(0, 4, n).astype(float),
            "i": rng.integers(0, 50, n),
            "ic": rng.integers(0, 5, n),
            "c": rng.choice(WORDS, n, p=p),
            "b": rng.random(n) < (0.3 + 0.2 * shift),
            "bs": rng.choice(np.array(["y", "n"], dtype=object), n),
            "tri": rng.choice(np.array(["p", "q", "r"], dtype=object), n),
        }
    )


def assert_parity(ours: de.DriftResult, theirs: de.DriftResult) -> None:
    by_name = {c["column"]: c for c in theirs.columns}
    assert set(by_name) == {c["column"] for c in ours.columns}
    for col in ours.columns:
        ref = by_name[col["column"]]
        assert (col["method"], col["drifted"], col["type"], col["threshold"]) == (
            ref["method"],
            ref["drifted"],
            ref["type"],
            ref["threshold"],
        ), col["column"]
        assert col["statistic"] == pytest.approx(ref["statistic"], rel=1e-6, abs=1e-300)
    assert ours.dataset_drift == theirs.dataset_drift
    assert ours.drift_share == pytest.approx(theirs.drift_share)


@pytest.mark.parametrize("n", [300, 4000])
@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_parity_with_evidently(n: int, shift: float) -> None:
    ref, cur = make(n, 0, 1), make(int(n * 1.3), shift, 2 + int(shift * 10))
    ours = de.evaluate(ref, cur)
    assert_parity(ours, evidently_result(ref, cur))
    methods = {c["column"]: c["method"] for c in ours.columns}
    if n <= 1000:
        assert methods["x"] == "ks" and methods["c"] == "chisquare" and methods["b"] == "z"
        assert methods["tri"] == "chisquare" and methods["bs"] == "z"
    else:
        assert methods["x"] == "wasserstein" and methods["c"] == "jensenshannon"
        assert methods["few"] == "jensenshannon"
    if shift:
        assert {"x", "c"} <= set(ours.drifted_columns)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Evidently's side, on the infs
def test_parity_with_nans_and_infs() -> None:
    ref, cur = make(3000, 0, 3), make(2500, 0.2, 4)
    ref.loc[::7, "x"] = np.nan
    cur.loc[::11, "e"] = np.inf
    cur.loc[::5, "c"] = None
    assert_parity(de.evaluate(ref, cur), evidently_result(ref, cur))


def test_overrides_match_evidently_and_change_verdicts() -> None:
    ref, cur = make(4000, 0, 5), make(5000, 0.3, 6)
    tests = {
        "x": {"method": "psi"},
        "e": de.ColumnTest("ks"),
        "i": {"method": "jensenshannon", "threshold": 0.05},
        "ic": {"method": "psi"},
        "c": {"method": "chisquare"},
        "b": {"method": "z", "threshold": 0.01},
    }
    ours = de.evaluate(ref, cur, tests=tests)
    assert_parity(ours, evidently_result(ref, cur, tests=tests))
    base = {c["column"]: c for c in de.evaluate(ref, cur).columns}
    assert base["x"]["drifted"]
    raised = de.evaluate(ref, cur, tests={"x": {"threshold": 10.0}})
    x = next(c for c in raised.columns if c["column"] == "x")
    assert x["method"] == "wasserstein" and not x["drifted"] and x["score"] < 1


def test_psi_and_js_with_empty_bins_match_evidently() -> None:
    rng = np.random.default_rng(27)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 3000),
            "c": rng.choice(np.array(["a", "b", "c"], dtype=object), 3000),
        }
    )
    cur = pd.DataFrame(
        {
            "x": np.concatenate([rng.normal(0, 1, 2500), rng.normal(9, 0.2, 500)]),
            "c": rng.choice(np.array(["a", "b", "new"], dtype=object), 3000),
        }
    )
    for method in ("psi", "jensenshannon"):
        tests = {"x": {"method": method}, "c": {"method": method}}
        assert_parity(de.evaluate(ref, cur, tests=tests), evidently_result(ref, cur, tests=tests))


def test_drift_share_rule() -> None:
    ref, cur = make(4000, 0, 7), make(4000, 0.3, 8)
    result = de.evaluate(ref, cur)
    share = len(result.drifted_columns) / len(result.columns)
    assert result.drift_share == pytest.approx(share)
    assert 0 < share < 1
    assert de.evaluate(ref, cur, drift_share=share).dataset_drift
    assert not de.evaluate(ref, cur, drift_share=share + 0.01).dataset_drift
    theirs = evidently_result(ref, cur, drift_share=share + 0.01)
    assert not theirs.dataset_drift


def test_score_normalisation() -> None:
    ref, cur = make(500, 0, 9), make(500, 0.3, 10)
    for col in de.evaluate(ref, cur).columns:
        assert (col["score"] >= 1) == col["drifted"] or col["method"] == "ks"


def test_sampling_is_seeded() -> None:
    ref, cur = make(20_000, 0, 11), make(20_000, 0.1, 12)
    one = de.evaluate(ref, cur, sample=2000, seed=3)
    two = de.evaluate(ref, cur, sample=2000, seed=3)
    other = de.evaluate(ref, cur, sample=2000, seed=4)
    assert one.to_dict() == two.to_dict()
    assert one.sampled_rows == 2000 and one.current_rows == 20_000
    assert [c["statistic"] for c in one.columns] != [c["statistic"] for c in other.columns]
    assert de.evaluate(ref, cur).sampled_rows is None


def test_schema_mismatch_names_columns() -> None:
    ref, cur = make(500, 0, 13), make(500, 0, 14)
    with pytest.raises(de.SchemaMismatchError, match="'x'") as info:
        de.evaluate(ref.drop(columns=["x"]), cur)
    assert isinstance(info.value, InvalidParameterError)
    with pytest.raises(de.SchemaMismatchError, match="current.*'e'"):
        de.evaluate(ref, cur.drop(columns=["e"]), columns=["x", "e"])
    bad = ref.assign(x=ref["x"].astype(str))
    with pytest.raises(de.SchemaMismatchError, match="incompatible types.*'x'"):
        de.evaluate(bad, cur)


@pytest.mark.parametrize(
    ("tests", "needle"),
    [
        ({"x": {"method": "nope"}}, "'x'.*nope"),
        ({"x": {"threshold": -1}}, "'x'"),
        ({"x": {"method": "ks", "threshold": 5}}, "'x'"),
        ({"c": {"method": "wasserstein"}}, "'c'"),
        ({"x": {"method": "chisquare"}}, "'x'"),
        ({"x": {"bogus": 1}}, "'x'"),
        ({"missing": {"method": "psi"}}, "missing"),
    ],
)
def test_bad_overrides(tests: dict, needle: str) -> None:
    ref, cur = make(300, 0, 15), make(300, 0, 16)
    with pytest.raises(InvalidParameterError, match=needle):
        de.evaluate(ref, cur, tests=tests)


def test_reference_statistics_round_trip(tmp_path) -> None:
    ref, cur = make(3000, 0, 17), make(3000, 0.2, 18)
    stats = de.reference_statistics(ref)
    path = tmp_path / "ref.npz"
    stats.save(str(path))
    loaded = de.ReferenceStatistics.load(str(path))
    assert (loaded.fingerprint, loaded.columns, loaded.rows) == (
        stats.fingerprint,
        stats.columns,
        stats.rows,
    )
    assert loaded.stats["c"]["keys"] == stats.stats["c"]["keys"]
    assert np.array_equal(loaded.stats["x"]["sorted"], stats.stats["x"]["sorted"])
    assert de.evaluate(loaded, cur).to_dict() == de.evaluate(ref, cur).to_dict()
    assert len(stats.fingerprint) == 64


def test_reference_statistics_are_reused() -> None:
    de.clear_cache()
    ref, cur = make(3000, 0, 19), make(3000, 0.2, 20)
    first = de.evaluate(ref, cur)
    assert de.cache_info()["misses"] == 1
    second = de.evaluate(ref, cur.iloc[:2000])
    info = de.cache_info()
    assert (info["misses"], info["hits"]) == (1, 1)
    assert first.reference_rows == second.reference_rows == 3000
    changed = ref.copy()
    changed.loc[0, "x"] += 1
    de.evaluate(changed, cur)
    assert de.cache_info()["misses"] == 2
    a = de.reference_statistics(ref, ["x", "c"])
    assert de.reference_statistics(ref, ["x", "c"]) is a


def test_reference_statistics_are_kept_on_disk_for_the_next_process(tmp_path) -> None:
    de.clear_cache()
    ref, cur = make(3000, 0, 19), make(3000, 0.5, 20)
    stats = de.reference_statistics(ref, ["x", "c"], cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [f"{stats.fingerprint}.npz"]
    de.clear_cache()  # as a new process would start
    again = de.reference_statistics(ref, ["x", "c"], cache_dir=tmp_path)
    assert de.cache_info()["disk_hits"] == 1 and again is not stats
    both = [de.evaluate(s, cur, columns=["x", "c"]).to_dict() for s in (again, stats)]
    assert both[0] == both[1]
    (tmp_path / f"{stats.fingerprint}.npz").write_bytes(b"not numpy")
    de.clear_cache()
    de.reference_statistics(ref, ["x", "c"], cache_dir=tmp_path)  # unreadable: recomputed
    assert de.cache_info()["disk_hits"] == 0


def test_free_text_and_empty_columns_refused() -> None:
    ref, cur = make(300, 0, 21), make(300, 0, 22)
    text = pd.Series([f"row {i}" for i in range(300)], dtype=object)
    with pytest.raises(InvalidParameterError, match="'t'.*free text"):
        de.evaluate(ref.assign(t=text), cur.assign(t=text))
    with pytest.raises(InvalidParameterError, match="'x'.*empty"):
        de.evaluate(ref, cur.assign(x=np.nan))


def test_repr_html_and_to_dict() -> None:
    result = de.evaluate(make(300, 0, 25), make(300, 0.3, 26))
    assert "<table>" in result._repr_html_()
    body = result.to_dict()
    assert set(body["columns"][0]) == {
        "column",
        "type",
        "method",
        "statistic",
        "threshold",
        "drifted",
        "score",
    }


def test_import_is_light() -> None:
    code = (
        "import sys, nbplatform.drift_engine; "
        "print([m for m in ('numpy', 'pandas', 'evidently', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
