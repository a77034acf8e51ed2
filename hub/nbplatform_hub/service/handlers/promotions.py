"""``api/promotions``: request, list, approve and reject promotions of model versions.

A request starts its review (:mod:`..promotion_review`): the platform's review
notebook, run as a job of the requester's, with their own token; the request
names it (``review``), or says why it did not start (``review.error``).
With ``NBP_PROMOTION_REVIEW=0`` no review starts and ``review`` stays ``null``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nbplatform.errors import NotFoundError

from .. import promotion_review, promotions
from ..audited import AuditedAPIHandler
from ..mlflow_rules import APPROVE, READ, WRITE
from ..paging import page_size


class PromotionRequest(BaseModel):
    """Body of ``POST api/promotions``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=512)
    version: str = Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")
    alias: str = Field(
        default="champion", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$"
    )
    note: str | None = Field(default=None, max_length=10_000)


class Decision(BaseModel):
    """Body of ``POST api/promotions/<id>/approve|reject``."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=10_000)


def promotion_number(raw: str) -> int:
    """The id in a path, or 404 when no request can have it (too large).

    Raises:
        NotFoundError: Not an id a request can have.
    """
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > promotions.MAX_ID:
        raise NotFoundError(f"No promotion request {raw[:40]}: list them with GET api/promotions.")
    return int(raw)


class PromotionAPIHandler(AuditedAPIHandler):
    """Base of the promotion handlers: each request answered says what the caller may do."""

    def with_rights(self, promotion: dict[str, Any]) -> dict[str, Any]:
        """``promotion`` with ``rights`` (:func:`..promotions.decision_rights`) for the caller."""
        rights = promotions.decision_rights(
            promotion,
            self.user["name"],
            APPROVE in self.user.get("scopes", []),
            self.context.self_approval,
        )
        return {**promotion, "rights": rights}

    def audit_promotion(self, promotion: dict[str, Any]) -> None:
        """Name the model, version and alias of ``promotion`` in the audit entry."""
        self.audit_model = promotion["model"]
        self.audit_version = promotion["version"]
        self.audit_alias = promotion["alias"]


class PromotionsHandler(PromotionAPIHandler):
    """List or create promotion requests."""

    async def get(self) -> None:
        """List requests, newest first; filter by ``state`` and ``model``, paginated."""
        self.require_scope(READ)
        found = promotions.search(
            self.context.engine,
            state=self.get_query_argument("state", None),
            model=self.get_query_argument("model", None),
            max_results=page_size(self),
            page_token=self.get_query_argument("page_token", None),
        )
        found["promotions"] = [self.with_rights(p) for p in found["promotions"]]
        self.write_json(found)

    async def post(self) -> None:
        """Ask for ``model`` version ``version`` to get ``alias`` (``champion``); start its review.

        The request is made whether or not its review starts (``review.error`` says why not).
        """
        self.audit_action = "promotion:request"
        self.require_scope(WRITE)
        body = self.json_body(PromotionRequest)
        self.audit_resource = f"{body.model}@{body.alias}->{body.version}"
        self.audit_promotion(body.model_dump())
        created = await promotions.request(
            self.context.engine,
            self.context.mlflow,
            model=body.model,
            version=body.version,
            alias=body.alias,
            note=body.note,
            user=self.user["name"],
        )
        settings = self.context.settings
        if settings is None or settings.promotion_review:
            review = await promotion_review.start(self, created)
            self.audit_detail = review.detail()
            created = promotions.set_review(
                self.context.engine,
                created["id"],
                job_id=review.job_id,
                run_id=review.run_id,
                error=review.error,
            )
        else:
            self.audit_detail = "review off (NBP_PROMOTION_REVIEW=0)"
        self.write_json(self.with_rights(created), status=201)


class PromotionHandler(PromotionAPIHandler):
    """One promotion request."""

    async def get(self, promotion_id: str) -> None:
        """Return the request."""
        self.require_scope(READ)
        found = promotions.get(self.context.engine, promotion_number(promotion_id))
        self.write_json(self.with_rights(found))


class PromotionDecisionHandler(PromotionAPIHandler):
    """Approve or reject a pending request (platform-admins)."""

    verdict = "approve"

    async def post(self, promotion_id: str) -> None:
        """Approve (moves the alias) or reject, with an optional ``comment``."""
        verdict = self.verdict
        self.audit_action = f"promotion:{verdict}"
        self.audit_resource = f"promotion/{promotion_id}"
        self.require_scope(APPROVE)
        body = self.json_body(Decision)
        number = promotion_number(promotion_id)
        promotion = promotions.get(self.context.engine, number)
        self.audit_resource = (
            f"promotion/{promotion_id} {promotion['model']}@{promotion['alias']}"
            f"->{promotion['version']}"
        )
        self.audit_promotion(promotion)
        decided = await promotions.decide(
            self.context.engine,
            self.context.mlflow,
            number,
            approve=verdict == "approve",
            comment=body.comment,
            user=self.user["name"],
            self_approval=self.context.self_approval,
        )
        self.write_json(self.with_rights(decided))


class PromotionRejectHandler(PromotionDecisionHandler):
    """Reject a pending request (platform-admins)."""

    verdict = "reject"


routes = [
    (r"api/promotions", PromotionsHandler),
    (r"api/promotions/(?P<promotion_id>[0-9]+)", PromotionHandler),
    (r"api/promotions/(?P<promotion_id>[0-9]+)/approve", PromotionDecisionHandler),
    (r"api/promotions/(?P<promotion_id>[0-9]+)/reject", PromotionRejectHandler),
]
