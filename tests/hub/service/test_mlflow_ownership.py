"""Owners and grants of MLflow objects, on a real (SQLite) platform database."""

from __future__ import annotations

import pytest

from nbplatform.errors import InvalidParameterError
from nbplatform_hub.service import mlflow_ownership as own

ALICE = own.Caller("alice", frozenset({"data-scientist"}))
BOB = own.Caller("bob", frozenset({"data-scientist"}))
CAROL = own.Caller("carol", frozenset({"viewer"}))
ADMIN = own.Caller("root", admin=True)


def test_owners_manage_others_read_admins_manage(engine):
    own.record_owner(engine, own.REGISTERED_MODEL, "churn", "alice")
    own.record_owner(engine, own.REGISTERED_MODEL, "churn", "bob")  # the first record stands
    assert own.owner_of(engine, own.REGISTERED_MODEL, "churn").owner == "alice"
    assert own.level(engine, ALICE, own.REGISTERED_MODEL, "churn") == own.MANAGE
    assert own.level(engine, BOB, own.REGISTERED_MODEL, "churn") == own.READ
    assert own.level(engine, ADMIN, own.REGISTERED_MODEL, "churn") == own.MANAGE
    # nobody recorded: only admins change it
    assert own.level(engine, ALICE, own.REGISTERED_MODEL, "old") == own.READ


def test_grants_to_users_and_groups_take_the_best(engine):
    own.record_owner(engine, own.REGISTERED_MODEL, "churn", "alice")
    own.grant(engine, own.REGISTERED_MODEL, "churn", "group", "data-scientist", "READ", "alice")
    own.grant(engine, own.REGISTERED_MODEL, "churn", "user", "bob", "EDIT", "alice")
    assert own.level(engine, BOB, own.REGISTERED_MODEL, "churn") == own.EDIT
    own.grant(engine, own.REGISTERED_MODEL, "churn", "group", "data-scientist", "MANAGE", "alice")
    assert own.level(engine, BOB, own.REGISTERED_MODEL, "churn") == own.MANAGE
    assert own.level(engine, CAROL, own.REGISTERED_MODEL, "churn") == own.READ
    assert own.who_may(engine, own.REGISTERED_MODEL, "churn", own.EDIT) == {
        "users": ["alice", "bob"],
        "groups": ["data-scientist"],
    }
    assert own.revoke(engine, own.REGISTERED_MODEL, "churn", "group", "data-scientist")
    assert not own.revoke(engine, own.REGISTERED_MODEL, "churn", "group", "data-scientist")
    assert own.level(engine, BOB, own.REGISTERED_MODEL, "churn") == own.EDIT
    with pytest.raises(InvalidParameterError):
        own.grant(engine, own.RUN, "r", "user", "bob", "EDIT", "alice")
    with pytest.raises(InvalidParameterError):
        own.grant(engine, own.REGISTERED_MODEL, "churn", "user", "bob", "OWN", "alice")


def test_runs_are_their_creators_and_their_experiments_grantees(engine):
    own.record_owner(engine, own.EXPERIMENT, "3", "alice")
    own.record_owner(engine, own.RUN, "r1", "bob", experiment_id="3")
    assert own.level(engine, BOB, own.RUN, "r1", "3") == own.MANAGE
    # the experiment's owner manages the runs in it
    assert own.level(engine, ALICE, own.RUN, "r1", "3") == own.MANAGE
    assert own.level(engine, CAROL, own.RUN, "r1", "3") == own.READ
    own.grant(engine, own.EXPERIMENT, "3", "user", "carol", "EDIT", "alice")
    assert own.level(engine, CAROL, own.RUN, "r1", "3") == own.EDIT
    # a shared experiment (no owner) lets people start runs, not change others'
    assert own.is_shared_experiment(engine, "0")
    own.record_owner(engine, own.RUN, "r2", "alice", experiment_id="0")
    assert own.level(engine, BOB, own.RUN, "r2", "0") == own.READ


def test_forget_and_rename(engine):
    own.record_owner(engine, own.REGISTERED_MODEL, "a", "alice")
    own.grant(engine, own.REGISTERED_MODEL, "a", "user", "bob", "EDIT", "alice")
    own.rename(engine, own.REGISTERED_MODEL, "a", "b")
    assert own.owner_of(engine, own.REGISTERED_MODEL, "a") is None
    assert own.level(engine, BOB, own.REGISTERED_MODEL, "b") == own.EDIT
    own.forget(engine, own.REGISTERED_MODEL, "b")
    assert own.owner_of(engine, own.REGISTERED_MODEL, "b") is None
    assert own.grants_of(engine, own.REGISTERED_MODEL, "b") == []
