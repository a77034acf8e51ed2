"""Explain a model's predictions with SHAP, and keep the explanation with the model.

:func:`explain` picks SHAP's explainer from the model: ``TreeExplainer`` for
whatever it accepts (scikit-learn forests and gradient boosting, XGBoost,
LightGBM...), ``DeepExplainer`` for a torch ``nn.Module`` (``GradientExplainer``
when DeepExplainer cannot take the network), and ``KernelExplainer`` for anything
else with ``predict``/``predict_proba`` (or a plain callable)::

    ex = nbp.explain.explain(model, X_valid)
    ex.importance            # mean |SHAP| per feature, largest first
    ex.plot("beeswarm")      # a matplotlib Figure
    nbp.explain.log_explanation(ex)                   # onto the active MLflow run
    nbp.explain.load_importance("models:/churn@champion")

Which output is explained:

* regressors and single-output networks: the prediction;
* binary classifiers: the positive class (class index 1); tree models explain
  what the tree holds (probability for forests, log-odds for gradient boosting),
  KernelExplainer explains ``predict_proba(X)[:, 1]``;
* multi-class models (and networks with more than two outputs): ``values`` is
  the mean over classes of |SHAP| per row and feature, whichever class is
  predicted, and ``expected_value`` the mean of the classes' expected values
  (these no longer add up to a prediction); the signed per-class values are
  kept in ``class_values`` (rows × features × classes) and
  ``class_expected_values``.

At most ``max_rows`` rows are explained: a larger ``X`` is sampled (without
replacement, with ``seed``; rows keep their order). The background is
``background`` (default ``X``) bounded by ``background_rows``: a seeded sample
for DeepExplainer and TreeExplainer (which then runs ``interventional``; with no
background it uses the trees' path-dependent statistics), ``shap.kmeans``
centres for KernelExplainer, which evaluates each row on ``nsamples`` coalitions.
Heavy modules load on first use (``pip install 'nbplatform[drift]'``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._extras import require
from .errors import InvalidParameterError, NotFoundError
from .explainers import _bounded, _np, _pd, _shap, deep_values, kernel_values, tree_values

__all__ = ["Explanation", "explain", "load_importance", "log_explanation"]

#: The run tags :func:`log_explanation` sets.
TAG_KIND = "nbplatform.explain.kind"
TAG_ROWS = "nbplatform.explain.rows"
IMPORTANCE_FILE = "importance.json"


@dataclass(eq=False)
class Explanation:
    """SHAP values of one output of a model on some rows.

    Attributes:
        values: SHAP values, rows × features, of the explained output.
        expected_value: The model's expected output over the background.
        data: The explained rows, with the feature names as columns.
        feature_names: The features, in column order.
        kind: ``tree``, ``deep`` or ``kernel``.
        explainer: SHAP's explainer used (``TreeExplainer``, ``GradientExplainer``...).
        output: What was explained (``prediction``, ``class 1``, ``mean |SHAP| over 3 classes``).
        total_rows: Rows of the ``X`` given, before sampling down to ``max_rows``.
        class_values: For multi-output models, the signed values (rows × features × outputs).
        class_expected_values: For multi-output models, each output's expected value.
    """

    values: Any
    expected_value: float
    data: Any
    feature_names: list[str]
    kind: str
    explainer: str = ""
    output: str = "prediction"
    total_rows: int = 0
    class_values: Any = None
    class_expected_values: Any = None
    _importance: Any = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        """The number of rows explained."""
        return int(self.values.shape[0])

    @property
    def importance(self) -> Any:
        """Mean |SHAP| per feature over the rows: a pandas Series, largest first."""
        if self._importance is None:
            np, pd = _np(), _pd()
            mean = np.abs(np.asarray(self.values, dtype=float)).mean(axis=0)
            series = pd.Series(mean, index=list(self.feature_names), name="importance")
            self._importance = series.sort_values(ascending=False, kind="stable")
        return self._importance

    def to_shap(self) -> Any:
        """Return the values as a ``shap.Explanation`` (for SHAP's other plots)."""
        np = _np()
        return _shap().Explanation(
            values=np.asarray(self.values, dtype=float),
            base_values=np.full(self.rows, self.expected_value, dtype=float),
            data=self.data.to_numpy(),
            feature_names=list(self.feature_names),
        )

    def plot(self, kind: str = "bar", max_display: int = 10) -> Any:
        """Draw SHAP's bar (mean |SHAP|) or beeswarm plot.

        Args:
            kind: ``bar`` or ``beeswarm``.
            max_display: Features shown (the rest are summed in one line).

        Returns:
            The matplotlib ``Figure`` (closed in pyplot, so a notebook shows it once).

        Raises:
            InvalidParameterError: Another ``kind``.
        """
        if kind not in ("bar", "beeswarm"):
            raise InvalidParameterError(f"plot kind must be 'bar' or 'beeswarm', not {kind!r}.")
        plt = _pyplot()
        shap = _shap()
        fig = plt.figure()
        draw = shap.plots.bar if kind == "bar" else shap.plots.beeswarm
        draw(self.to_shap(), max_display=max_display, show=False)
        fig = plt.gcf()
        plt.close(fig)
        return fig

    def _repr_html_(self) -> str:
        from html import escape

        top = self.importance.head(10)
        cells = "".join(
            f"<tr><td>{escape(str(name))}</td><td>{value:.4g}</td></tr>"
            for name, value in top.items()
        )
        more = len(self.feature_names) - len(top)
        tail = f"<p>… and {more} more features</p>" if more > 0 else ""
        return (
            f"<p><b>SHAP explanation</b> ({escape(self.kind)}, {escape(self.explainer)}): "
            f"{self.rows} rows × {len(self.feature_names)} features, output "
            f"{escape(self.output)}, expected value {self.expected_value:.4g}</p>"
            f"<table><tr><th>feature</th><th>mean |SHAP|</th></tr>{cells}</table>{tail}"
        )


def _pyplot() -> Any:
    """Import pyplot; headless (Agg) unless a backend was chosen or a kernel draws inline."""
    if (
        "matplotlib.pyplot" not in sys.modules
        and not os.environ.get("MPLBACKEND")
        and "ipykernel" not in sys.modules
    ):
        require("matplotlib", "drift", "nbp.explain", "matplotlib").use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Inputs -------------------------------------------------------------------------
def _is_torch(model: Any) -> bool:
    if "torch" not in sys.modules:
        return False
    import torch

    return isinstance(model, torch.nn.Module)


def _frame(model: Any, X: Any, what: str = "X", names: Any = None) -> Any:
    """``X`` as a DataFrame with string column names (``names`` for an array, if given)."""
    np, pd = _np(), _pd()
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        if "torch" in sys.modules:
            import torch

            if isinstance(X, torch.Tensor):
                X = X.detach().cpu().numpy()
        if isinstance(X, pd.Series):
            raise InvalidParameterError(f"{what} must be rows × features, not a Series.")
        array = np.asarray(X)
        if array.ndim != 2:
            raise InvalidParameterError(
                f"{what} must be rows × features (2-D), not of shape {array.shape}."
            )
        if names is None or len(names) != array.shape[1]:
            names = getattr(model, "feature_names_in_", None)
        if names is None or len(names) != array.shape[1]:
            names = [f"f{i}" for i in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=[str(n) for n in names])
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise InvalidParameterError(f"{what} has no rows or no columns.")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    return frame


def _positive(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer, not {value!r}.")


def _select(values: Any, expected: Any) -> tuple[Any, float, str, Any, Any]:
    """Pick the explained output of SHAP's answer (see the module's docstring)."""
    np = _np()
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=-1)
    values = np.asarray(values, dtype=float)
    expected = np.atleast_1d(np.asarray(expected, dtype=float)).ravel()
    if values.ndim == 2:
        return values, float(expected[0]), "prediction", None, None
    if values.ndim != 3:
        raise InvalidParameterError(f"Unexpected SHAP values of shape {values.shape}.")
    outputs = values.shape[2]
    if outputs == 1:
        return values[:, :, 0], float(expected[0]), "prediction", None, None
    if outputs == 2:
        return values[:, :, 1], float(expected[1]), "class 1", None, None
    mean = np.abs(values).mean(axis=2)
    label = f"mean |SHAP| over {outputs} classes"
    return mean, float(expected.mean()), label, values, expected


def explain(
    model: Any,
    X: Any,
    *,
    background: Any = None,
    max_rows: int | None = 1000,
    background_rows: int = 100,
    nsamples: int = 200,
    seed: int = 0,
    progress: bool = True,
) -> Explanation:
    """Compute SHAP values of ``model`` on the rows of ``X``.

    Args:
        model: A fitted model: a tree ensemble SHAP's TreeExplainer takes, a torch
            ``nn.Module``, or anything with ``predict``/``predict_proba`` (or callable).
        X: The rows to explain: a DataFrame, an array or a tensor (rows × features);
            without column names the features are the model's ``feature_names_in_``
            or ``f0``, ``f1``...
        background: Rows SHAP integrates over (default ``X``); same columns as ``X``.
        max_rows: Explain at most this many rows (a seeded sample); None for all.
        background_rows: Bound on the background (sample size, or k of ``shap.kmeans``).
        nsamples: Model evaluations per row for KernelExplainer.
        seed: Seed of the row samples and of KernelExplainer.
        progress: Show KernelExplainer's progress bar over the rows.

    Returns:
        The :class:`Explanation`.

    Raises:
        InvalidParameterError: ``X`` is not rows × features, or a bound is not a
            positive integer, or the model cannot be evaluated.
    """
    _positive("max_rows", max_rows, allow_none=True)
    _positive("background_rows", background_rows)
    _positive("nsamples", nsamples)
    full = _frame(model, X)
    frame = _bounded(full, max_rows, seed)
    bg = None if background is None else _frame(model, background, "background", frame.columns)
    if bg is not None and list(bg.columns) != list(frame.columns):
        raise InvalidParameterError("background must have the same columns as X.")
    if _is_torch(model):
        raw, expected, explainer = deep_values(model, frame, bg, background_rows, seed)
        kind = "deep"
    else:
        answer = tree_values(model, frame, bg, background_rows, seed)
        if answer is not None:
            raw, expected = answer
            kind, explainer = "tree", "TreeExplainer"
        else:
            raw, expected = kernel_values(
                model, frame, bg, background_rows, nsamples, seed, progress
            )
            kind, explainer = "kernel", "KernelExplainer"
    values, expected_value, output, class_values, class_expected = _select(raw, expected)
    if output == "prediction" and len(getattr(model, "classes_", ())) == 2:
        output = "class 1"  # KernelExplainer's predict_proba[:, 1], or a tree's log-odds
    if values.shape != frame.shape:
        raise InvalidParameterError(
            f"SHAP values of shape {values.shape} do not match X of shape {frame.shape}."
        )
    return Explanation(
        values=values,
        expected_value=expected_value,
        data=frame,
        feature_names=list(frame.columns),
        kind=kind,
        explainer=explainer,
        output=output,
        total_rows=len(full),
        class_values=class_values,
        class_expected_values=class_expected,
    )


# MLflow -------------------------------------------------------------------------
def _mlflow() -> Any:
    from .registry import _mlflow as configured

    return configured()


def log_explanation(
    explanation: Explanation, run_id: str | None = None, artifact_path: str = "explain"
) -> dict[str, str]:
    """Log an explanation as artifacts of an MLflow run, and tag the run.

    Writes ``importance.json`` (``{feature: mean |SHAP|}``, largest first),
    ``shap_values.parquet`` (one column per feature and ``expected_value``),
    ``summary.png`` (beeswarm) and ``bar.png`` under ``artifact_path``, and sets
    the tags ``nbplatform.explain.kind`` and ``nbplatform.explain.rows``.

    Args:
        explanation: What :func:`explain` returned.
        run_id: The run; default the active run.
        artifact_path: The folder of the artifacts in the run.

    Returns:
        The artifacts' paths in the run: ``{"importance": "explain/importance.json",
        "shap_values": ..., "summary": ..., "bar": ...}``.

    Raises:
        InvalidParameterError: Not an :class:`Explanation`, or no run is active and no ``run_id``.
    """
    if not isinstance(explanation, Explanation):
        raise InvalidParameterError("log_explanation takes what nbp.explain.explain returned.")
    mlflow = _mlflow()
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise InvalidParameterError("Start an MLflow run or give run_id to log an explanation.")
        run_id = active.info.run_id
    pd = _pd()
    folder = artifact_path.strip("/")
    names = {
        "importance": IMPORTANCE_FILE,
        "shap_values": "shap_values.parquet",
        "summary": "summary.png",
        "bar": "bar.png",
    }
    with tempfile.TemporaryDirectory(prefix="nbp-explain-") as tmp:
        out = Path(tmp)
        importance = {str(k): float(v) for k, v in explanation.importance.items()}
        (out / names["importance"]).write_text(json.dumps(importance, indent=1))
        frame = pd.DataFrame(explanation.values, columns=list(explanation.feature_names))
        column = "expected_value"
        while column in frame.columns:
            column = f"_{column}"
        frame[column] = explanation.expected_value
        frame.to_parquet(out / names["shap_values"], index=False)
        for key, kind in (("summary", "beeswarm"), ("bar", "bar")):
            fig = explanation.plot(kind)
            fig.savefig(out / names[key], bbox_inches="tight", dpi=100)
        client = mlflow.MlflowClient()
        client.log_artifacts(run_id, str(out), folder or None)
    client.set_tag(run_id, TAG_KIND, explanation.kind)
    client.set_tag(run_id, TAG_ROWS, str(explanation.rows))
    prefix = f"{folder}/" if folder else ""
    return {key: prefix + name for key, name in names.items()}


def _run_of(client: Any, model_uri: str) -> str:
    """The run behind ``models:/name@alias``, ``models:/name/version``, ``runs:/id/...``."""
    if not isinstance(model_uri, str) or not model_uri:
        raise InvalidParameterError("Name a model: models:/name@alias, models:/name/3, runs:/id.")
    if model_uri.startswith("runs:/"):
        run_id = model_uri[len("runs:/") :].strip("/").split("/")[0]
        if not run_id:
            raise InvalidParameterError(f"No run id in {model_uri!r}.")
        return run_id
    if not model_uri.startswith("models:/"):
        raise InvalidParameterError(
            f"{model_uri!r} is not models:/name@alias, models:/name/version or runs:/id/path."
        )
    rest = model_uri[len("models:/") :].strip("/")
    if "@" in rest:
        name, alias = rest.rsplit("@", 1)
        version = client.get_model_version_by_alias(name, alias)
    elif "/" in rest:
        name, number = rest.rsplit("/", 1)
        if number.lower() == "latest":
            found = client.search_model_versions(f"name = '{name.replace(chr(39), chr(39) * 2)}'")
            if not found:
                raise NotFoundError(f"Registered model {name!r} has no versions.")
            version = max(found, key=lambda v: int(v.version))
        else:
            version = client.get_model_version(name, number)
    else:  # models:/m-<id>, MLflow 3's logged model
        logged = client.get_logged_model(rest)
        if not logged.source_run_id:
            raise NotFoundError(f"Logged model {rest!r} has no run.")
        return logged.source_run_id
    if not version.run_id:
        raise NotFoundError(f"{model_uri} has no run, so no explanation.")
    return version.run_id


def load_importance(model_uri: str, artifact_path: str = "explain") -> dict[str, float]:
    """Read the feature importance logged with a model (by :func:`log_explanation`).

    Args:
        model_uri: ``models:/name@alias``, ``models:/name/version``, ``models:/name/latest``,
            ``models:/m-<id>`` or ``runs:/<run id>/...``.
        artifact_path: The folder the explanation was logged under.

    Returns:
        ``{feature: mean |SHAP|}``, largest first.

    Raises:
        InvalidParameterError: ``model_uri`` is not one of those forms.
        NotFoundError: No such model, version, alias or run, or it has no explanation.
    """
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        run_id = _run_of(client, model_uri)
    except MlflowException as e:
        if e.get_http_status_code() in (400, 404) or "not found" in str(e).lower():
            raise NotFoundError(f"{model_uri}: {e.message}") from e
        raise
    path = f"{artifact_path.strip('/')}/{IMPORTANCE_FILE}".lstrip("/")
    with tempfile.TemporaryDirectory(prefix="nbp-explain-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=tmp
            )
            text = Path(local).read_text()
        except (MlflowException, OSError) as e:
            raise NotFoundError(
                f"{model_uri} has no explanation ({path} on run {run_id}); log one with "
                "nbp.explain.log_explanation or log_model(..., explain=True)."
            ) from e
    data = json.loads(text)
    return {str(k): float(v) for k, v in sorted(data.items(), key=lambda kv: -float(kv[1]))}
