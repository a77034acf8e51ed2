"""SHAP's explainers as :func:`nbplatform.explain.explain` runs them.

Each function answers SHAP's raw values and expected value for one family of
models: :func:`tree_values` (``TreeExplainer``, or ``None`` when it does not take
the model), :func:`deep_values` (``DeepExplainer`` for a torch ``nn.Module``,
``GradientExplainer`` when DeepExplainer refuses its layers) and
:func:`kernel_values` (``KernelExplainer`` on :func:`predict_function`). Picking
the explained output of the answer is :mod:`nbplatform.explain`'s. SHAP, NumPy,
pandas and torch load on first use.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

from ._extras import require
from .errors import InvalidParameterError

_np = partial(require, "numpy", "drift", "nbp.explain", "NumPy")
_pd = partial(require, "pandas", "drift", "nbp.explain", "pandas")
_shap = partial(require, "shap", "drift", "nbp.explain", "SHAP")


def _bounded(frame: Any, limit: int | None, seed: int) -> Any:
    """At most ``limit`` rows of ``frame``: a seeded sample without replacement, in order."""
    if limit is None or len(frame) <= limit:
        return frame
    np = _np()
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=limit, replace=False))
    return frame.iloc[keep]


# SHAP explainers ---------------------------------------------------------------------
def tree_values(model: Any, frame: Any, background: Any, background_rows: int, seed: int) -> Any:
    """TreeExplainer's answer, or None when it does not take the model."""
    shap = _shap()
    try:
        if background is None:
            explainer = shap.TreeExplainer(model)
        else:
            bg = _bounded(background, background_rows, seed)
            explainer = shap.TreeExplainer(model, data=bg, feature_perturbation="interventional")
    except Exception:  # noqa: BLE001 - SHAP raises several kinds for "not a tree model"
        return None
    return explainer.shap_values(frame), explainer.expected_value


def deep_values(model: Any, frame: Any, background: Any, background_rows: int, seed: int) -> Any:
    """DeepExplainer's answer for a torch network (GradientExplainer's where it refuses).

    The network is put in eval mode for the call and back as it was after; the
    inputs take its parameters' dtype and device.
    """
    import torch

    shap = _shap()
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else torch.device("cpu")
    bg_frame = _bounded(frame if background is None else background, background_rows, seed)

    def tensor(f: Any) -> Any:
        return torch.as_tensor(f.to_numpy(dtype="float64"), dtype=dtype, device=device)

    x, bg = tensor(frame), tensor(bg_frame)
    was_training = model.training
    model.eval()
    try:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                explainer = shap.DeepExplainer(model, bg)
                values = explainer.shap_values(x)
            for warning in caught:  # only when DeepExplainer's answer is kept
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
            return values, explainer.expected_value, "DeepExplainer"
        except Exception:  # noqa: BLE001 - DeepExplainer refuses many layers; try gradients
            explainer = shap.GradientExplainer(model, bg)
            values = explainer.shap_values(x)
            with torch.no_grad():
                out = model(bg).detach().cpu().numpy().reshape(len(bg), -1).mean(axis=0)
            return values, out, "GradientExplainer"
    finally:
        model.train(was_training)


def predict_function(model: Any, columns: list[str]) -> Any:
    """The function KernelExplainer evaluates (class 1's probability for binary classifiers)."""
    pd = _pd()
    named = getattr(model, "feature_names_in_", None) is not None

    def rows(x: Any) -> Any:
        return pd.DataFrame(x, columns=columns) if named else x

    classifier = hasattr(model, "classes_") or getattr(model, "_estimator_type", "") == "classifier"
    if classifier and hasattr(model, "predict_proba"):
        if len(getattr(model, "classes_", [])) == 2:
            return lambda x: model.predict_proba(rows(x))[:, 1]
        return lambda x: model.predict_proba(rows(x))
    if classifier and hasattr(model, "decision_function"):
        return lambda x: model.decision_function(rows(x))
    if hasattr(model, "predict"):
        return lambda x: model.predict(rows(x))
    if callable(model):
        return model
    raise InvalidParameterError(
        f"Cannot explain a {type(model).__name__}: it has no predict, predict_proba or __call__."
    )


def kernel_values(
    model: Any,
    frame: Any,
    background: Any,
    background_rows: int,
    nsamples: int,
    seed: int,
    progress: bool,
) -> Any:
    """KernelExplainer's answer on a k-means (numeric) or sampled background."""
    np = _np()
    shap = _shap()
    columns = list(frame.columns)
    function = predict_function(model, columns)
    bg = frame if background is None else background
    numeric = all(np.issubdtype(dtype, np.number) for dtype in bg.dtypes)
    k = min(background_rows, len(bg))
    if numeric and k < len(bg):
        summary = shap.kmeans(bg.to_numpy(dtype="float64"), k)
    else:
        summary = _bounded(bg, k, seed).to_numpy()
    explainer = shap.KernelExplainer(function, summary, seed=seed)
    x = frame.to_numpy(dtype="float64") if numeric else frame.to_numpy()
    values = explainer.shap_values(x, nsamples=nsamples, silent=not progress)
    return values, explainer.expected_value
