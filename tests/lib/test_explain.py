"""nbp.explain: SHAP values by model kind, importance, and logging them with MLflow (for real)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbplatform import explain as nbx
from nbplatform.errors import InvalidParameterError, NotFoundError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=["signal", "half", "noise", "zero"])
    frame["zero"] = 0.0
    return frame


@pytest.fixture(scope="module")
def target(data: pd.DataFrame) -> np.ndarray:
    return 3 * data["signal"].to_numpy() + data["half"].to_numpy()


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real MLflow tracking and registry store (files) in ``tmp_path``."""
    import mlflow

    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # quicker than a database
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield mlflow
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


def _forest(data, target):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(data, target)


# Tree models --------------------------------------------------------------------
def test_tree_regressor_values_add_up_to_the_prediction(data, target):
    model = _forest(data, target)
    rows = data.iloc[:60]
    ex = nbx.explain(model, rows)
    assert ex.kind == "tree" and ex.explainer == "TreeExplainer"
    assert ex.values.shape == (60, 4) and isinstance(ex.expected_value, float)
    assert ex.feature_names == ["signal", "half", "noise", "zero"]
    assert list(ex.data.columns) == ex.feature_names
    assert np.allclose(ex.values.sum(axis=1) + ex.expected_value, model.predict(rows))


def test_tree_binary_classifier_explains_class_1_and_names_numpy_columns(data, target):
    from sklearn.ensemble import RandomForestClassifier

    X = data.to_numpy()
    y = (target > 0).astype(int)
    model = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
    ex = nbx.explain(model, X[:50])
    assert ex.kind == "tree" and ex.output == "class 1"
    assert ex.feature_names == ["f0", "f1", "f2", "f3"]
    assert np.allclose(ex.values.sum(axis=1) + ex.expected_value, model.predict_proba(X[:50])[:, 1])
    # Class 1 rises with the signal: its SHAP value has the signal's sign.
    assert np.corrcoef(ex.values[:, 0], X[:50, 0])[0, 1] > 0.8


def test_multiclass_values_are_mean_abs_over_classes_and_keep_the_signed_ones(data, target):
    from sklearn.ensemble import RandomForestClassifier

    y = np.digitize(target, [-1.5, 1.5])
    model = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(data, y)
    rows = data.iloc[:30]
    ex = nbx.explain(model, rows)
    assert ex.output == "mean |SHAP| over 3 classes"
    assert ex.class_values.shape == (30, 4, 3) and ex.values.shape == (30, 4)
    assert np.allclose(ex.values, np.abs(ex.class_values).mean(axis=2))
    per_class = ex.class_values.sum(axis=1) + ex.class_expected_values
    assert np.allclose(per_class, model.predict_proba(rows))


def test_importance_is_mean_abs_shap_sorted_with_the_feature_names(data, target):
    ex = nbx.explain(_forest(data, target), data.iloc[:80])
    imp = ex.importance
    assert list(imp.index[:2]) == ["signal", "half"] and imp["zero"] == 0.0
    assert sorted(imp.index) == sorted(ex.feature_names)
    assert list(imp.to_numpy()) == sorted(imp.to_numpy(), reverse=True)
    assert np.isclose(imp["noise"], np.abs(ex.values[:, 2]).mean())


def test_max_rows_bounds_the_rows_with_a_seeded_sample(data, target):
    model = _forest(data, target)
    ex = nbx.explain(model, data, max_rows=50)
    assert ex.rows == 50 and ex.total_rows == 400 and ex.data.index.is_monotonic_increasing
    assert set(ex.data.index) <= set(data.index)
    assert list(nbx.explain(model, data, max_rows=50).data.index) == list(ex.data.index)
    assert list(nbx.explain(model, data, max_rows=50, seed=1).data.index) != list(ex.data.index)
    assert nbx.explain(model, data, max_rows=None).rows == 400
    assert nbx.explain(model, data.iloc[:1200]).rows == 400  # default 1000: no sampling


