"""Four eyes on promotions: nobody approves their own request unless configured to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from nbplatform.errors import PermissionDeniedError
from nbplatform_hub.service import promotions


def pending(engine, requested_by="alice") -> dict:
    with engine.begin() as conn:
        new = conn.execute(
            insert(promotions.promotions).values(
                model="churn",
                version="2",
                alias="champion",
                base_version="1",
                state="pending",
                requested_by=requested_by,
                requested_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
    return promotions.get(engine, new)


class NoMlflow:
    """Any call means the check came too late."""

    def __getattr__(self, name):
        raise AssertionError(f"MLflow was called ({name}) before the four-eyes check")


def test_a_requester_may_not_approve_their_own_request(engine):
    request = pending(engine, "ada")
    with pytest.raises(PermissionDeniedError, match="another platform admin"):
        asyncio.run(
            promotions.decide(
                engine, NoMlflow(), request["id"], approve=True, comment=None, user="ada"
            )
        )
    assert promotions.get(engine, request["id"])["state"] == "pending"


def test_a_requester_may_withdraw_their_request(engine):
    request = pending(engine, "ada")
    decided = asyncio.run(
        promotions.decide(
            engine, NoMlflow(), request["id"], approve=False, comment="oops", user="ada"
        )
    )
    assert decided["state"] == "rejected" and decided["decided_by"] == "ada"


def test_rights_say_who_decides(engine):
    request = pending(engine, "ada")
    own = promotions.decision_rights(request, "ada", can_approve=True, self_approval=False)
    assert own["may_approve"] is False and own["may_reject"] is True
    assert "another platform admin" in own["reason"]
    assert own["deciders"] == "platform admins other than ada"
    other = promotions.decision_rights(request, "grace", can_approve=True, self_approval=False)
    assert other == {
        "may_approve": True,
        "may_reject": True,
        "reason": None,
        "deciders": "platform admins other than ada",
    }
    viewer = promotions.decision_rights(request, "vic", can_approve=False, self_approval=False)
    assert viewer["may_approve"] is viewer["may_reject"] is False
    assert viewer["reason"] == "Only platform admins other than ada decide promotions."
    alone = promotions.decision_rights(request, "ada", can_approve=True, self_approval=True)
    assert alone["may_approve"] is True and alone["deciders"] == "platform admins"


def test_a_decided_request_offers_nothing(engine):
    request = {**pending(engine), "state": "approved"}
    rights = promotions.decision_rights(request, "grace", can_approve=True, self_approval=False)
    assert rights["may_approve"] is rights["may_reject"] is False
    assert rights["reason"] == "The request is approved."
