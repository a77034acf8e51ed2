"""nbplatform.explainers: which function KernelExplainer evaluates for which model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from nbplatform.errors import InvalidParameterError
from nbplatform.explainers import _bounded, predict_function


def data(classes: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    return x, (np.arange(60) % classes)


def test_a_binary_classifier_is_explained_by_class_1s_probability():
    x, y = data()
    model = LogisticRegression().fit(x, y)
    f = predict_function(model, list(x.columns))
    np.testing.assert_allclose(f(x.to_numpy()), model.predict_proba(x)[:, 1])


def test_a_multiclass_classifier_gives_every_class_probability():
    x, y = data(3)
    model = LogisticRegression().fit(x, y)
    out = predict_function(model, list(x.columns))(x.to_numpy())
    assert out.shape == (60, 3)


def test_a_regressor_is_explained_by_its_prediction_and_a_callable_as_itself():
    x, y = data()
    model = LinearRegression().fit(x, y.astype(float))
    np.testing.assert_allclose(predict_function(model, ["a", "b", "c"])(x), model.predict(x))

    def plain(v):
        return v.sum(axis=1)

    assert predict_function(plain, ["a"]) is plain


def test_a_model_with_nothing_to_call_is_refused_by_name():
    with pytest.raises(InvalidParameterError, match="object.*no predict"):
        predict_function(object(), ["a"])


def test_a_bounded_sample_is_seeded_and_keeps_the_row_order():
    x, _ = data()
    first, again = _bounded(x, 10, seed=3), _bounded(x, 10, seed=3)
    assert len(first) == 10 and list(first.index) == sorted(first.index)
    assert list(first.index) == list(again.index)
    assert _bounded(x, None, 0) is x and _bounded(x, 100, 0) is x