# Kernel and torch ----------------------------------------------------------------
def test_kernel_explains_a_non_tree_model_and_adds_up(data, target):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVR

    y = (target > 0).astype(int)
    clf = LogisticRegression().fit(data, y)
    rows = data.iloc[:15]
    ex = nbx.explain(clf, rows, background=data, background_rows=20, nsamples=100, progress=False)
    assert ex.kind == "kernel" and ex.output == "class 1" and ex.values.shape == (15, 4)
    total = ex.values.sum(axis=1) + ex.expected_value
    assert np.allclose(total, clf.predict_proba(rows)[:, 1], atol=1e-6)
    assert ex.importance.index[0] == "signal"

    reg = SVR().fit(data.to_numpy(), target)
    ex = nbx.explain(reg, data.to_numpy()[:10], background_rows=10, progress=False)
    assert ex.kind == "kernel" and ex.values.shape == (10, 4)
    assert np.allclose(ex.values.sum(axis=1) + ex.expected_value, reg.predict(data[:10].to_numpy()))


def test_torch_modules_use_deep_explainer_or_gradients(data):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    ex = nbx.explain(net, data.iloc[:40], background_rows=30)
    assert ex.kind == "deep" and ex.explainer == "DeepExplainer"
    assert ex.values.shape == (40, 4) and ex.feature_names == list(data.columns)
    with torch.no_grad():
        out = net(torch.tensor(data.iloc[:40].to_numpy(), dtype=torch.float32)).numpy().ravel()
    assert np.allclose(ex.values.sum(axis=1) + ex.expected_value, out, atol=1e-4)

    class Squares(torch.nn.Module):  # DeepExplainer has no rule for x**2: gradients instead
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):
            return (self.linear(x) ** 2).sum(dim=1, keepdim=True)

    ex = nbx.explain(Squares(), torch.tensor(data.iloc[:20].to_numpy(), dtype=torch.float32))
    assert ex.kind == "deep" and ex.explainer == "GradientExplainer"
    assert ex.values.shape == (20, 4) and ex.feature_names == ["f0", "f1", "f2", "f3"]


def test_plots_are_matplotlib_figures_and_bad_inputs_are_400s(data, target):
    from matplotlib.figure import Figure

    ex = nbx.explain(_forest(data, target), data.iloc[:30])
    assert isinstance(ex.plot("bar"), Figure) and isinstance(ex.plot("beeswarm"), Figure)
    assert "signal" in ex._repr_html_()
    bad = [
        lambda: ex.plot("pie"),
        lambda: nbx.explain(object(), data),
        lambda: nbx.explain(_forest(data, target), data["signal"]),
        lambda: nbx.explain(_forest(data, target), data.iloc[:0]),
        lambda: nbx.explain(_forest(data, target), data, max_rows=0),
        lambda: nbx.explain(_forest(data, target), data, background=data[["signal"]]),
        lambda: nbx.log_explanation({"values": 1}),
    ]
    for call in bad:
        with pytest.raises(InvalidParameterError):
            call()


# MLflow ---------------------------------------------------------------------------
def _logistic(data, target):
    # Not a forest: MLflow 3.17 saves scikit-learn models with skops, which refuses trees
    # unless log_model is given skops_trusted_types.
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(data, (target > 0).astype(int))


