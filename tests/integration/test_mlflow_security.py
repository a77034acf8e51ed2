"""The MLflow gateway tried as an attacker would: bodies MLflow reads otherwise, other
people's work, artifact locations, reserved tags, hostile paths, the socket.

Everything runs against the real platform (hub, proxy, platform service, MLflow on
its Unix socket) of ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import socket
import stat

import psutil
import pytest
import requests

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def people(platform):
    return {
        "alice": platform.create_user("sec-alice", "data-scientist"),
        "bob": platform.create_user("sec-bob", "data-scientist"),
        "viewer": platform.create_user("sec-vera", "viewer"),
        "admin": platform.admin_token,
    }


@pytest.fixture(scope="module")
def alice_work(platform, people):
    """Alice's experiment, a run in it with an artifact, her model with a version."""
    alice = people["alice"]
    exp = platform.mlflow("POST", "experiments/create", alice, json={"name": "sec-alice-exp"})
    assert exp.status_code == 200, exp.text
    experiment_id = exp.json()["experiment_id"]
    run = platform.mlflow("POST", "runs/create", alice, json={"experiment_id": experiment_id})
    assert run.status_code == 200, run.text
    run_id = run.json()["run"]["info"]["run_id"]
    artifacts = "mlflow/api/2.0/mlflow-artifacts/artifacts"
    artifact = f"{artifacts}/{experiment_id}/{run_id}/artifacts/model/MLmodel"
    assert platform.service("PUT", artifact, alice, data=b"alice's").status_code == 200
    assert platform.mlflow("POST", "registered-models/create", alice, json={"name": "sec-m"}).ok
    version = platform.mlflow(
        "POST",
        "model-versions/create",
        alice,
        json={"name": "sec-m", "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    assert version.status_code == 200, version.text
    platform.promote("sec-m", "1", alice)
    return {"experiment": experiment_id, "run": run_id, "artifact": artifact}


def champion(platform, token, name="sec-m"):
    r = platform.mlflow("GET", f"registered-models/get?name={name}", token)
    return {a["alias"]: a["version"] for a in r.json()["registered_model"].get("aliases", [])}


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize(
    "body",
    [
        json.dumps(json.dumps({"name": "sec-m", "alias": "champion", "version": "1"})),
        '{"name": "sec-m", "alias": "staging", "alias": "champion", "version": "1"}',
        '{"name": "sec-m", "alias": "champion", "version": "1", "unknown": true}',
        '["sec-m", "champion"]',
        '{"name": "sec-m", "alias": "champion"' + "," * 3,
    ],
)
def test_protected_alias_bodies_read_otherwise_are_refused(
    platform, people, alice_work, method, body
):
    r = platform.mlflow(
        method,
        "registered-models/alias",
        people["alice"],
        data=body,
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"]
    assert champion(platform, people["alice"]) == {"champion": "1"}


def test_query_and_body_that_disagree_are_refused(platform, people, alice_work):
    r = platform.service(
        "DELETE",
        "mlflow/api/2.0/mlflow/registered-models/alias?name=sec-m&alias=staging",
        people["alice"],
        json={"name": "sec-m", "alias": "champion"},
    )
    assert r.status_code == 400, r.text
    # camelCase spellings are the same field for MLflow, so for the gateway too
    r = platform.mlflow(
        "POST",
        "runs/set-tag",
        people["bob"],
        json={"runId": alice_work["run"], "key": "x", "value": "y"},
    )
    assert r.status_code == 403, r.text
    assert champion(platform, people["alice"]) == {"champion": "1"}


def test_nobody_changes_anothers_work(platform, people, alice_work):
    bob, run, exp = people["bob"], alice_work["run"], alice_work["experiment"]
    attempts = [
        ("PUT", alice_work["artifact"], {"data": b"bob was here"}),
        ("DELETE", alice_work["artifact"], {}),
    ]
    for method, path, kwargs in attempts:
        r = platform.service(method, path, bob, **kwargs)
        assert r.status_code == 403, (method, r.text)
    for endpoint, body in [
        ("runs/set-tag", {"run_id": run, "key": "note", "value": "bob"}),
        ("runs/log-metric", {"run_id": run, "key": "m", "value": 1, "timestamp": 1}),
        ("runs/update", {"run_id": run, "status": "FAILED"}),
        ("runs/delete", {"run_id": run}),
        ("experiments/delete", {"experiment_id": exp}),
        ("experiments/update", {"experiment_id": exp, "new_name": "mine-now"}),
        ("registered-models/set-tag", {"name": "sec-m", "key": "k", "value": "v"}),
        ("model-versions/create", {"name": "sec-m", "source": f"runs:/{run}/m", "run_id": run}),
        ("registered-models/alias", {"name": "sec-m", "alias": "staging", "version": "1"}),
    ]:
        r = platform.mlflow("POST", endpoint, bob, json=body)
        assert r.status_code == 403, (endpoint, r.text)
        assert "sec-alice" in r.json()["message"], r.text
    down = platform.service("GET", alice_work["artifact"], bob)
    assert down.status_code == 200 and down.content == b"alice's"
    got = platform.mlflow("GET", f"runs/get?run_id={run}", bob).json()["run"]
    assert got["info"]["lifecycle_stage"] == "active"
    assert "note" not in {t["key"] for t in got["data"].get("tags", [])}
    refused = platform.service(
        "GET", "api/audit", people["admin"], params={"user": "sec-bob", "result": "refused"}
    ).json()["entries"]
    assert any(e["resource"] == f"run:{run}" for e in refused)


def test_grants_let_others_in_and_revoking_shuts_them_out(platform, people, alice_work):
    alice, bob = people["alice"], people["bob"]
    path = "api/permissions/registered-models/sec-m"
    run = alice_work["run"]

    def bob_adds_version():
        return platform.mlflow(
            "POST",
            "model-versions/create",
            bob,
            json={"name": "sec-m", "source": f"runs:/{run}/m", "run_id": run},
        ).status_code

    assert bob_adds_version() == 403
    # bob cannot grant himself anything; a viewer cannot either
    for token in (bob, people["viewer"]):
        r = platform.service("POST", path, token, json={"user": "sec-bob", "permission": "EDIT"})
        assert r.status_code == 403, r.text
    r = platform.service("POST", path, alice, json={"user": "sec-bob", "permission": "EDIT"})
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "sec-alice" and "sec-bob" in r.json()["may_edit"]["users"]
    assert bob_adds_version() == 200
    mine = platform.service("GET", path, bob).json()
    assert mine["my_permission"] == "EDIT"
    # EDIT is not MANAGE: bob may not grant on
    r = platform.service("POST", path, bob, json={"group": "viewer", "permission": "EDIT"})
    assert r.status_code == 403
    r = platform.service("DELETE", path, alice, json={"user": "sec-bob"})
    assert r.status_code == 200 and r.json()["grants"] == []
    assert bob_adds_version() == 403
    # groups work too
    r = platform.service(
        "POST", path, alice, json={"group": "data-scientist", "permission": "EDIT"}
    )
    assert r.status_code == 200
    assert bob_adds_version() == 200
    platform.service("DELETE", path, alice, json={"group": "data-scientist"})
    for bad in (
        {"user": "sec-bob", "permission": "OWN"},
        {"user": "sec-bob", "group": "x", "permission": "READ"},
        {"permission": "READ"},
        {"user": "sec-bob", "permission": "READ", "extra": 1},
    ):
        assert platform.service("POST", path, alice, json=bad).status_code == 400, bad
    assert (
        platform.service("GET", "api/permissions/registered-models/nope-x", bob).status_code == 404
    )


def test_runs_are_their_creators_whatever_the_client_claims(platform, people):
    bob = people["bob"]
    forged = {"experiment_id": "0", "tags": [{"key": "nbp.user", "value": "sec-alice"}]}
    r = platform.mlflow("POST", "runs/create", bob, json=forged)
    assert r.status_code == 403, r.text
    assert "from your token" in r.json()["message"]
    r = platform.mlflow(  # what MLflow's client guessed is replaced by what the token says
        "POST",
        "runs/create",
        bob,
        json={
            "experiment_id": "0",
            "user_id": "sec-alice",
            "tags": [{"key": "mlflow.user", "value": "sec-alice"}],
        },
    )
    assert r.status_code == 200, r.text
    info = r.json()["run"]
    tags = {t["key"]: t["value"] for t in info["data"]["tags"]}
    assert tags["mlflow.user"] == "sec-bob" and tags["nbp.user"] == "sec-bob"
    assert info["info"]["user_id"] == "sec-bob"
    for key in ("mlflow.user", "nbp.notebook"):
        r = platform.mlflow(
            "POST",
            "runs/set-tag",
            bob,
            json={"run_id": info["info"]["run_id"], "key": key, "value": "x"},
        )
        assert r.status_code == 403 and "reserved" in r.json()["message"]


def test_admin_may_change_anyones_work(platform, people, alice_work):
    admin = people["admin"]
    r = platform.mlflow(
        "POST",
        "runs/create",
        people["alice"],
        json={"experiment_id": alice_work["experiment"]},
    )
    run = r.json()["run"]["info"]["run_id"]
    assert platform.mlflow("POST", "runs/delete", admin, json={"run_id": run}).status_code == 200
    assert platform.mlflow("POST", "runs/restore", admin, json={"run_id": run}).status_code == 200


@pytest.mark.parametrize(
    "location",
    [
        "mlflow-artifacts:/0",
        "mlflow-artifacts:/%2e%2e/%2e%2e",
        "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts",
        "file:///tmp/nbp",
        "s3://bucket/x",
        "/etc",
    ],
)
def test_only_the_platform_chooses_artifact_locations(platform, people, location):
    r = platform.mlflow(
        "POST",
        "experiments/create",
        people["alice"],
        json={"name": f"sec-loc-{abs(hash(location))}", "artifact_location": location},
    )
    assert r.status_code == 400 and "artifact_location" in r.json()["message"], r.text


@pytest.mark.parametrize(
    "source",
    ["file:///etc/passwd", "/etc/passwd", "s3://bucket/m", "mlflow-artifacts:/../../x"],
)
def test_model_version_sources_are_checked(platform, people, alice_work, source):
    r = platform.mlflow(
        "POST",
        "model-versions/create",
        people["alice"],
        json={"name": "sec-m", "source": source},
    )
    assert r.status_code == 400, r.text


HOSTILE = [
    "api/2.0/mlflow-artifacts/artifacts/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "api/2.0/mlflow-artifacts/artifacts/0/%u2216..%u2216x",
    "api/2.0/mlflow-artifacts/artifacts/0/" + "a" * 30_000,
    "api/2.0/mlflow-artifacts/artifacts/" + "a/" * 5_000,
    "api/2.0/mlflow-artifacts/artifacts/0/%00/x",
    "api/2.0/mlflow-artifacts/artifacts/0/%5c..%5cx",
    "api/2.0/mlflow-artifacts/artifacts//etc/passwd",
    "api/2.0/mlflow-artifacts/artifacts/file:%2f%2f%2fetc%2fpasswd",
    "get-artifact?path=%c0%ae%c0%ae/x&run_uuid=1",
    "model-versions/get-artifact?name=sec-m&version=1&path=../../x",
    "api/2.0/mlflow/runs/get?run_id=%c0%ae",
    "api/2.0/mlflow/%252e%252e/x",
]


@pytest.mark.parametrize("path", HOSTILE)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_hostile_paths_are_4xx_and_the_gateway_keeps_answering(
    platform, people, alice_work, method, path
):
    status, body = platform.raw(
        method,
        f"/services/platform/mlflow/{path}",
        people["alice"],
        body=b"x" if method == "PUT" else None,
    )
    assert 400 <= status < 500, (status, body[:300])
    if status != 404:
        assert json.loads(body)["message"]
    health = platform.service("GET", "mlflow/health", people["viewer"])
    assert health.status_code == 200


def test_oversized_json_body_is_a_400_that_reaches_the_client(platform, people):
    r = platform.mlflow(
        "POST",
        "registered-models/alias",
        people["alice"],
        data=b'{"name": "' + b"x" * (9 * 1024 * 1024) + b'"}',
    )
    assert r.status_code == 400 and "larger" in r.json()["message"]
    entries = platform.service(
        "GET", "api/audit", people["admin"], params={"user": "sec-alice", "result": "refused"}
    ).json()["entries"]
    assert any("larger" in (e["detail"] or "") for e in entries)


def test_graphql_and_model_version_artifacts_work(platform, people, alice_work):
    query = {
        "query": 'query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } }'
    }
    r = platform.service("POST", "mlflow/graphql", people["viewer"], json=query)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["mlflowGetExperiment"]["experiment"]["name"] == "Default"
    mutation = {"query": "mutation { x }"}
    assert (
        platform.service("POST", "mlflow/graphql", people["alice"], json=mutation).status_code
        == 403
    )
    r = platform.service(
        "GET",
        "mlflow/model-versions/get-artifact?name=sec-m&version=1&path=MLmodel",
        people["viewer"],
    )
    assert r.status_code == 200 and r.content == b"alice's", r.text[:300]
    r = platform.service(
        "GET",
        f"mlflow/get-artifact?path=model/MLmodel&run_uuid={alice_work['run']}",
        people["viewer"],
    )
    assert r.status_code == 200 and r.content == b"alice's", r.text[:300]
    r = platform.service("GET", "mlflow/get-artifact?path=x&run_uuid=nope", people["viewer"])
    assert r.status_code == 404, r.text[:300]


def test_versions_get_their_runs_lineage_whatever_the_client(platform, people, alice_work):
    r = platform.mlflow(
        "GET",
        "model-versions/get?name=sec-m&version=1",
        people["viewer"],
    )
    tags = {t["key"]: t["value"] for t in r.json()["model_version"].get("tags", [])}
    assert tags.get("nbp.user") == "sec-alice"


def test_mlflow_listens_on_no_port_and_only_the_hub_user_reaches_its_socket(platform, people):
    socket_path = platform.home / "run" / "mlflow.sock"
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)
    folder = os.stat(socket_path.parent)
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
    servers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(socket_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert servers, "no MLflow server process found"
    for proc in servers:
        for conn in proc.net_connections(kind="inet"):
            assert conn.status != psutil.CONN_LISTEN, (proc.pid, conn)
    # The hub's own user reaches it (the platform service does, above); another
    # user of this machine does not.
    if os.getuid() != 0:
        return
    pid = os.fork()
    if pid == 0:  # the child: become nobody, then try the socket
        code = 3
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(socket_path))
            code = 1
        except PermissionError:
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "another user reached the MLflow socket"
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(socket_path))


@pytest.mark.parametrize(
    "path",
    [
        "/services/platform/mlflow/api/2.0/mlflow-artifacts/artifacts/%c0%ae%c0%ae/x",
        "/services/platform/api/runs/%ff",
        "/hub/api/users/%c0%ae",
        "/user/%c0%ae/lab",
    ],
)
def test_the_front_door_answers_undecodable_paths_with_400(platform, people, path):
    r = requests.get(platform.url + path, headers={"Authorization": f"token {people['alice']}"})
    assert r.status_code == 400 and "UTF-8" in r.json()["message"], r.text[:300]
    assert platform.service("GET", "api/health", people["viewer"]).status_code == 200


def test_library_grants_and_revokes(platform, people, alice_work, monkeypatch):
    import nbplatform as nbp

    monkeypatch.setenv("NBP_PLATFORM_URL", f"{platform.url}/services/platform/")
    monkeypatch.setenv("NBP_TOKEN", people["alice"])
    after = nbp.registry.grant("sec-m", user="sec-vera", permission="READ")
    assert {"principal_type": "user", "principal": "sec-vera", "permission": "READ"}.items() <= (
        after["grants"][0].items()
    )
    assert nbp.registry.get_permissions("sec-m")["owner"] == "sec-alice"
    assert nbp.registry.grant(experiment_id=alice_work["experiment"], group="viewer")["grants"]
    assert nbp.registry.revoke("sec-m", user="sec-vera")["grants"] == []
    nbp.registry.revoke(experiment_id=alice_work["experiment"], group="viewer")
    monkeypatch.setenv("NBP_TOKEN", people["bob"])
    with pytest.raises(nbp.errors.PermissionDeniedError, match="MANAGE"):
        nbp.registry.grant("sec-m", user="sec-bob")
    with pytest.raises(nbp.errors.InvalidParameterError):
        nbp.registry.grant(user="sec-bob")
