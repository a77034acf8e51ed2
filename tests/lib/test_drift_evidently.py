"""nbplatform.drift_evidently: Evidently's own report, self-contained and sampled; bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from nbplatform.drift_evidently import evidently_result, report_html
from nbplatform.errors import InvalidParameterError


def make(n: int, shift: float, seed: int) -> pd.DataFrame:
    """A frame with a numeric, an int and a categorical column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "e": rng.exponential(1 + shift, n),
            "i": rng.integers(0, 50, n),
            "c": rng.choice(np.array(["a", "b", "c"], dtype=object), n),
        }
    )


def test_report_html_is_self_contained() -> None:
    ref, cur = make(3000, 0, 23), make(3000, 0.3, 24)
    html = report_html(ref, cur, sample_rows=1000)
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    lower = html.lower()
    # The JavaScript is inline: nothing is loaded from elsewhere (a CDN, a font server).
    assert "<script" in lower
    assert not re.search(r"<script[^>]*\bsrc\s*=", lower)
    assert not re.search(r"<link\b", lower)
    assert not re.search(r"@import\s+url|@font-face[^}]*url\((?!data:)", lower)
    # The only CDN address is plotly's default for topojson maps, which no drift widget uses.
    assert set(re.findall(r"https?://cdn[.\w-]*", lower)) <= {"https://cdn.plot.ly"}


@pytest.mark.parametrize("rows", [0, -1, 1.5, True, "100"])
def test_report_html_refuses_a_sample_that_is_not_a_positive_integer(rows) -> None:
    ref, cur = make(50, 0, 27), make(50, 0, 28)
    with pytest.raises(InvalidParameterError, match="sample_rows"):
        report_html(ref, cur, sample_rows=rows)


def test_report_html_names_a_column_the_reference_lacks() -> None:
    ref, cur = make(50, 0, 29), make(50, 0, 30)
    with pytest.raises(InvalidParameterError, match="'x'"):
        report_html(ref.drop(columns=["x"]), cur, columns=["x", "e"])


def test_evidently_result_refuses_a_drift_share_outside_0_1() -> None:
    ref, cur = make(50, 0, 31), make(50, 0, 32)
    with pytest.raises(InvalidParameterError, match="drift_share"):
        evidently_result(ref, cur, drift_share=1.5)