def test_log_explanation_and_load_importance_through_an_alias(tracking, data, target):
    from nbplatform import registry

    mlflow = tracking
    model = _logistic(data, target)
    ex = nbx.explain(model, data.iloc[:40], progress=False)
    with pytest.raises(InvalidParameterError):
        nbx.log_explanation(ex)  # no active run, no run_id
    with mlflow.start_run() as run:
        info = registry.log_model(model, "explained", X_example=data.iloc[:5])
    assert mlflow.active_run() is None
    paths = nbx.log_explanation(ex, run_id=run.info.run_id)
    assert paths == {
        "importance": "explain/importance.json",
        "shap_values": "explain/shap_values.parquet",
        "summary": "explain/summary.png",
        "bar": "explain/bar.png",
    }
    client = mlflow.MlflowClient()
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "explain")}
    assert listed == set(paths.values())
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["nbplatform.explain.kind"] == "kernel" and tags["nbplatform.explain.rows"] == "40"
    local = Path(
        mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="explain")
    )
    assert (local / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert (local / "bar.png").read_bytes()[:4] == b"\x89PNG"
    values = pd.read_parquet(local / "shap_values.parquet")
    assert np.allclose(values[ex.feature_names].to_numpy(), ex.values)
    assert np.allclose(values["expected_value"], ex.expected_value)
    stored = json.loads((local / "importance.json").read_text())
    assert list(stored) == list(ex.importance.index)

    client.set_registered_model_alias("explained", "champion", info.registered_model_version)
    got = nbx.load_importance("models:/explained@champion")
    assert list(got) == list(ex.importance.index)
    assert np.allclose(list(got.values()), ex.importance.to_numpy())
    assert nbx.load_importance(f"runs:/{run.info.run_id}/model") == got
    assert nbx.load_importance("models:/explained/1") == got
    with mlflow.start_run() as active:
        nbx.log_explanation(ex, artifact_path="again")  # the active run
    assert nbx.load_importance(f"runs:/{active.info.run_id}", artifact_path="again") == got

    with pytest.raises(NotFoundError):
        nbx.load_importance("models:/explained@nobody")
    with pytest.raises(NotFoundError):
        nbx.load_importance("models:/missing/1")
    with pytest.raises(InvalidParameterError):
        nbx.load_importance("s3://bucket/model")


def test_log_model_explain_logs_importance_on_the_model_run(tracking, data, target):
    from nbplatform import registry

    mlflow = tracking
    model = _logistic(data, target)
    with pytest.raises(InvalidParameterError):
        registry.log_model(model, "nothing-to-explain", explain=True)
    assert mlflow.active_run() is None
    info = registry.log_model(model, "self-explained", X_example=data.iloc[:5], explain=True)
    run = mlflow.MlflowClient().get_run(info.run_id)
    assert run.data.tags["nbplatform.explain.rows"] == "5"
    files = {a.path for a in mlflow.MlflowClient().list_artifacts(info.run_id, "explain")}
    assert "explain/importance.json" in files
    assert run.data.tags["nbplatform.explain.kind"] == "kernel"
    assert nbx.load_importance(info.model_uri) == nbx.load_importance("models:/self-explained/1")
    assert next(iter(nbx.load_importance(info.model_uri))) == "signal"

    # X_explain wins over X_example; a run without an explanation is a 404.
    info = registry.log_model(
        model, "self-explained", X_example=data.iloc[:5], explain=True, X_explain=data.iloc[:70]
    )
    assert mlflow.MlflowClient().get_run(info.run_id).data.tags["nbplatform.explain.rows"] == "70"
    with mlflow.start_run() as bare:
        pass
    with pytest.raises(NotFoundError):
        nbx.load_importance(f"runs:/{bare.info.run_id}/model")


def test_a_forest_is_logged_explained_and_loads_again(tracking, data, target):
    """MLflow saves scikit-learn models with skops, which refuses a forest's trees untrusted."""
    from nbplatform import registry

    mlflow = tracking
    model = _forest(data, target)
    info = registry.log_model(model, "forest", X_example=data.iloc[:20], explain=True)
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert np.allclose(loaded.predict(data.iloc[:10]), model.predict(data.iloc[:10]))
    assert mlflow.MlflowClient().get_run(info.run_id).data.tags["nbplatform.explain.kind"] == "tree"
    assert next(iter(nbx.load_importance("models:/forest/1"))) == "signal"


def test_importing_the_module_loads_no_heavy_dependency():
    code = (
        "import sys, nbplatform, nbplatform.explain\n"
        "heavy = ['shap', 'mlflow', 'torch', 'numpy', 'pandas', 'sklearn', 'matplotlib']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "nbplatform.explain.explain\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
