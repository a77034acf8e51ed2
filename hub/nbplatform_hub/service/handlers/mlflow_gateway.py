"""``/services/platform/mlflow/…``: the authenticated gateway to the MLflow server.

Every request is identified by its hub token (or login cookie, for the UI) and
decided on exactly what MLflow will act on:

1. the path is decoded once and checked (:func:`..mlflow_rules.check_path`);
2. an API call's parameters are parsed once into MLflow's own request message
   (:mod:`..mlflow_endpoints`): anything ambiguous is a 400;
3. the scope and the caller's permission on the object it changes are checked
   (:mod:`..mlflow_rules`, :mod:`..mlflow_ownership`);
4. the *canonical* path, query and body are forwarded, never the client's bytes;
   the platform writes the lineage of new runs and model versions itself
   (:mod:`..mlflow_lineage`: who from the token, a job's run from the run its
   token was minted for, a version's from its run);
5. objects created become their creator's; with four eyes on, a protected
   alias moves only through an approved promotion request; every write,
   allowed or refused, is audited with the model, version and alias it touched.

Artifact uploads and downloads stream both ways (request chunks through a
bounded queue to the upstream ``body_producer``, response chunks flushed as they
arrive: :mod:`..mlflow_forwarding`), so an artifact is never held whole in
memory. MLflow itself listens on a Unix socket only the hub's user can open
(:mod:`..mlflow_transport`); its address never leaves the service.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, quote

from tornado.log import app_log
from tornado.web import stream_request_body

from nbplatform.errors import (
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)

from .. import audit, mlflow_endpoints, mlflow_lineage, mlflow_ownership
from ..mlflow_endpoints import ApiRequest
from ..mlflow_forwarding import MlflowForwardingHandler
from ..mlflow_ownership import (
    EXPERIMENT,
    LOGGED_MODEL,
    NAMES,
    REGISTERED_MODEL,
    RUN,
    Caller,
)
from ..mlflow_rules import (
    APPROVE,
    WRITE,
    Decision,
    Target,
    check_path,
    classify,
    classify_graphql,
    classify_ui,
    protected_names,
)

MAX_STREAMED_BODY = 1 << 40
#: A refused request's body up to this size is read (and dropped) before the answer.
MAX_DISCARDED_BODY = 256 * 1024 * 1024
MAX_PATH = 4096
#: The UI's artifact downloads, answered from MLflow's artifact API.
_UI_DOWNLOADS = ("get-artifact", "model-versions/get-artifact")
QUEUE_CHUNKS = 8

#: The cookie whose value the MLflow UI sends as the ``X-XSRFToken`` header.
XSRF_HEADER_COOKIE = "mlflow-request-header-X-XSRFToken"
#: Paths below ``mlflow/`` that the UI fetches by script, not pages of it.
UI_DATA_PREFIXES = (
    "api/",
    "ajax-api/",
    "static-files/",
    "get-artifact",
    "model-versions/",
    "graphql",
)


@stream_request_body
class MlflowGatewayHandler(MlflowForwardingHandler):
    """Forward one request to MLflow after checking the caller's scope and permission."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    decision: Decision | None = None
    refused: str | None = None
    _buffer: bytearray | None = None
    _upstream: Any = None
    _body_received = False
    _deferred: NbplatformError | None = None
    _discarded = 0
    _created_version: str | None = None

    # Identification, parsing, the first checks ---------------------------------------
    async def prepare(self) -> None:  # noqa: D102
        path = self.path_kwargs["path"]
        try:
            await super().prepare()
        except UnauthenticatedError:
            if self._is_page_visit(path):
                self.redirect(self.get_login_url())
                return
            raise
        self._hand_ui_its_xsrf_token(path)
        self.request.connection.set_max_body_size(MAX_STREAMED_BODY)
        try:
            self._decoded = self._check_target_path(path)
            self.api = mlflow_endpoints.find(self.request.method or "GET", self._decoded)
            if self._streams_upload():
                assert self.api is not None
                self.api.params = {}
                await self._decide(classify(self.api, self.protected))
                self._queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
                self._upstream = asyncio.ensure_future(self._forward(self._produce))
                return
            declared = _declared_length(self)
            if declared > mlflow_endpoints.MAX_JSON_BODY:
                raise _too_large(declared)
            self._buffer = bytearray()
        except NbplatformError as e:
            self._refuse(e)
            if not self._defer(e):
                raise

    def _is_page_visit(self, path: str) -> bool:
        """Whether the request opens a page of the UI (a browser's navigation).

        Only those go to the login page when not logged in. A script's request
        (a fetch, a worker's script) is answered 401: sending it through OAuth
        would give the session a new login cookie, and so a new XSRF token, under
        the feet of the page that made it.
        """
        if self.request.method != "GET" or path.startswith(UI_DATA_PREFIXES):
            return False
        return self.request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate"

    def _hand_ui_its_xsrf_token(self, path: str) -> None:
        """Let the MLflow UI of a browser session send the session's XSRF token.

        The hub accepts a login cookie on the UI's own requests (``ajax-api/...``,
        fetched by script) only with the XSRF token, as it does for JupyterLab.
        The MLflow UI sends every cookie named ``mlflow-request-header-<Name>`` as
        the request header ``<Name>``, so a page of the UI opened by a browser
        session gets the token as ``mlflow-request-header-X-XSRFToken``, readable
        by pages of the gateway's path only. A request from another site cannot
        read it, so it stays refused.
        """
        if getattr(self, "_token_authenticated", False) or not self._is_page_visit(path):
            return
        token = self.xsrf_token
        self.set_cookie(
            XSRF_HEADER_COOKIE,
            token.decode("ascii") if isinstance(token, bytes) else token,
            path=self.request.path[: len(self.request.path) - len(self._raw_path())],
            samesite="Strict",
        )

    def _defer(self, error: NbplatformError) -> bool:
        """Refuse only once the body is read, so that the answer reaches the client.

        A refusal sent while a client is still uploading makes tornado drop the
        connection, and the proxy then answers 503 instead of our 4xx. Bodies up to
        :data:`MAX_DISCARDED_BODY` are read and thrown away first; larger ones are
        refused at once.
        """
        if not _declares_body(self) or _declared_length(self) > MAX_DISCARDED_BODY:
            return False
        self._deferred = error
        self._buffer = None
        self._queue = None
        return True

    def _check_target_path(self, path: str) -> str:
        if len(path) > MAX_PATH or path.count("/") > 256:
            raise InvalidParameterError("The path is too long or too deep.")
        check_path(path)
        for name in ("path", "artifact_path"):
            for value in self.request.query_arguments.get(name, []):
                try:
                    check_path(value.decode("utf-8"))
                except UnicodeDecodeError:
                    raise InvalidParameterError(f"The {name} parameter is not UTF-8.") from None
        return path

    def _streams_upload(self) -> bool:
        """Artifact uploads (``PUT mlflow-artifacts/artifacts/<path>``) stream to MLflow."""
        api = self.api
        return (
            api is not None
            and api.endpoint.method == "PUT"
            and api.endpoint.template.startswith("mlflow-artifacts/artifacts/")
        )

    @property
    def protected(self) -> frozenset[str]:
        """The aliases only platform-admins may move."""
        return protected_names(self.context.protected_aliases)

    @property
    def caller(self) -> Caller:
        """The caller, for permission checks."""
        return mlflow_ownership.caller_from(self.user, APPROVE)

    def _refuse(self, error: NbplatformError) -> None:
        if self.request.method in ("GET", "HEAD", "OPTIONS") and self.decision is None:
            return
        if self.decision is None or not self.decision.write:
            action = self.api.endpoint.name if self.api is not None else "refused"
            self.decision = Decision(WRITE, action, True, self._decoded[:512] or None)
        self.refused = error.message

    # Request body ------------------------------------------------------------------
    async def data_received(self, chunk: bytes) -> None:  # noqa: D102
        if self._deferred is not None:
            self._discarded += len(chunk)
            if self._discarded > MAX_DISCARDED_BODY:
                raise self._deferred
            return
        if self._buffer is not None:
            if len(self._buffer) + len(chunk) > mlflow_endpoints.MAX_JSON_BODY:
                error = _too_large(len(self._buffer) + len(chunk))
                self._refuse(error)
                self._deferred, self._buffer = error, None
                self._discarded = len(chunk)
                return
            self._buffer += chunk
        elif self._queue is not None and not self._upstream.done():
            # Wait for room in the queue, unless MLflow gave up on the request.
            put = asyncio.ensure_future(self._queue.put(chunk))
            await asyncio.wait([put, self._upstream], return_when=asyncio.FIRST_COMPLETED)
            if not put.done():
                put.cancel()

    # Verbs ------------------------------------------------------------------------
    async def _handle(self, path: str) -> None:
        self._body_received = True
        if self._deferred is not None:
            raise self._deferred
        try:
            if self._upstream is not None:
                assert self._queue is not None
                await self._queue.put(None)
                response = await self._upstream
            else:
                response = await self._decide_and_forward(bytes(self._buffer or b""))
        except NbplatformError as e:
            self._refuse(e)
            raise
        if response is not None and response.code == 599 and self._headers_out is None:
            raise UnavailableError(
                "The MLflow server is not answering; it may still be starting. "
                "Try again in a few seconds."
            )
        self.finish()

    get = head = post = put = patch = delete = options = _handle

    async def _decide_and_forward(self, body: bytes) -> Any:
        method = self.request.method or "GET"
        api = self.api
        if api is not None:
            mlflow_endpoints.parse(api, self.request.query, body)
            decision = classify(api, self.protected)
            await self._decide(decision)
            await self._rewrite(api, decision)
            query, canonical = mlflow_endpoints.canonical(api)
            response = await self._forward(body=canonical, query=query, buffered=True)
            await self._after(api, decision, response)
            return response
        query = self._canonical_query()
        if method in ("GET", "HEAD") and self._decoded.rstrip("/") in _UI_DOWNLOADS:
            await self._decide(classify_ui(method, self._decoded))
            return await self._download(dict(parse_qsl(query)))
        if self._decoded.rstrip("/").endswith("graphql") and method == "POST":
            await self._decide(classify_graphql(mlflow_endpoints.loads(body) if body else None))
        else:
            await self._decide(classify_ui(method, self._decoded))
        if body and (self.decision is None or self.decision.scope != APPROVE):
            body = json.dumps(mlflow_endpoints.loads(body), separators=(",", ":")).encode()
        return await self._forward(body=body if body else None, query=query)

    # The checks ------------------------------------------------------------------
    async def _decide(self, decision: Decision) -> None:
        self.decision = decision
        if decision.scope not in self.user.get("scopes", []):
            self.refused = f"lacks {decision.scope}"
            what = decision.resource or decision.action
            if decision.scope == APPROVE:
                hint = "only platform-admins may do this; request a promotion instead."
            else:
                hint = "ask a platform admin for a role that grants it."
            raise PermissionDeniedError(
                f"{self.user['name']} may not {self.request.method} {what}: the token lacks "
                f"{decision.scope}; {hint}"
            )
        if decision.governed and not self.context.self_approval:
            raise PermissionDeniedError(
                f"{decision.resource} is a protected alias: it moves when a promotion request "
                "(POST api/promotions) is approved by someone other than its requester, not "
                "by a direct call (four eyes). Set NBP_PROMOTION_SELF_APPROVAL=1 where one "
                "person runs the platform alone."
            )
        if decision.target is not None:
            await self._check_permission(decision.target)

    async def _check_permission(self, target: Target) -> None:
        engine, caller = self.context.engine, self.caller
        experiment = None
        if target.kind == EXPERIMENT:
            if target.shared_ok and mlflow_ownership.is_shared_experiment(engine, target.key):
                return
        elif target.kind in (RUN, LOGGED_MODEL):
            experiment = await self._experiment_of(target.kind, target.key)
            if target.experiment_id is not None and target.experiment_id != experiment:
                raise PermissionDeniedError(
                    f"The artifact path names experiment {target.experiment_id}, but "
                    f"{target.kind.replace('_', ' ')} {target.key} is in experiment {experiment}."
                )
        have = mlflow_ownership.level(engine, caller, target.kind, target.key, experiment)
        if have >= target.level:
            return
        owner = mlflow_ownership.owner_of(engine, target.kind, target.key)
        kind = target.kind.replace("_", " ")
        whose = f"{owner.owner}'s" if owner else "a shared"
        raise PermissionDeniedError(
            f"{caller.name} may not change {whose} {kind} {target.key!r}: that needs "
            f"{NAMES[target.level]}, and {caller.name} has {NAMES[have]}. Ask "
            f"{owner.owner if owner else 'a platform admin'} to grant it "
            "(nbp.registry.grant), or work on a copy of your own."
        )

    async def _experiment_of(self, kind: str, key: str) -> str:
        owner = mlflow_ownership.owner_of(self.context.engine, kind, key)
        if owner is not None and owner.experiment_id is not None:
            return owner.experiment_id
        mlflow = self.context.mlflow
        try:
            if kind == RUN:
                answer = await mlflow.call("GET", "runs/get", {"run_id": key})
                return str(answer["run"]["info"]["experiment_id"])
            answer = await mlflow.call("GET", f"logged-models/{quote(key, safe='')}")
            return str(answer["model"]["info"]["experiment_id"])
        except (NotFoundError, InvalidParameterError):
            raise NotFoundError(f"No {kind.replace('_', ' ')} {key!r} exists.") from None

    # What the platform writes itself ----------------------------------------------------
    async def _rewrite(self, api: ApiRequest, decision: Decision) -> None:
        name = self.user["name"]
        if decision.creates in (RUN, LOGGED_MODEL):
            origin = mlflow_lineage.Origin.of(
                name,
                audit.token_origin(self.context.engine, self.user.get("token_id")),
                self.context.home / "users" / name,
            )
            api.params["tags"] = mlflow_lineage.creation_tags(api.params.get("tags", []), origin)
            if decision.creates == RUN:
                api.params["user_id"] = name
        elif decision.action == "model-versions/create":
            run_tags = await self._run_tags(api.params)
            api.params["tags"] = mlflow_lineage.version_tags(
                api.params.get("tags", []), run_tags, name
            )

    async def _run_tags(self, params: dict[str, Any]) -> dict[str, str]:
        """The tags of the run a new model version is made from (``{}`` when none)."""
        mlflow, source = self.context.mlflow, str(params.get("source", ""))
        run_id = mlflow_lineage.run_of_source(source, params.get("run_id"))
        try:
            model = params.get("model_id") or (
                source.removeprefix("models:/").split("/", 1)[0]
                if source.startswith("models:/m-")
                else None
            )
            if run_id is None and model:
                answer = await mlflow.call("GET", f"logged-models/{quote(str(model), safe='')}")
                run_id = answer["model"]["info"].get("source_run_id") or None
            if run_id is None:
                return {}
            run = (await mlflow.call("GET", "runs/get", {"run_id": run_id}))["run"]
        except (NotFoundError, InvalidParameterError, KeyError, TypeError):
            return {}  # MLflow answers the create itself
        return {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}

    async def _after(self, api: ApiRequest, decision: Decision, response: Any) -> None:
        if response.code != 200:
            return
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            return
        engine, name = self.context.engine, self.user["name"]
        try:
            if decision.creates == EXPERIMENT:
                mlflow_ownership.record_owner(engine, EXPERIMENT, answer["experiment_id"], name)
            elif decision.creates == RUN:
                info = answer["run"]["info"]
                mlflow_ownership.record_owner(
                    engine, RUN, info["run_id"], name, str(info["experiment_id"])
                )
            elif decision.creates == LOGGED_MODEL:
                info = answer["model"]["info"]
                mlflow_ownership.record_owner(
                    engine, LOGGED_MODEL, info["model_id"], name, str(info["experiment_id"])
                )
            elif decision.creates == REGISTERED_MODEL:
                model = answer["registered_model"]["name"]
                mlflow_ownership.forget(engine, REGISTERED_MODEL, model)
                mlflow_ownership.record_owner(engine, REGISTERED_MODEL, model, name)
            elif decision.action == "registered-models/delete":
                mlflow_ownership.forget(engine, REGISTERED_MODEL, api.params.get("name", ""))
            elif decision.action == "registered-models/rename":
                mlflow_ownership.rename(
                    engine, REGISTERED_MODEL, api.params["name"], api.params["new_name"]
                )
            elif decision.action == "model-versions/create":
                self._created_version = str(answer["model_version"]["version"])
        except (KeyError, TypeError):
            app_log.warning("unexpected MLflow answer to %s", decision.action)

    def finish(self, chunk: Any = None) -> Any:
        """Finish the response; say ``Connection: close`` when tornado will drop it.

        A response sent before the request body was read (a refusal in
        :meth:`prepare`) makes tornado close the connection rather than read the
        rest. Saying so keeps a keep-alive proxy (configurable-http-proxy) from
        sending the next request down the closing socket, which it would answer 503.
        """
        if not self._headers_written and not self._body_received and _declares_body(self):
            self.set_header("Connection", "close")
        return super().finish(chunk)

    # Audit -------------------------------------------------------------------------
    def on_finish(self) -> None:
        """Audit every write, allowed or refused."""
        decision = self.decision
        user = getattr(self, "user", None)
        if decision is None or not decision.write or user is None:
            return
        status = self.get_status()
        refused = self.refused or (f"status {status}" if status in (401, 403) else None)
        try:
            audit.record(
                self.context.engine,
                audit.request_entry(
                    self.request,
                    user,
                    status,
                    action=f"mlflow:{decision.action}",
                    resource=(decision.resource or decision.action)[:1024],
                    scope=decision.scope,
                    result=audit.result_of(status, bool(refused)),
                    detail=refused,
                    model=decision.model,
                    version=decision.version or self._created_version,
                    alias=decision.alias,
                ),
            )
        except Exception:  # the response is gone; never hide it behind an audit failure
            app_log.exception("could not write the audit entry")


def _too_large(size: int) -> InvalidParameterError:
    return InvalidParameterError(
        f"The request body ({size} bytes or more) is larger than this endpoint takes "
        f"({mlflow_endpoints.MAX_JSON_BODY} bytes)."
    )


def _declared_length(handler: MlflowGatewayHandler) -> int:
    value = handler.request.headers.get("Content-Length") or "0"
    if not value.strip().isdigit():
        raise InvalidParameterError("Content-Length is not a number of bytes.")
    return int(value)


def _declares_body(handler: MlflowGatewayHandler) -> bool:
    headers = handler.request.headers
    try:
        return "Transfer-Encoding" in headers or int(headers.get("Content-Length") or 0) > 0
    except ValueError:
        return True


routes = [(r"mlflow/(?P<path>.*)", MlflowGatewayHandler)]
