"""Hostile paths, encodings and bodies against every endpoint that takes a path, id or body.

Every answer must be a 4xx JSON error with a message (or a 2xx that reaches
nothing it should not), never a 500; the service must still answer afterwards.
A NUL, a lone surrogate or over-long text goes into every field of every route:
the routes come from the applications (``routes_support``) and each operation's
fields and query parameters from ``openapi.yaml``, MLflow's endpoints from
MLflow's own descriptors, so a new resource is covered the day it is added.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import string

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_helpers import write_notebook
from routes_support import (
    PREFIX,
    body_fields,
    documented,
    expand,
    lab_routes,
    openapi_spec,
    query_parameters,
    service_routes,
)

from platform_harness import Platform

pytestmark = pytest.mark.integration

SERVICE = "/services/platform/"
MB = 1 << 20

#: Hostile path segments: traversal in every spelling, encodings, schemes, NUL...
HOSTILE = [
    "..",
    "../..",
    "..%2f..%2fhub%2fapi",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fapi%2faudit",
    "%252e%252e%252f",
    ".%2e/.%2e/audit",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/audit",
    "%c0%af",
    "%e0%80%ae%e0%80%ae",
    "%u2216..%u2216audit",
    "%e2%88%96..%e2%88%96",
    "..\\..\\audit",
    "..%5c..%5caudit",
    "%00",
    "a%00b",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "file:%2f%2f%2fetc%2fpasswd",
    "http:%2f%2f127.0.0.1:1%2f",
    "javascript:alert(1)",
    "~root",
    "admin..",
    "a" * 5000,
    "/".join(["a"] * 300),
    "%ff%fe",
    "'; DROP TABLE audit_log; --",
    "' OR '1'='1",
    "%7B%7D",
    "?x=1#y",
]


def service(platform: Platform, method: str, path: str, token: str | None, **kw):
    """Call the service through the proxy, or directly where the proxy would answer itself.

    configurable-http-proxy answers 500 on its own for a path whose escapes are
    not UTF-8 (``%c0%ae``, ``%ff``): those go to the service's port.
    """
    base = platform.url
    if _not_utf8(path.split("?", 1)[0]):
        base = f"http://127.0.0.1:{platform.env['NBP_SERVICE_PORT']}"
    return requests.request(
        method,
        f"{base}{SERVICE}{path}",
        headers={**Platform.auth(token), **kw.pop("headers", {})},
        timeout=60,
        allow_redirects=False,
        **kw,
    )


INDEX = "nbplatform platform service\nsigned in as"


def assert_refused_well(r: requests.Response, where) -> None:
    """A 4xx with a JSON message (431/414 are the proxy's own, for over-long requests).

    A literal ``..`` is resolved by the client before sending (RFC 3986), so
    ``api/runs/../..`` asks for the service's index page: that 200 (who you are)
    reaches nothing else.
    """
    assert r.status_code < 500, (where, r.status_code, r.text[:300])
    if r.status_code in (414, 431) or (r.status_code == 200 and r.text.startswith(INDEX)):
        return
    assert 400 <= r.status_code < 500, (where, r.status_code, r.text[:300])
    body = r.json()
    assert isinstance(body.get("message"), str) and body["message"], (where, body)
    assert "SELECT" not in body["message"] and "Traceback" not in body["message"], body


def refused_naming(r: requests.Response, names: tuple[str, ...], where) -> None:
    """A 4xx with a JSON message that names one of ``names`` (``notebook: ...``).

    A path that is not UTF-8 is the proxy's own 400 ("The request path is ...").
    """
    assert 400 <= r.status_code < 500, (where, r.status_code, r.text[:300])
    message = r.json()["message"]
    named = [n for n in names if re.search(rf"(^|[\s'.]){re.escape(n)}([:.\s']|$)", message)]
    assert named, (where, message[:300])


def _not_utf8(path: str) -> bool:
    from urllib.parse import unquote_to_bytes

    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@pytest.fixture(scope="module")
def fuzz(platform):
    token = platform.create_user("fuzz-fay", "data-scientist")
    write_notebook(platform.home / "users" / "fuzz-fay" / "t.ipynb")
    r = service(platform, "POST", "api/jobs", token, json={"name": "fz", "notebook": "t.ipynb"})
    assert r.status_code == 201, r.text
    job = r.json()
    r = service(platform, "POST", f"api/jobs/{job['id']}/runs", token, json={})
    assert r.status_code == 201, r.text
    return {"token": token, "job": job, "run": r.json()}


def still_answers(platform: Platform, token: str) -> None:
    r = service(platform, "GET", "api/health", token)
    assert r.status_code == 200 and r.json()["status"] == "ok"


# Paths and ids ---------------------------------------------------------------------
PATH_TEMPLATES = [
    ("GET", "api/runs/{x}"),
    ("GET", "api/runs/{x}/output"),
    ("GET", "api/runs/{x}/html"),
    ("GET", "api/runs/{x}/log"),
    ("POST", "api/runs/{x}/cancel"),
    ("GET", "api/jobs/{x}"),
    ("PATCH", "api/jobs/{x}"),
    ("DELETE", "api/jobs/{x}"),
    ("GET", "api/promotions/{x}"),
    ("POST", "api/promotions/{x}/approve"),
    ("GET", "api/models/{x}"),
    ("POST", "api/models/{x}/rollback"),
]


def test_hostile_paths_and_ids_never_reach_anything_or_fail(platform, fuzz):
    token = fuzz["token"]
    for method, template in PATH_TEMPLATES:
        for segment in HOSTILE:
            path = template.format(x=segment)
            kw = {"json": {}} if method != "GET" else {}
            r = service(platform, method, path, token, **kw)
            where = (method, path[:120])
            assert_refused_well(r, where)
    # the run's own files are reachable only through its id; traversal from there is not
    run = fuzz["run"]["id"]
    for segment in HOSTILE[:16]:
        r = service(platform, "GET", f"api/runs/{run}/{segment}", token)
        assert_refused_well(r, segment)
    still_answers(platform, token)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("api/runs/{run}/log?tail=abc", 400),
        ("api/runs/{run}/log?tail=-5", 400),
        ("api/runs/{run}/log?tail=%C2%B2", 400),
        ("api/runs/{run}/log?tail=" + "9" * 5000, 400),
        ("api/runs/{run}/log?tail=0", 200),
        ("api/promotions/99999999999999999999999", 404),
        ("api/promotions/0", 404),
        ("api/promotions/%D9%A1", 404),
        ("api/promotions/-1", 404),
        ("api/promotions/1e3", 404),
        ("api/promotions?page_token=99999999999999999999999", 400),
        ("api/promotions?page_token=%C2%B2", 400),
        ("api/promotions?max_results=%C2%B2", 400),
        ("api/audit?page_token=99999999999999999999999", 400),
        ("api/audit?max_results=" + "1" * 5000, 400),
        ("api/audit?since=yesterday", 400),
        ("api/runs?max_results=99999999999999999999999", 400),
        ("api/runs?status=%01x", 400),
        ("api/jobs?page_token=eyJvIjogMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9", 400),
        ("api/jobs?page_token=%ff", 400),
        ("api/runs/" + "a" * 100, 404),
    ],
)
def test_hostile_query_arguments_are_bad_input(platform, fuzz, path, status):
    admin = platform.admin_token
    r = service(platform, "GET", path.format(run=fuzz["run"]["id"]), admin)
    assert r.status_code == status, (path, r.status_code, r.text[:300])
    if status != 200:
        assert_refused_well(r, path)


def test_very_long_and_very_deep_paths(platform, fuzz):
    token = fuzz["token"]
    for path in (
        "api/runs/" + "a" * 100_000,
        "api/" + "a/" * 20_000,
        "api/models/" + "%2e" * 30_000,
    ):
        r = service(platform, "GET", path, token)
        assert r.status_code in (400, 404, 414, 431), (path[:80], r.status_code, r.text[:200])
    still_answers(platform, token)


# Bodies ----------------------------------------------------------------------------
BODIES = [
    (b"[" * 100_000, "application/json"),
    (b"{" * 100_000, "application/json"),
    (json.dumps(json.dumps({"name": "x", "notebook": "t.ipynb"})).encode(), "application/json"),
    (b'{"name": "a", "name": "b", "notebook": "t.ipynb"}', "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b"42", "application/json"),
    (b'"text"', "application/json"),
    (b'{"comment": NaN, "alias": NaN}', "application/json"),
    (b"\xc0\xae\xc0\xae", "application/json"),
    (b'{"a":', "application/json"),
    (b"name=x&notebook=t.ipynb", "application/x-www-form-urlencoded"),
    (b'{"name": "x", "notebook": "t.ipynb"}', "text/plain"),
    (b'{"name": "x", "notebook": "t.ipynb"}', "application/json; charset=latin-1"),
    (
        b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--",
        "multipart/form-data; boundary=b",
    ),
    (b'{"unknown_field": 1, "name": "x", "notebook": "t.ipynb"}', "application/json"),
    (b'{"model": "m", "version": "1", "admin": true}', "application/json"),
    (b'{"comment": "ok", "state": "approved"}', "application/json"),
    (b'{"alias": "champion", "version": "3"}', "application/json"),
    (b'{"parameters": {"x": 1}, "owner": "admin"}', "application/json"),
    (b'{"x": ' + b"1" * 5000 + b"}", "application/json"),
]


def write_endpoints(fuzz) -> list[tuple[str, str]]:
    job, run = fuzz["job"]["id"], fuzz["run"]["id"]
    return [
        ("POST", "api/jobs"),
        ("PATCH", f"api/jobs/{job}"),
        ("POST", f"api/jobs/{job}/runs"),
        ("POST", f"api/runs/{run}/cancel"),
        ("POST", f"api/runs/{run}/rerun"),
        ("DELETE", f"api/jobs/{job}"),
        ("POST", "api/promotions"),
        ("POST", "api/promotions/1/approve"),
        ("POST", "api/promotions/1/reject"),
        ("POST", "api/models/fuzz-model/rollback"),
    ]


def test_hostile_bodies_are_refused_with_a_message(platform, fuzz):
    admin = platform.admin_token
    for method, path in write_endpoints(fuzz):
        for raw, content_type in BODIES:
            r = service(
                platform, method, path, admin, data=raw, headers={"Content-Type": content_type}
            )
            where = (method, path, raw[:60], content_type)
            assert 400 <= r.status_code < 500, (where, r.status_code, r.text[:300])
            assert_refused_well(r, where)
    # the job is still there, unchanged: no hostile body got through
    job = service(platform, "GET", f"api/jobs/{fuzz['job']['id']}", admin).json()
    assert job["name"] == "fz" and job["owner"] == "fuzz-fay"
    still_answers(platform, admin)


def test_unknown_fields_are_refused_on_every_resource(platform, fuzz):
    admin = platform.admin_token
    for method, path in write_endpoints(fuzz):
        r = service(platform, method, path, admin, json={"no_such_field": 1})
        assert r.status_code == 400, (method, path, r.status_code, r.text[:300])
        assert "no_such_field" in r.json()["message"], (method, path, r.text[:300])


def raw_request(platform: Platform, head: str, body: bytes = b"", port: str = "NBP_PORT") -> bytes:
    """Send a request as bytes (declared sizes the client libraries would not send)."""
    with socket.create_connection(("127.0.0.1", int(platform.env[port])), timeout=60) as sock:
        sock.sendall(head.encode() + body)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < 64:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            sock.settimeout(2)
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
        return data


def test_oversized_bodies_get_400_and_are_audited(platform, fuzz):
    token = fuzz["token"]
    job = fuzz["job"]["id"]
    path = f"{SERVICE}api/jobs/{job}"
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {200 * MB}\r\n\r\n"
    )
    answer = raw_request(platform, head, b"{" + b" " * MB, "NBP_SERVICE_PORT")
    status = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status, answer[:300]  # answered before the 200 MB arrive
    assert b"larger than" in answer, answer[:500]
    # a body of a few MB is answered 400 through the proxy too, the connection kept
    r = service(platform, "PATCH", f"api/jobs/{job}", token, data=b"{" + b" " * (3 * MB) + b"}")
    assert r.status_code == 400 and "larger than" in r.json()["message"], r.text[:300]
    # a body over the limit without a declared size (chunked) is refused too
    r = service(
        platform,
        "PATCH",
        f"api/jobs/{job}",
        token,
        data=iter([b'{"retries": 1, "tags": ["' + b"x" * (256 * 1024) + b'"'] * 8),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "larger than" in r.json()["message"], r.text[:300]
    entries = service(
        platform, "GET", "api/audit", platform.admin_token, params={"user": "fuzz-fay"}
    ).json()["entries"]
    refused = [e for e in entries if e["status"] == 400 and e["result"] == "refused"]
    assert refused and all(e["resource"] == f"jobs/{job}" for e in refused), entries[:3]
    still_answers(platform, token)


def test_hostile_notebook_paths_for_jobs(platform, fuzz):
    token = fuzz["token"]
    secret = platform.home / "users" / "fuzz-other" / "secret.ipynb"
    write_notebook(secret)
    hostile = [
        "../fuzz-other/secret.ipynb",
        "..\\fuzz-other\\secret.ipynb",
        "%2e%2e/fuzz-other/secret.ipynb",
        "./../fuzz-other/secret.ipynb",
        str(secret),
        "/etc/passwd.ipynb",
        "~/secret.ipynb",
        "~fuzz-other/secret.ipynb",
        "file:///etc/passwd.ipynb",
        "t.ipynb\x00.txt",
        "t.ipynb\x00.ipynb",
        "t.ipynb\ud800",
        "t\n.ipynb",
        "\u2025/fuzz-other/secret.ipynb",
        "\u2216..\u2216fuzz-other\u2216secret.ipynb",
        "a" * 300 + ".ipynb",
        "a/" * 400 + "t.ipynb",
        "",
    ]
    (platform.home / "users" / "fuzz-fay" / "link.ipynb").symlink_to(secret)
    hostile.append("link.ipynb")
    for notebook in hostile:
        r = service(platform, "POST", "api/jobs", token, json={"name": "h", "notebook": notebook})
        assert r.status_code in (400, 404), (notebook[:80], r.status_code, r.text[:300])
        assert_refused_well(r, notebook[:80])
        refused_naming(r, ("notebook",), notebook[:80])
    still_answers(platform, token)


# Job parameters (hypothesis) ---------------------------------------------------------
PARAMS = 'n = 1\nrate = 0.5\nlabel = "a"\nflag = False\nitems = [1]\nconf = {"k": 1}\nfree = None'
#: Any character a parameter's text may hold (NUL is refused, like lone surrogates).
CHARACTERS = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(CHARACTERS, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(CHARACTERS, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
VALID = st.fixed_dictionaries(
    {},
    optional={
        "n": st.integers(-(2**53), 2**53),
        "rate": st.floats(allow_nan=False, allow_infinity=False, width=32)
        | st.integers(-1000, 1000),
        "label": st.text(CHARACTERS, max_size=50),
        "flag": st.booleans(),
        "items": st.lists(JSON_VALUES, max_size=4),
        "conf": st.dictionaries(st.text(CHARACTERS, max_size=8), JSON_VALUES, max_size=4),
        "free": JSON_VALUES,
    },
)
NOT_IDENTIFIER = st.text(min_size=1, max_size=30).filter(lambda s: not s.isidentifier())


@pytest.fixture(scope="module")
def param_job(platform, fuzz):
    write_notebook(platform.home / "users" / "fuzz-fay" / "p.ipynb", params=PARAMS, body=[])
    r = service(
        platform, "POST", "api/jobs", fuzz["token"], json={"name": "params", "notebook": "p.ipynb"}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(parameters=VALID)
def test_any_valid_parameter_value_round_trips(platform, fuzz, param_job, parameters):
    r = service(
        platform, "PATCH", f"api/jobs/{param_job}", fuzz["token"], json={"parameters": parameters}
    )
    assert r.status_code == 200, (parameters, r.text[:300])
    again = service(platform, "GET", f"api/jobs/{param_job}", fuzz["token"]).json()
    assert again["parameters"] == parameters


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NOT_IDENTIFIER, value=JSON_VALUES)
def test_any_non_identifier_parameter_name_is_refused(platform, fuzz, param_job, name, value):
    r = service(
        platform,
        "PATCH",
        f"api/jobs/{param_job}",
        fuzz["token"],
        json={"parameters": {name: value}},
    )
    assert r.status_code == 400, (name, r.status_code, r.text[:300])
    assert r.json()["message"].startswith("parameters"), r.text[:300]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(alphabet=string.printable, min_size=1, max_size=200))
def test_any_job_name_is_stored_or_refused_never_a_500(platform, fuzz, name):
    r = service(
        platform, "POST", "api/jobs", fuzz["token"], json={"name": name, "notebook": "t.ipynb"}
    )
    assert r.status_code in (201, 400, 409), (name, r.status_code, r.text[:300])
    if r.status_code == 201:
        assert r.json()["name"] == name
        service(platform, "DELETE", f"api/jobs/{r.json()['id']}", fuzz["token"])


# The lab extension's forwarded routes ------------------------------------------------
@pytest.fixture(scope="module")
def lab(platform):
    token = platform.create_user("fuzz-lab", "data-scientist")
    platform.spawn("fuzz-lab", "cpu-small")
    yield token
    platform.stop_server("fuzz-lab")


def test_lab_forwarded_routes_refuse_hostile_paths_and_bodies(platform, lab):
    base = f"{platform.url}/user/fuzz-lab/nbplatform/api"
    auth = Platform.auth(lab)
    for resource in ("models", "promotions", "audit", "jobs", "runs"):
        for segment in HOSTILE:
            r = requests.get(f"{base}/{resource}/{segment}", headers=auth, timeout=60)
            where = (resource, segment[:60])
            assert r.status_code < 500, (where, r.status_code, r.text[:300])
            if segment.startswith("?"):
                continue  # a query on the listing, not a path: read as any listing
            if r.status_code in (414, 431):
                continue
            assert 400 <= r.status_code < 500, (where, r.status_code, r.text[:300])
            if r.status_code in (400, 404) and "<title>Jupyter Server</title>" in r.text:
                continue  # a literal '..' resolved by the client: no extension route matched
            assert r.json()["message"], where

    # traversal from an allowed resource to one the verb is not forwarded for
    # (sent byte for byte: requests would unquote %2e and fold the dots itself)
    def raw_get(path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", int(platform.env["NBP_PORT"]), timeout=60)
        conn.request("GET", f"/user/fuzz-lab/nbplatform/api/{path}", headers=auth)
        response = conn.getresponse()
        answer = response.status, response.read()
        conn.close()
        return answer

    for path in ("models/..%2faudit", "models/%2e%2e%2f%2e%2e%2fmlflow%2fapi"):
        assert raw_get(path)[0] == 400, path
    # The proxy resolves "%2e%2e" segments as URLs do (WHATWG): the server gets, and
    # decides on, "jobs", which the caller may read anyway; "audit" is never reached.
    status, body = raw_get("audit/%2e%2e/jobs")
    assert status == 200 and "jobs" in json.loads(body) and "entries" not in json.loads(body)
    for raw, content_type in BODIES[:14]:
        r = requests.post(
            f"{base}/jobs", data=raw, headers={**auth, "Content-Type": content_type}, timeout=60
        )
        assert 400 <= r.status_code < 500, (raw[:60], content_type, r.status_code, r.text[:300])
        assert r.json()["message"]
    r = requests.post(f"{base}/jobs", data=b"{" + b" " * (2 * MB) + b"}", headers=auth, timeout=60)
    assert r.status_code == 400, r.text[:300]
    r = requests.get(f"{base}/me", headers=auth, timeout=60)
    assert r.status_code == 200 and r.json()["name"] == "fuzz-lab"


# Every route, every field: NUL, lone surrogates, over-long text ---------------------
#: Text no resource may take, in a JSON body (``json.dumps`` escapes the surrogate).
HOSTILE_TEXT = {
    "NUL": "t.ipynb\u0000.ipynb",
    "lone surrogate": "x\ud800y",
    "100 001 characters": "a" * 100_001,
}
#: The same in a URL, percent-encoded (over 4096 characters; longer is the proxy's 431).
HOSTILE_ARGUMENTS = {
    "NUL": "x%00y",
    "lone surrogate": "x%ED%A0%80y",
    "5 000 characters": "a" * 5000,
}


@pytest.fixture(scope="module")
def samples(platform, fuzz):
    """A value for each path parameter of the service's routes: objects that exist."""
    admin = platform.admin_token
    model = "fuzz-text-model"
    mlflow = "mlflow/api/2.0/mlflow"
    r = service(platform, "POST", f"{mlflow}/registered-models/create", admin, json={"name": model})
    assert r.status_code == 200, r.text
    run = service(platform, "POST", f"{mlflow}/runs/create", admin, json={"experiment_id": "0"})
    info = run.json()["run"]["info"]
    body = {"name": model, "source": info["artifact_uri"] + "/m", "run_id": info["run_id"]}
    r = service(platform, "POST", f"{mlflow}/model-versions/create", admin, json=body)
    assert r.status_code == 200, r.text
    r = service(platform, "POST", "api/promotions", admin, json={"model": model, "version": "1"})
    assert r.status_code == 201, r.text
    return {
        "job_id": fuzz["job"]["id"],
        "run_id": fuzz["run"]["id"],
        "promotion_id": str(r.json()["id"]),
        "name": model,
        "kind": "registered-models",
        "key": model,
        "path": "api/2.0/mlflow/experiments/search",
        "mlflow_run_id": info["run_id"],
    }


def api_operations(tmp_path) -> list[tuple[str, str, dict]]:
    """``(verb, route pattern, OpenAPI operation)`` of every REST route the service mounts.

    From the application itself (``test_openapi`` checks each is documented); the
    MLflow gateway's endpoints are MLflow's, swept on their own below.
    """
    spec = openapi_spec()
    found = []
    for pattern, _handler, verbs in service_routes(tmp_path):
        if not pattern.startswith(PREFIX + "api/"):
            continue
        for verb in verbs:
            if verb not in ("HEAD", "OPTIONS"):
                found.append((verb, pattern, spec["paths"][documented(pattern)][verb.lower()]))
    return found


def body_cases(fields: dict[str, str]):
    """``(field, body, label)``: each field given hostile text (in, or as, a key)."""
    for field, kind in fields.items():
        for label, text in HOSTILE_TEXT.items():
            if kind == "string":
                yield field, {field: text}, label
            elif kind == "array":
                yield field, {field: [text]}, label
            elif kind == "object":
                yield field, {field: {"name": text}}, f"{label} in a value"
                yield field, {field: {text: 1}}, f"{label} in a key"


def test_hostile_text_in_every_field_of_every_route_is_refused_naming_it(
    platform, fuzz, samples, tmp_path
):
    admin = platform.admin_token
    spec = openapi_spec()

    def definition() -> dict:
        job = service(platform, "GET", f"api/jobs/{samples['job_id']}", admin).json()
        return {k: v for k, v in job.items() if k != "last_run"}  # the run moves on

    job_before = definition()
    runs_before = service(platform, "GET", f"api/jobs/{samples['job_id']}/runs", admin).json()
    operations = api_operations(tmp_path)
    assert len(operations) >= 25, operations
    checked = 0
    for verb, pattern, operation in operations:
        path = expand(pattern, samples).removeprefix(PREFIX)
        write = verb not in ("GET",)
        # the body: each field, and a key of the body itself
        cases = list(body_cases(body_fields(spec, operation))) if write else []
        if write:
            cases.append(("body", {"\u0000": 1}, "NUL in a key"))
        for field, body, label in cases:
            r = service(platform, verb, path, admin, data=json.dumps(body).encode())
            refused_naming(r, (field, "body"), (verb, pattern, field, label))
            checked += 1
        if write:
            raw = b'{"note": "\xc0\xae\xff"}'  # not UTF-8
            r = service(platform, verb, path, admin, data=raw)
            refused_naming(r, ("body",), (verb, pattern, "not UTF-8"))
        # the query
        for name in query_parameters(spec, operation):
            for label, value in HOSTILE_ARGUMENTS.items():
                r = service(platform, verb, f"{path}?{name}={value}", admin, json={})
                refused_naming(r, (name,), (verb, pattern, name, label))
                checked += 1
        # each path parameter (one that no longer matches its route is the catch-all's)
        for name in re.findall(r"\(\?P<(\w+)>", pattern):
            for label, value in HOSTILE_ARGUMENTS.items():
                hostile = expand(pattern, {**samples, name: value}, matching=False)
                hostile = hostile.removeprefix(PREFIX)
                r = service(platform, verb, hostile, admin, json={})
                refused_naming(r, (name, "path"), (verb, pattern, name, label))
                checked += 1
    assert checked >= 250, checked
    # nothing was stored: the job is as it was, and no run was made
    assert definition() == job_before
    runs = service(platform, "GET", f"api/jobs/{samples['job_id']}/runs", admin).json()
    assert [r["id"] for r in runs["runs"]] == [r["id"] for r in runs_before["runs"]]
    promotion = service(platform, "GET", f"api/promotions/{samples['promotion_id']}", admin)
    assert promotion.json()["state"] == "pending"
    still_answers(platform, admin)


def mlflow_endpoints_to_sweep() -> list:
    """MLflow's endpoints the platform's users reach: those with rules, and the reads."""
    from nbplatform_hub.service.mlflow_endpoints import COLUMN_LIMITS, catalogue
    from nbplatform_hub.service.mlflow_rules import governed_endpoints

    governed = governed_endpoints()
    return [
        e
        for e in catalogue()
        if e.request_class is not None
        and e.major == 2
        and e.template.startswith("mlflow/")
        and "{" not in e.template
        and ((e.method, e.name) in governed or e.name.split("/")[0] in COLUMN_LIMITS)
    ]


#: Messages of a key and a value: tags and parameters.
_KEY_VALUE = re.compile(r"(Tag|Param|Parameter)$")


def _string_fields(endpoint) -> list[tuple[str, str | None]]:
    """``(field, None)`` for each string field; ``(field, "key"|"value")`` inside tags, params."""
    fields = []
    for f in endpoint.request_class.DESCRIPTOR.fields:
        if f.type == f.TYPE_STRING and not f.is_repeated:
            fields.append((f.name, None))
        elif f.type == f.TYPE_MESSAGE and f.is_repeated and _KEY_VALUE.search(f.message_type.name):
            fields += [(f.name, "key"), (f.name, "value")]
    return fields


def test_hostile_text_to_mlflow_is_refused_before_mlflow_fails_or_stores_it(platform, samples):
    """Each string field of each endpoint: the gateway (or MLflow, validating) says 4xx.

    Over-long text is refused by the gateway at what MLflow's database holds, so
    that MLflow never answers 500 (MySQL, PostgreSQL) nor stores it (SQLite).
    """
    admin = platform.admin_token
    values = {
        "experiment_id": "0",
        "run_id": samples["mlflow_run_id"],
        "name": samples["name"],
        "version": "1",
        "key": "k",
        "value": "v",
        "alias": "fuzz-alias",
    }
    endpoints = mlflow_endpoints_to_sweep()
    assert len(endpoints) >= 30, [e.template for e in endpoints]
    checked = 0
    for endpoint in endpoints:
        names = {f.name for f in endpoint.request_class.DESCRIPTOR.fields}
        base = {k: v for k, v in values.items() if k in names}
        url = f"mlflow/api/2.0/{endpoint.template}"
        for field, inner in _string_fields(endpoint):
            where = (endpoint.method, endpoint.name, field, inner)
            if endpoint.method == "GET":
                for label, value in HOSTILE_ARGUMENTS.items():
                    r = service(platform, "GET", f"{url}?{field}={value}", admin)
                    refused_naming(r, (field,), (*where, label))
                continue
            for label, text in HOSTILE_TEXT.items():
                body = dict(base)
                if inner is None:
                    body[field] = text
                else:
                    body[field] = [{"key": "k", "value": "v", inner: text}]
                r = service(platform, endpoint.method, url, admin, data=json.dumps(body).encode())
                assert 400 <= r.status_code < 500, (*where, label, r.status_code, r.text[:300])
                if r.json().get("error_code") != "INVALID_PARAMETER_VALUE" or label == "NUL":
                    refused_naming(r, (field,), (*where, label))
                checked += 1
    assert checked >= 100, checked
    still_answers(platform, admin)


def test_lab_routes_refuse_hostile_text_everywhere(platform, lab, tmp_path, monkeypatch):
    """The lab extension's routes: in path segments, the query, the body; never a 500."""
    auth = {"Authorization": f"token {lab}", "Content-Type": "application/json"}
    routes = lab_routes(tmp_path, monkeypatch)
    assert routes
    base = f"{platform.url}/user/fuzz-lab"
    for pattern, _handler, verbs in routes:
        for verb in verbs:
            plain = expand(pattern).removesuffix("/x")
            urls = []
            if pattern.endswith("(/.*)?$"):  # a forwarded resource: paths below it, a query
                urls += [f"{plain}/{v}" for v in HOSTILE_ARGUMENTS.values()]
                if verb == "GET":  # every list takes page_token
                    urls += [f"{plain}?page_token={v}" for v in HOSTILE_ARGUMENTS.values()]
            for url in urls:
                r = requests.request(verb, base + url, headers=auth, timeout=60, json={})
                where = (verb, url[:80], r.status_code, r.text[:200])
                assert 400 <= r.status_code < 500, where
                assert r.json()["message"], where
            if verb in ("POST", "PATCH", "DELETE"):
                for label, text in HOSTILE_TEXT.items():
                    body = json.dumps({"name": text, "notebook": "t.ipynb"}).encode()
                    r = requests.request(verb, base + plain, headers=auth, data=body, timeout=60)
                    where = (verb, plain, label, r.status_code, r.text[:200])
                    assert 400 <= r.status_code < 500, where
                    assert r.json()["message"], where
