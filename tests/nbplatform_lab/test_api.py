"""The REST API of nbplatform_lab, against real Jupyter servers."""

from __future__ import annotations

import pytest
from tornado.web import HTTPError

from nbplatform.errors import (
    ConflictError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from nbplatform_lab.errors import PlatformRefusal, UpstreamError
from nbplatform_lab.handlers.base import error_body, http_status_for
from nbplatform_lab.handlers.me import server_info

ME = "/nbplatform/api/me"


@pytest.mark.integration
def test_me_refuses_unauthenticated_requests(unconfigured_server):
    response = unconfigured_server.request("GET", ME, token=None)
    assert response.status == 403


@pytest.mark.integration
def test_me_refuses_a_wrong_token(unconfigured_server):
    response = unconfigured_server.request("GET", ME, token="wrong")
    assert response.status == 403


@pytest.mark.integration
def test_me_without_platform_url_says_the_hub_did_not_start_the_server(unconfigured_server):
    response = unconfigured_server.request("GET", ME)
    assert response.status == 503
    assert response.body["error_code"] == "PLATFORM_NOT_CONFIGURED"
    assert "not started by the platform hub" in response.body["message"]
    assert "NBP_PLATFORM_URL" in response.body["message"]


@pytest.mark.integration
def test_me_with_unreachable_platform_is_a_bad_gateway(unreachable_platform_server):
    response = unreachable_platform_server.request("GET", ME)
    assert response.status == 502
    assert response.body["error_code"] == "UPSTREAM_UNAVAILABLE"
    message = response.body["message"]
    assert message.startswith("The platform service at http://127.0.0.1:")
    assert "/services/platform/ is not reachable: " in message
    # a domain error is logged in one line, not as a crash with a traceback
    log = unreachable_platform_server.log()
    assert "UPSTREAM_UNAVAILABLE" in log
    assert "Traceback" not in log


@pytest.mark.integration
def test_unknown_api_path_is_a_json_404(unconfigured_server):
    response = unconfigured_server.request("GET", "/nbplatform/api/nothing-here")
    assert response.status == 404


@pytest.mark.integration
def test_a_shared_user_cannot_act_as_the_owner(jupyter_server_factory):
    # the token user of a plain server is an anonymous name, never "alice"
    server = jupyter_server_factory(
        env={
            "NBP_PLATFORM_URL": "http://127.0.0.1:9/services/platform/",
            "JUPYTERHUB_API_TOKEN": "not-a-real-hub-token",
            "JUPYTERHUB_USER": "alice",
        }
    )
    response = server.request("GET", ME)
    assert response.status == 403
    assert response.body["error_code"] == "PERMISSION_DENIED"
    assert "belongs to alice" in response.body["message"]


def test_server_info_reads_the_spawner_variables():
    env = {"NBP_PROFILE": "gpu", "NBP_GPU_DEVICES": "0, 1", "NBP_KERNELS": "nbplatform-gpu"}
    assert server_info(env) == {"profile": "gpu", "gpus": ["0", "1"], "kernels": ["nbplatform-gpu"]}


def test_server_info_without_variables_is_empty():
    assert server_info({"NBP_GPU_DEVICES": ""}) == {"profile": None, "gpus": [], "kernels": []}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidParameterError("bad"), 400),
        (UnauthenticatedError("who?"), 403),
        (PermissionDeniedError("no"), 403),
        (NotFoundError("gone"), 404),
        (ConflictError("taken"), 409),
        (UpstreamError("down"), 502),
        (UnavailableError("not configured"), 503),
        (NbplatformError("odd"), 500),
        (HTTPError(405), 405),
        (PlatformRefusal("the service says 405", "METHOD_NOT_ALLOWED", 405), 405),
        (RuntimeError("bug"), 500),
    ],
)
def test_errors_map_to_http_status(error, status):
    assert http_status_for(error) == status


def test_unexpected_errors_do_not_leak_their_details():
    body = error_body(RuntimeError("secret path /etc/x"), 500, "Internal Server Error")
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "secret" not in body["message"]


def test_domain_errors_keep_their_message_and_code():
    body = error_body(NotFoundError("Model 'm' does not exist."), 404, "Not Found")
    assert body == {"message": "Model 'm' does not exist.", "error_code": "RESOURCE_DOES_NOT_EXIST"}
