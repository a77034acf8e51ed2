"""Models: the real MLflow server through the real gateway, promotions, audit, lineage.

Every test runs twice: on the embedded backends (SQLite, artifacts in ``NBP_HOME``)
and on PostgreSQL with moto's S3 for artifacts (``BACKENDS``, see tests/conftest.py).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

# Every test here runs on each of the BACKENDS (see tests/conftest.py).
from backends_support import BACKENDS  # noqa: F401
from platform_harness import last_json_line

pytestmark = pytest.mark.integration

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def tokens(platform):
    return {
        "ds": platform.create_user("models-alice", "data-scientist"),
        "viewer": platform.create_user("models-victor", "viewer"),
        "admin": platform.admin_token,
    }


def make_versions(platform, token, name, count):
    """Register ``count`` versions of ``name`` from one run (REST only, no kernel)."""
    r = platform.mlflow("POST", "registered-models/create", token, json={"name": name})
    assert r.status_code == 200, r.text
    run = platform.mlflow("POST", "runs/create", token, json={"experiment_id": "0"})
    assert run.status_code == 200, run.text
    info = run.json()["run"]["info"]
    for _ in range(count):
        r = platform.mlflow(
            "POST",
            "model-versions/create",
            token,
            json={
                "name": name,
                "source": info["artifact_uri"] + "/model",
                "run_id": info["run_id"],
            },
        )
        assert r.status_code == 200, r.text


def aliases(platform, token, name):
    r = platform.mlflow("GET", f"registered-models/get?name={name}", token)
    return {a["alias"]: a["version"] for a in r.json()["registered_model"].get("aliases", [])}


def audit(platform, **params):
    r = platform.service("GET", "api/audit", platform.admin_token, params=params)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


@pytest.mark.timeout(600)
def test_kernel_logs_and_registers_models_with_lineage_and_loads_champion(platform, tokens):
    user, token = "models-alice", tokens["ds"]
    platform.spawn(user, "cpu-small")
    r = platform.server(
        user,
        "PUT",
        "api/contents/train.ipynb",
        token,
        json={"type": "notebook", "content": NOTEBOOK},
    )
    assert r.status_code in (200, 201), r.text
    code = """
import json, mlflow, numpy as np, torch
from sklearn.linear_model import LogisticRegression
X = np.random.RandomState(0).rand(40, 3).astype("float32"); y = (X[:, 0] > 0.5).astype(int)
with mlflow.start_run() as run:
    mlflow.log_metric("seen", 1.0)
    sk = nbp.registry.log_model(LogisticRegression().fit(X, y), "models-sk", X_example=X[:5],
                                metrics={"acc": 0.9}, params={"C": 1.0})
tv = nbp.registry.log_model(torch.nn.Sequential(torch.nn.Linear(3, 1)), "models-torch",
                            X_example=X[:5], metrics={"loss": 0.1})
tags = mlflow.get_run(run.info.run_id).data.tags
mv = nbp.registry.get_model_version_by_alias  # imported lazily, exists
print(json.dumps({"tags": tags, "sk": sk.registered_model_version,
                  "torch": tv.registered_model_version,
                  "sig": sk.signature is not None and tv.signature is not None,
                  "cmp": list(nbp.registry.compare_versions("models-sk").columns)}))
"""
    out = platform.execute(user, code, token, notebook="train.ipynb", timeout=180)
    assert out["status"] == "ok", out
    # stdout and stderr (MLflow's "Created version ...") reach the client in either order
    result = last_json_line(out["stdout"])
    tags = result["tags"]
    assert tags["nbp.notebook"] == "train.ipynb"
    assert tags["mlflow.source.name"] == "train.ipynb"
    assert tags["nbp.user"] == user and tags["nbp.profile"] == "cpu-small"
    assert result["sk"] == "1" and result["torch"] == "1" and result["sig"]
    assert "metrics.acc" in result["cmp"] and "params.C" in result["cmp"]
    version = platform.mlflow("GET", "model-versions/get?name=models-sk&version=1", token)
    assert version.json()["model_version"]["tags"]
    assert {t["key"]: t["value"] for t in version.json()["model_version"]["tags"]}[
        "nbp.notebook"
    ] == "train.ipynb"
    # The panel's model view carries each version's key metrics and params.
    panel = platform.service("GET", "api/models/models-sk", token).json()
    assert panel["model_versions"][0]["metrics"]["acc"] == 0.9
    assert panel["model_versions"][0]["params"]["C"] == "1.0"

    for model in ("models-sk", "models-torch"):
        req = platform.service(
            "POST", "api/promotions", token, json={"model": model, "version": "1", "note": "first"}
        )
        assert req.status_code == 201, req.text
        ok = platform.service(
            "POST",
            f"api/promotions/{req.json()['id']}/approve",
            tokens["admin"],
            json={"comment": "fine"},
        )
        assert ok.status_code == 200, ok.text
    load = """
