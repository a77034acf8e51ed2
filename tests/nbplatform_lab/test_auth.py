"""Every handler of nbplatform_lab requires authentication (like the extension template's check)."""

from __future__ import annotations

import warnings

import pytest
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import JupyterServerAuthWarning
from routes_support import handler_rules
from tornado import web


def _requires_authentication(method) -> bool:
    # @tornado.web.authenticated wraps the verb with functools.wraps
    wrapped = getattr(method, "__wrapped__", None)
    return wrapped is not None and method.__code__.co_qualname.startswith("authenticated")


@pytest.fixture
def serverapp(tmp_path, monkeypatch):
    for name in ("config", "runtime", "data", "root"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    app = ServerApp(
        allow_unauthenticated_access=False,
        jpserver_extensions={"nbplatform_lab": True},
        reraise_server_extension_failures=True,
        root_dir=str(tmp_path / "root"),
    )
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        app.initialize(argv=[], find_extensions=False, new_httpserver=False)
    app.auth_warnings = [r for r in records if issubclass(r.category, JupyterServerAuthWarning)]
    yield app
    ServerApp.clear_instance()


def test_no_handler_allows_unauthenticated_access(serverapp):
    assert serverapp.auth_warnings == []


def test_every_nbplatform_handler_verb_requires_authentication(serverapp):
    checked = []
    for pattern, handler in handler_rules(serverapp.web_app.default_router):
        if "/nbplatform/" not in pattern:
            continue
        for verb in handler.SUPPORTED_METHODS:
            method = getattr(handler, verb.lower())
            if method is web.RequestHandler._unimplemented_method or verb == "OPTIONS":
                continue
            checked.append(f"{verb} {pattern}")
            assert _requires_authentication(method), f"{verb} of {handler.__name__} is public"
    assert "GET /nbplatform/api/me$" in checked
