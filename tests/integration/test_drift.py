"""Drift on a real platform: monitors, checks with Evidently's tests, alerts, retrain, jobs.

A data scientist trains a forest on a training frame built from the feature
store inside an MLflow run, logs it with its SHAP explanation, makes it the
champion and monitors it: the reference defaults to that training frame, the
current data is the feature view's recent window. Checks run as the library
runs them (``nbp.drift.check``), in a separate process with the person's
token, as a kernel or a job would; webhooks hear each change of status once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from nbplatform.client import PlatformClient
from platform_harness import free_port, last_json_line

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)

DEFINITIONS = """
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64, String

customer = Entity(name="drift_customer", join_keys=["customer_id"])

customers = FeatureView(
    name="drift_customers",
    entities=[customer],
    ttl=timedelta(days=30),
    schema=[
        Field(name="income", dtype=Float64),
        Field(name="age", dtype=Float64),
        Field(name="plan", dtype=String),
        Field(name="active", dtype=Int64),
    ],
    source=FileSource(
        name="drift_customers_source",
        path="{data}/drift_customers.parquet",
        timestamp_field="event_timestamp",
    ),
)
"""


def customers(rng: np.random.Generator, n: int, when: datetime, shift: float = 0.0) -> pd.DataFrame:
    """Customer rows at ``when``; ``shift`` moves income (the model's main input) upwards."""
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "event_timestamp": [when] * n,
            "income": rng.normal(50 + shift * 40, 10, n),
            "age": rng.normal(40, 8, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "active": rng.integers(0, 2, n),
        }
    )


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver on loopback: keeps each body and its signature header."""

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, self.headers.get("X-Nbp-Signature-256")))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hooks():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def people(platform):
    return {
        "ds": platform.create_user("drift-dora", "data-scientist"),
        "other": platform.create_user("drift-dave", "data-scientist"),
        "viewer": platform.create_user("drift-vera", "viewer"),
        "admin": platform.admin_token,
    }


def client(platform, token: str) -> PlatformClient:
    return PlatformClient(platform_url=f"{platform.url}/services/platform/", token=token)


def python(platform, token: str, code: str, timeout: float = 300) -> dict:
    """Run ``code`` as the person would in a kernel (their token, the gateway); its last JSON."""
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NBP_", "JUPYTERHUB_", "MLFLOW_"))
        },
        "NBP_PLATFORM_URL": f"{platform.url}/services/platform/",
        "NBP_TOKEN": token,
        "MLFLOW_TRACKING_URI": f"{platform.url}/services/platform/mlflow",
        "MLFLOW_TRACKING_TOKEN": token,
        "NBP_DRIFT_CACHE": str(platform.home / "drift-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return last_json_line(done.stdout)


@pytest.fixture(scope="module")
def champion(platform, people, tmp_path_factory):
    """The feature view, the champion trained on a recorded training frame, and its data."""
    rng = np.random.default_rng(11)
    data = platform.home / "features" / "data"
    data.mkdir(parents=True, exist_ok=True)
    history = customers(rng, 3000, NOW - timedelta(days=20))
    history.to_parquet(data / "drift_customers.parquet")
    folder = tmp_path_factory.mktemp("drift_repo")
    (folder / "customers.py").write_text(DEFINITIONS.replace("{data}", str(data)))
    trained = python(
        platform,
        people["ds"],
        f"""
        import json, mlflow, numpy as np, pandas as pd
        from sklearn.ensemble import RandomForestClassifier
        import nbplatform as nbp
        nbp.features.apply({str(folder)!r})
        when = pd.Timestamp({(NOW - timedelta(days=19)).isoformat()!r})
        entities = pd.DataFrame({{"customer_id": np.arange(3000), "event_timestamp": when}})
        mlflow.set_experiment("drift-churn")
        with mlflow.start_run():
            frame = nbp.features.get_training_frame(
                entities, features=["drift_customers:income", "drift_customers:age",
                                    "drift_customers:active"])
            X = frame[["income", "age", "active"]]
            y = (X["income"] > 50).astype(int)
            model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
            info = nbp.registry.log_model(model, "drift-churn", X_example=X.head(200), explain=True)
        print(json.dumps({{"version": info.registered_model_version}}))
        """,
    )
    # champion is a protected alias: it moves through an approved promotion request
    platform.promote("drift-churn", trained["version"], people["ds"])
    return {"data": data, "history": history, "version": trained["version"], "rng": rng}


def wait_for_hooks(hooks, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(hooks.received) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # and no more than that
    return [json.loads(body) for body, _ in hooks.received]


def test_a_champion_is_checked_against_its_training_frame_and_alerts_once_per_change(
    platform, people, champion, hooks
):
    token = people["ds"]
    created = platform.service(
        "POST",
        "api/drift/monitors",
        token,
        json={
            "name": "churn",
            "model": "models:/drift-churn@champion",
            "current": {"kind": "feature_view", "view": "drift_customers", "window_days": 2},
            "webhooks": [f"http://127.0.0.1:{hooks.server_address[1]}/drift"],
        },
    )
    assert created.status_code == 201, created.text
    secret = created.json()["webhook_secret"]
    assert created.json()["reference"] == {"kind": "training_frame"}
    assert "webhook_secret" not in platform.service("GET", "api/drift/monitors/churn", token).json()

    def check_now(shift: float) -> dict:
        fresh = customers(champion["rng"], 3000, NOW - timedelta(hours=6), shift=shift)
        pd.concat([champion["history"], fresh]).to_parquet(
            champion["data"] / "drift_customers.parquet"
        )
        return python(
            platform,
            token,
            """
            import json
            import nbplatform as nbp
            result = nbp.drift.check(monitor="churn")
            print(json.dumps(result.check))
            """,
        )

    same = check_now(0.0)
    assert same["status"] == "ok", same
    assert {c["column"] for c in same["columns"]} == {"income", "age", "active"}
    assert same["reference_rows"] == 3000 and same["current_rows"] == 3000
    assert same["window_start"] and same["window_end"]
    assert wait_for_hooks(hooks, 1, timeout=3) == []  # unknown -> ok is no news

    shifted = check_now(1.0)
    assert shifted["status"] in ("warning", "drift"), shifted
    top = shifted["columns"][0]
    assert top["column"] == "income" and top["drifted"], shifted["columns"]
    assert top["importance"] and top["importance"] > 0.5  # the forest splits on income
    assert shifted["model_version"] == f"drift-churn/{champion['version']}"
    again = check_now(1.0)
    assert again["status"] == shifted["status"]
    notices = wait_for_hooks(hooks, 1)
    assert len(notices) == 1, notices  # one change, one notice
    body, signature = hooks.received[0]
    assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert notices[0]["previous"] == "ok" and notices[0]["status"] == shifted["status"]
    assert notices[0]["top_columns"][0]["column"] == "income"

    report = platform.service("GET", f"api/drift/checks/{shifted['id']}/report", token)
    assert report.status_code == 200
    assert report.headers["Content-Type"].startswith("text/html")
    policy = report.headers["Content-Security-Policy"]
    assert "sandbox allow-scripts" in policy and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
    assert b"income" in report.content and b"root_metric" in report.content  # Evidently's

    back = check_now(0.0)
    assert back["status"] == "ok"
    assert len(wait_for_hooks(hooks, 2)) == 2
    monitor = platform.service("GET", "api/drift/monitors/churn", token).json()
    assert [h["status"] for h in monitor["history"]][-4:] == [
        "ok",
        shifted["status"],
        shifted["status"],
        "ok",
    ]


def test_overrides_schema_mismatch_and_small_samples_from_a_notebook(platform, people, champion):
    token = people["ds"]
    out = python(
        platform,
        token,
        """
        import json
        import numpy as np, pandas as pd
        import nbplatform as nbp
        from nbplatform.errors import InvalidParameterError
        rng = np.random.default_rng(5)
        ref = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(list("ab"), 5000)})
        cur = pd.DataFrame({"x": rng.normal(0.5, 1, 5000), "c": rng.choice(list("ab"), 5000)})
        plain = nbp.drift.check(ref, cur, report=False)
        loose = nbp.drift.check(ref, cur, tests={"x": {"threshold": 10}}, report=False)
        small = nbp.drift.check(ref.head(300), cur.head(300), report=False)
        try:
            nbp.drift.check(ref, cur.drop(columns=["c"]).rename(columns={"x": "y"}), report=False)
            mismatch = None
        except InvalidParameterError as e:
            mismatch = str(e)
        print(json.dumps({
            "plain": {c["column"]: c["drifted"] for c in plain.columns},
            "loose": {c["column"]: c["drifted"] for c in loose.columns},
            "small": {c["column"]: c["method"] for c in small.columns},
            "mismatch": mismatch,
        }))
        """,
    )
    assert out["plain"] == {"x": True, "c": False}
    assert out["loose"] == {"x": False, "c": False}
    assert out["small"] == {"x": "ks", "c": "z"}
    assert out["mismatch"] and "x" in out["mismatch"] and "c" in out["mismatch"]


def test_who_may_do_what_with_a_monitor(platform, people, champion):
    ds, other, viewer, admin = (people[k] for k in ("ds", "other", "viewer", "admin"))
    body = {"name": "owned", "feature_view": "drift_customers"}
    assert platform.service("POST", "api/drift/monitors", viewer, json=body).status_code == 403
    assert platform.service("POST", "api/drift/monitors", ds, json=body).status_code == 201
    assert platform.service("POST", "api/drift/monitors", ds, json=body).status_code == 409
    assert platform.service("GET", "api/drift/monitors/owned", viewer).status_code == 200
    assert platform.service("GET", "api/drift/monitors/owned", None).status_code == 401
    check = {
        "columns": [
            {
                "column": "income",
                "type": "num",
                "method": "wasserstein",
                "statistic": 0.5,
                "threshold": 0.1,
                "drifted": True,
                "score": 5.0,
            }
        ],
        "dataset_drift": True,
        "drift_share": 1.0,
        "threshold_share": 0.5,
        "reference_rows": 10,
        "current_rows": 10,
    }
    path = "api/drift/monitors/owned"
    for token in (other, viewer):
        assert platform.service("POST", f"{path}/checks", token, json=check).status_code == 403
        assert platform.service("PATCH", path, token, json={"drift_share": 0.9}).status_code == 403
        assert platform.service("POST", f"{path}/acknowledge", token, json={}).status_code == 403
        assert (
            platform.service("POST", f"{path}/mute", token, json={"minutes": 5}).status_code == 403
        )
        assert platform.service("DELETE", path, token).status_code == 403
    stored = platform.service("POST", f"{path}/checks", ds, json=check)
    assert stored.status_code == 201 and stored.json()["status"] == "drift"
    assert platform.service("POST", f"{path}/watch", viewer).status_code == 200
    alerts = platform.service("GET", "api/drift/alerts", viewer).json()["alerts"]
    assert [a["monitor"] for a in alerts] == ["owned"] and alerts[0]["top_columns"] == ["income"]
    assert platform.service("POST", f"{path}/acknowledge", ds, json={}).status_code == 200
    assert platform.service("GET", "api/drift/alerts", viewer).json()["alerts"] == []
    audit = platform.service(
        "GET", "api/audit", admin, params={"action": "drift:monitors:post"}
    ).json()["entries"]
    assert any(e["result"] == "refused" and e["user"] == "drift-vera" for e in audit), audit
    assert platform.service("DELETE", path, admin).status_code == 204
    assert platform.service("GET", path, ds).status_code == 404


def test_hostile_monitor_definitions_are_refused(platform, people):
    ds = people["ds"]
    bad = [
        {"name": "a", "model": "not-a-uri"},
        {"name": "b", "model": "models:/m@champion", "feature_view": "v"},
        {"name": "c", "feature_view": "v", "reference": {"kind": "training_frame"}},
        {"name": "d", "feature_view": "v", "tests": {"x": {"method": "nonsense"}}},
        {"name": "e", "feature_view": "v", "webhooks": ["http://169.254.169.254/latest"]},
        {"name": "f", "feature_view": "v", "drift_share": 2},
        {"name": "g\u0000", "feature_view": "v"},
        {"name": "h", "feature_view": "v", "retrain_job_id": "../../etc"},
    ]
    for body in bad:
        r = platform.service("POST", "api/drift/monitors", ds, json=body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    names = {
        m["name"] for m in platform.service("GET", "api/drift/monitors", ds).json()["monitors"]
    }
    assert not names & {"a", "b", "c", "d", "e", "f", "h"}


NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "drift_monitor = ''\ndrift_check_id = None\n"
            "drift_window_start = None\ndrift_window_end = None",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "print(drift_monitor, drift_window_start, drift_window_end)",
            "outputs": [],
            "execution_count": None,
        },
    ],
    "metadata": {
        "kernelspec": {"name": "nbplatform-cpu", "display_name": "nbplatform", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def wait_run(platform, token: str, run_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in ("succeeded", "failed", "timed-out", "cancelled"):
            return run
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not end: {run}")


def test_retrain_runs_the_training_job_with_the_window_and_checks_run_as_jobs(
    platform, people, champion
):
    ds, other = people["ds"], people["other"]
    workspace = platform.home / "users" / "drift-dora"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "train.ipynb").write_text(json.dumps(NOTEBOOK))
    job = platform.service(
        "POST", "api/jobs", ds, json={"name": "drift-train", "notebook": "train.ipynb"}
    )
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    r = platform.service("PATCH", "api/drift/monitors/churn", ds, json={"retrain_job_id": job_id})
    assert r.status_code == 200, r.text
    latest = r.json()["latest_check"]
    assert (
        platform.service("POST", "api/drift/monitors/churn/retrain", other, json={}).status_code
        == 403
    )
    started = platform.service("POST", "api/drift/monitors/churn/retrain", ds, json={})
    assert started.status_code == 201, started.text
    run = started.json()["run"]
    assert run["parameters"]["drift_monitor"] == "churn"
    assert run["parameters"]["drift_check_id"] == latest["id"]
    assert run["parameters"]["drift_window_start"] == latest["window_start"]
    assert wait_run(platform, ds, run["id"])["status"] == "succeeded"

    made = python(
        platform,
        ds,
        f"""
        import json, os
        os.environ["HOME"] = {str(workspace)!r}
        import nbplatform as nbp
        job = nbp.drift.schedule("churn", cron="0 6 * * *", workspace={str(workspace)!r})
        print(json.dumps(job))
        """,
    )
    assert made["parameters"] == {"monitor": "churn"}
    assert (workspace / made["notebook"]).exists()
    monitor = platform.service("GET", "api/drift/monitors/churn", ds).json()
    assert monitor["schedule_job_id"] == made["id"]
    r = platform.service("POST", f"api/jobs/{made['id']}/runs", ds, json={})
    assert r.status_code == 201, r.text
    ended = wait_run(platform, ds, r.json()["id"], timeout=400)
    assert ended["status"] == "succeeded", ended
    checks = platform.service("GET", "api/drift/monitors/churn/checks", ds).json()["checks"]
    assert checks[0]["job_run_id"] == ended["id"] and checks[0]["job_id"] == made["id"]