import numpy as np
X = np.random.RandomState(0).rand(4, 3).astype("float32")
sk = nbp.registry.load_model("models:/models-sk@champion")
net = nbp.registry.load_model("models:/models-torch@champion")
import torch
print(sk.predict(X).shape, tuple(net(torch.as_tensor(X)).shape))
"""
    out = platform.execute(user, load, token, timeout=120)
    assert out["status"] == "ok", out
    assert "(4,) (4, 1)" in out["stdout"]
    platform.stop_server(user)


def test_viewer_write_refused_and_audited(platform, tokens):
    r = platform.mlflow(
        "POST", "experiments/create", tokens["viewer"], json={"name": "models-viewer-exp"}
    )
    assert r.status_code == 403, r.text
    assert "models:write" in r.json()["message"]
    read = platform.mlflow("GET", "registered-models/search", tokens["viewer"])
    assert read.status_code == 200
    entries = audit(platform, user="models-victor", result="refused")
    assert any(e["action"] == "mlflow:experiments/create" and e["status"] == 403 for e in entries)


def set_alias(platform, token: str, model: str, alias: str, version: str):
    """Point ``alias`` of ``model`` at ``version`` through the gateway; the answer."""
    body = {"name": model, "alias": alias, "version": version}
    return platform.mlflow("POST", "registered-models/alias", token, json=body)


def test_data_scientist_cannot_move_protected_aliases(platform, tokens):
    ds = tokens["ds"]
    make_versions(platform, ds, "models-guarded", 2)
    for alias in ("champion", "previous-champion"):
        r = set_alias(platform, ds, "models-guarded", alias, "1")
        assert r.status_code == 403, r.text
    assert set_alias(platform, ds, "models-guarded", "staging", "1").status_code == 200
    r = platform.mlflow(
        "DELETE",
        "model-versions/delete",
        ds,
        json={"name": "models-guarded", "version": "2"},
    )
    assert r.status_code == 403
    assert aliases(platform, ds, "models-guarded") == {"staging": "1"}
    entries = audit(platform, user="models-alice", action="mlflow:registered-models/alias")
    assert {e["result"] for e in entries} == {"allowed", "refused"}
    refused = [e for e in entries if e["result"] == "refused"]
    assert refused[0]["resource"].startswith("models-guarded@")
    assert (refused[0]["model"], refused[0]["version"]) == ("models-guarded", "1")
    assert refused[0]["alias"] in ("champion", "previous-champion")
    # Four eyes: not even an admin moves champion by a direct call ...
    r = set_alias(platform, tokens["admin"], "models-guarded", "champion", "2")
    assert r.status_code == 403, r.text
    assert "promotion request" in r.json()["message"]
    entry = audit(platform, user="admin", action="mlflow:registered-models/alias")[0]
    assert entry["result"] == "refused" and "four eyes" in entry["detail"]
    # ... only an approved request does (asked by one person, approved by another).
    platform.promote("models-guarded", "2", ds)
    assert aliases(platform, ds, "models-guarded") == {"staging": "1", "champion": "2"}


def test_the_models_widget_shows_what_the_panel_shows(platform, tokens):
    """``nbp.widgets.models`` over the real ``api/models``: versions, aliases, run metrics."""
    from nbplatform import widgets
    from nbplatform.client import PlatformClient

    ds = tokens["ds"]
    make_versions(platform, ds, "models-widget", 2)
    assert set_alias(platform, ds, "models-widget", "staging", "1").status_code == 200
    client = PlatformClient(f"{platform.url}/services/platform/", tokens["viewer"])
    picker = widgets.models(filter_string="name = 'models-widget'", client=client)
    assert picker.error is None
    assert picker.models_dropdown.options == (("models-widget", "models-widget"),)
    assert picker.versions_dropdown.options == (("v2", "2"), ("v1 @staging", "1"))
    assert picker.value == ("models-widget", "2")
    assert "<code>@staging</code> → v1" in picker.aliases.value
    run_id = picker.versions["2"]["run_id"]
    metric = {"run_id": run_id, "key": "auc", "value": 0.9, "timestamp": 0}
    assert platform.mlflow("POST", "runs/log-metric", ds, json=metric).status_code == 200
    picker.refresh()
    assert picker.value == ("models-widget", "2") and ">auc</td>" in picker.details.value
    picker.versions_dropdown.value = "1"
    assert picker.model_uri == "models:/models-widget/1"
    assert "models:/models-widget@staging</code>" in picker.uri.value


def test_request_approve_rollback_end_to_end(platform, tokens):
    ds, admin = tokens["ds"], tokens["admin"]
    make_versions(platform, ds, "models-churn", 2)

    def promote(version):
        req = platform.service(
            "POST",
            "api/promotions",
            ds,
            json={"model": "models-churn", "version": version, "note": "n"},
        )
        assert req.status_code == 201, req.text
        assert (
            platform.service(
                "POST", f"api/promotions/{req.json()['id']}/approve", ds, json={}
            ).status_code
            == 403
        )
        ok = platform.service(
            "POST", f"api/promotions/{req.json()['id']}/approve", admin, json={"comment": "ok"}
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "approved" and ok.json()["decided_by"] == "admin"

    promote("1")
    assert aliases(platform, ds, "models-churn") == {"champion": "1"}
    promote("2")
    assert aliases(platform, ds, "models-churn") == {"champion": "2", "previous-champion": "1"}
    assert (
        platform.service("POST", "api/models/models-churn/rollback", ds, json={}).status_code == 403
    )
    back = platform.service("POST", "api/models/models-churn/rollback", admin, json={})
    assert back.status_code == 200, back.text
    assert aliases(platform, ds, "models-churn") == {"champion": "1", "previous-champion": "2"}
    rejected = platform.service(
        "POST", "api/promotions", ds, json={"model": "models-churn", "version": "2"}
    ).json()
    r = platform.service(
        "POST", f"api/promotions/{rejected['id']}/reject", admin, json={"comment": "not yet"}
    )
    assert r.json()["state"] == "rejected" and r.json()["comment"] == "not yet"
    listed = platform.service("GET", "api/promotions?state=approved&model=models-churn", ds)
    assert len(listed.json()["promotions"]) == 2
    actions = {e["action"] for e in audit(platform, user="admin")}
    assert {"promotion:approve", "promotion:reject", "model:rollback"} <= actions
    assert any(
        e["result"] == "refused" and e["action"] == "model:rollback"
        for e in audit(platform, user="models-alice")
    )


def test_concurrent_approvals_one_wins(platform, tokens):
    ds, admin = tokens["ds"], tokens["admin"]
    make_versions(platform, ds, "models-race", 2)
    ids = [
        platform.service(
            "POST", "api/promotions", ds, json={"model": "models-race", "version": v}
        ).json()["id"]
        for v in ("1", "2")
    ]
    with ThreadPoolExecutor(2) as pool:
        codes = list(
            pool.map(
                lambda i: (
                    platform.service(
                        "POST", f"api/promotions/{i}/approve", admin, json={}
                    ).status_code
                ),
                ids,
            )
        )
    assert sorted(codes) == [200, 409]
    winner = ids[codes.index(200)]
    assert aliases(platform, ds, "models-race")["champion"] == ("1" if winner == ids[0] else "2")
    # The lost race is a conflict in the audit log, naming what it touched.
    entries = audit(platform, model="models-race", action="promotion:approve")
    assert sorted(e["result"] for e in entries) == ["allowed", "conflict"]
    lost = next(e for e in entries if e["result"] == "conflict")
    loser_version = "2" if winner == ids[0] else "1"
    assert (lost["status"], lost["version"], lost["alias"]) == (409, loser_version, "champion")
    created = audit(platform, model="models-race", action="mlflow:model-versions/create")
    assert sorted(e["version"] for e in created) == ["1", "2"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "api/2.0/mlflow-artifacts/artifacts/0/../../../etc/passwd"),
        ("GET", "api/2.0/mlflow-artifacts/artifacts/0/%2e%2e/%2e%2e/x"),
        ("PUT", "api/2.0/mlflow-artifacts/artifacts/0/%2E%2E/evil.txt"),
        ("GET", "get-artifact?path=../../x&run_uuid=1"),
    ],
)
def test_dotdot_artifact_paths_refused(platform, tokens, method, path):
    # Kernels call the service on loopback directly; the public proxy already folds
    # '..' segments (also percent-encoded ones), so they cannot leave the gateway.
    status, body = platform.raw(
        method,
        f"/services/platform/mlflow/{path}",
        tokens["ds"],
        body=b"x" if method == "PUT" else None,
    )
    assert status == 400, body


def test_large_artifact_streams_both_ways(platform, tokens):
    data = os.urandom(24 * 1024 * 1024)
    run = platform.mlflow("POST", "runs/create", tokens["ds"], json={"experiment_id": "0"})
    run_id = run.json()["run"]["info"]["run_id"]
    path = f"mlflow/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/blob.bin"
    up = platform.service(
        "PUT",
        path,
        tokens["ds"],
        data=iter([data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)]),
    )
    assert up.status_code == 200, up.text
    down = platform.service("GET", path, tokens["viewer"])
    assert down.status_code == 200 and down.content == data
    assert platform.service("PUT", path, tokens["viewer"], data=b"x").status_code == 403


def test_mlflow_address_never_handed_out(platform, tokens):
    socket_path = str(platform.home / "run" / "mlflow.sock")
    ds = tokens["ds"]
    responses = [
        platform.mlflow("GET", "registered-models/search", ds),
        platform.mlflow("GET", "experiments/search?max_results=10", ds),
        platform.mlflow("GET", "registered-models/get?name=does-not-exist", ds),
        platform.mlflow("POST", "experiments/create", tokens["viewer"], json={"name": "x"}),
        platform.service("GET", "mlflow/", ds),
        platform.service("GET", "mlflow/static-files/", ds),
        platform.service("GET", "mlflow/api/2.0/mlflow-artifacts/artifacts/0/nothing", ds),
        platform.service("GET", "mlflow/version", ds),
        platform.service("GET", "api/models", ds),
        platform.service("GET", "mlflow/", None),
    ]
    for r in responses:
        text = r.text + json.dumps(dict(r.headers))
        assert socket_path not in text and "mlflow.sock" not in text
        assert "http://mlflow/" not in text


def test_requests_without_token_refused(platform):
    for method, path in [
        ("GET", "mlflow/api/2.0/mlflow/registered-models/search"),
        ("POST", "mlflow/api/2.0/mlflow/experiments/create"),
        ("PUT", "mlflow/api/2.0/mlflow-artifacts/artifacts/0/x"),
        ("GET", "api/models"),
        ("GET", "api/promotions"),
        ("POST", "api/promotions"),
        ("GET", "api/audit"),
    ]:
        r = platform.service(method, path, None, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        r = platform.service(method, path, "not-a-token", json={})
        assert r.status_code in (401, 403), (method, path, r.status_code)
    ui = platform.service("GET", "mlflow/", None)
    assert ui.status_code == 302 and "/hub/api/oauth2/authorize" in ui.headers["Location"]
    # Only a page visit goes to the login: a script's request of the UI (a fetch, a
    # worker's script) is 401, so that it never starts an OAuth round of its own.
    for mode in ("cors", "same-origin", "no-cors"):
        for path in ("mlflow/", "mlflow/static-files/x.worker.js", "mlflow/ajax-api/2.0/x"):
            status, _ = platform.raw(
                "GET", f"/services/platform/{path}", None, headers={"Sec-Fetch-Mode": mode}
            )
            assert status == 401, (mode, path, status)
    # A token's call gets no XSRF cookie for the UI: it is not a browser session.
    ui = platform.service("GET", "mlflow/", platform.admin_token)
    assert ui.status_code == 200
    assert "mlflow-request-header" not in ui.headers.get("Set-Cookie", "")


def test_refused_requests_with_unread_bodies_close_their_connection(platform, tokens):
    """A refusal sent before the body is read closes the connection, and says so.

    Tornado drops such a connection after the response; without ``Connection:
    close`` the proxy would reuse it for the next request and answer 503.
    """
    body = json.dumps({"name": "x" * 4096})
    for _ in range(40):
        for token in (None, "not-a-token"):
            r = platform.mlflow("GET", "experiments/search", token, data=body)
            assert r.status_code in (401, 403), r.status_code
            assert r.headers.get("Connection", "").lower() == "close"
            r = platform.service("GET", "api/health", tokens["viewer"])
            assert r.status_code == 200, r.status_code


def test_audit_is_admin_only_and_paginated(platform, tokens):
    assert platform.service("GET", "api/audit", tokens["ds"]).status_code == 403
    first = platform.service("GET", "api/audit?max_results=2", tokens["admin"]).json()
    assert len(first["entries"]) == 2 and first["next_page_token"]
    second = platform.service(
        "GET", f"api/audit?max_results=2&page_token={first['next_page_token']}", tokens["admin"]
    ).json()
    assert second["entries"][0]["id"] < first["entries"][-1]["id"]
    assert platform.service("GET", "api/audit?result=maybe", tokens["admin"]).status_code == 400


def test_state_lies_in_the_backends_the_platform_was_given(platform, tokens, servers):
    """Users, models, ownership and artifacts are where the settings say, and nowhere else."""
    make_versions(platform, tokens["ds"], "models-where", 1)
    run = platform.mlflow("POST", "runs/create", tokens["ds"], json={"experiment_id": "0"})
    run_id = run.json()["run"]["info"]["run_id"]
    key = f"0/{run_id}/artifacts/where.txt"
    up = platform.service(
        "PUT", f"mlflow/api/2.0/mlflow-artifacts/artifacts/{key}", tokens["ds"], data=b"here"
    )
    assert up.status_code == 200, up.text
    home = platform.home
    files = [
        home / "hub" / "jupyterhub.sqlite",
        home / "mlflow" / "mlflow.db",
        home / "platform" / "platform.sqlite",
    ]
    artifacts = home / "mlflow" / "artifacts"
    if "NBP_PLATFORM_DB_URL" not in platform.env:  # embedded
        assert all(f.is_file() for f in files)
        assert (artifacts / key).read_bytes() == b"here"
        return
    assert not any(f.exists() for f in files)
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))
    prefix = platform.env["NBP_MLFLOW_ARTIFACTS"].removeprefix(f"s3://{servers.s3.bucket}/")
    assert f"{prefix}/{key}" in servers.s3.keys(prefix)
    body = servers.s3.client().get_object(Bucket=servers.s3.bucket, Key=f"{prefix}/{key}")
    assert body["Body"].read() == b"here"

    def database(name: str) -> str:
        return platform.env[name].rsplit("/", 1)[1]

    pg = servers.postgres
    with pg.connect(database("NBP_HUB_DB_URL")) as conn:
        users = {row[0] for row in conn.execute("SELECT name FROM users")}
    assert {"admin", "models-alice", "models-victor"} <= users
    with pg.connect(database("NBP_MLFLOW_BACKEND_URI")) as conn:
        models = {row[0] for row in conn.execute("SELECT name FROM registered_models")}
        runs = {row[0] for row in conn.execute("SELECT run_uuid FROM runs")}
    assert "models-where" in models and run_id in runs
    platform_db = database("NBP_PLATFORM_DB_URL")
    # The host's tables and every capability's (models, jobs, features, drift).
    assert {
        "alembic_version",
        "platform_info",
        "audit_log",
        "promotions",
        "mlflow_owners",
        "jobs",
        "job_runs",
        "feature_materializations",
        "drift_monitors",
    } <= pg.tables(platform_db)
    with pg.connect(platform_db) as conn:
        owners = conn.execute(
            "SELECT owner FROM mlflow_owners WHERE kind = %s AND key = %s",
            ("registered_model", "models-where"),
        ).fetchall()
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE \"user\" = 'models-alice'"
        ).fetchone()[0]
    assert owners == [("models-alice",)] and audited > 0
