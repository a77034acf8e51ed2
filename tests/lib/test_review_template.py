"""The promotion review notebook: clean, parameterised, and it runs on a plain sklearn model.

The run is real (papermill, a kernel, MLflow on a local SQLite store): two
versions of a scikit-learn model, the candidate with a SHAP explanation, neither
with a recorded training frame.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import nbformat
import pytest

from nbplatform.notebook_templates import template

PATH = template("review_promotion.ipynb")


def test_the_review_notebook_is_clean_and_takes_the_review_parameters():
    nb = nbformat.read(PATH, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "nbplatform-cpu"
    assert nb.cells[0].cell_type == "markdown"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, Any] = {}
    exec(cell.source, namespace)
    assert {k: namespace[k] for k in ("model_name", "version", "alias")} == {
        "model_name": "",
        "version": "",
        "alias": "champion",
    }
    assert namespace["champion_version"] is None and namespace["promotion_id"] is None


#: Registers two versions of ``churn`` (in a process of its own: MLflow's state is global).
REGISTER = """
import sys

import mlflow
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import nbplatform as nbp

mlflow.set_tracking_uri(sys.argv[1])
X, y = make_classification(120, 3, n_informative=2, n_redundant=0, random_state=0)
X = pd.DataFrame(X, columns=["tenure", "spend", "visits"])
for c, explain in ((0.1, False), (1.0, True)):
    with mlflow.start_run():
        model = LogisticRegression(C=c).fit(X, y)
        mlflow.log_param("C", c)
        mlflow.log_metric("accuracy", model.score(X, y))
        mlflow.sklearn.log_model(model, name="model", registered_model_name="churn")
        if explain:
            nbp.explain.log_explanation(nbp.explain.explain(model, X, max_rows=50))
"""


def _outputs(nb: Any) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(t if isinstance(t, str) else "".join(t) for t in texts)


@pytest.mark.filterwarnings("ignore")
def test_the_review_runs_on_a_plain_sklearn_model(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    # (an earlier test's mlflow.set_registry_uri leaves MLFLOW_REGISTRY_URI behind)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", tracking)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    done = subprocess.run(
        [sys.executable, "-c", REGISTER, tracking], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(PATH),
        str(out),
        parameters={"model_name": "churn", "version": "2", "champion_version": "1"},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    text = _outputs(nbformat.read(out, as_version=4))
    assert "version 1 (champion): no explanation logged" in text
    assert "recorded no training frame" in text
    (line,) = [x for x in text.splitlines() if x.startswith("REVIEW ")]
    review = json.loads(line.removeprefix("REVIEW "))
    assert (review["model"], review["version"], review["champion_version"]) == ("churn", "2", "1")
    accuracy = review["metrics"]["accuracy"]
    assert accuracy["delta"] == pytest.approx(accuracy["candidate"] - accuracy["champion"])
    assert review["params_changed"] == ["C"] and review["shap"] == ["v2 (candidate)"]
    assert review["drift"] is None
