"""A job notebook that trains a deterministic model and registers it, for replay tests."""

from __future__ import annotations

import time

import nbformat

FINAL = ("succeeded", "failed", "timed-out", "cancelled")
MODEL = "rep-model"
TRAIN = """\
import mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
rng = np.random.RandomState(seed)
X = rng.rand(200, 4)
y = (X[:, 0] + 0.5 * X[:, 1] + 0.2 * rng.rand(200) > 0.9).astype(int)
clf = LogisticRegression(random_state=seed).fit(X[:150], y[:150])
mlflow.set_experiment(f"rep-job-{model_name}")  # one per model: experiments have owners
with mlflow.start_run(run_name="fit"):
    mlflow.log_params({"seed": seed, "C": clf.C})
    mlflow.log_metric("accuracy", accuracy_score(y[150:], clf.predict(X[150:])))
    mlflow.log_metric("log_loss", log_loss(y[150:], clf.predict_proba(X[150:])))
    mlflow.sklearn.log_model(clf, name="model", registered_model_name=model_name,
                             pip_requirements=["scikit-learn"])
"""


def write_train_notebook(platform, user: str, model: str = MODEL) -> str:
    """``replay/train.ipynb`` in ``user``'s workspace, registering ``model``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"model_name = {model!r}\nseed = 7")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(TRAIN)]
    nb.metadata["kernelspec"] = {
        "name": "nbplatform-cpu",
        "display_name": "CPU",
        "language": "python",
    }
    path = platform.home / "users" / user / "replay" / "train.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return "replay/train.ipynb"


def wait_run(platform, token: str, run_id: str, timeout: float = 120) -> dict:
    """The job run once it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in FINAL:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} is still {run['status']}")
