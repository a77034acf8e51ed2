"""``api/me`` says what the caller may do, with names derived from the platform's scopes."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from nbplatform_hub import roles
from nbplatform_hub.service import app as service_app
from nbplatform_hub.service.handlers.me import capabilities, capability, describe, granted_by

SPEC = yaml.safe_load(
    (Path(service_app.__file__).parent / "openapi.yaml").read_text(encoding="utf-8")
)


def me_schema() -> dict:
    """The ``Me`` schema of the OpenAPI description, as jsonschema reads it."""
    schema = copy.deepcopy(SPEC["components"]["schemas"]["Me"])
    schema["components"] = SPEC["components"]
    return schema


def test_capability_names_are_the_scopes_without_the_prefix():
    assert capability("custom:nbplatform:models:approve") == "models_approve"
    assert capability("custom:nbplatform:jobs:admin") == "jobs_admin"
    names = [capability(scope) for scope in roles.ALL_SCOPES]
    assert len(set(names)) == len(roles.ALL_SCOPES)
    assert all(":" not in name and not name.startswith("custom") for name in names)


@pytest.mark.parametrize("role", roles.ROLE_NAMES)
def test_can_says_exactly_what_each_role_grants(role):
    can = capabilities(roles.ROLE_SCOPES[role])
    assert set(can) == {capability(scope) for scope in roles.ALL_SCOPES}
    assert {name for name, held in can.items() if held} == {
        capability(scope) for scope in roles.ROLE_SCOPES[role]
    }


def test_the_ui_capabilities_of_each_role():
    viewer = capabilities(roles.ROLE_SCOPES["viewer"])
    scientist = capabilities(roles.ROLE_SCOPES["data-scientist"])
    admin = capabilities(roles.ROLE_SCOPES["platform-admin"])
    assert viewer["models_read"] and not viewer["models_write"] and not viewer["jobs_write"]
    assert scientist["models_write"] and scientist["jobs_write"]
    assert not scientist["models_approve"] and not scientist["jobs_admin"]
    assert admin["models_approve"] and admin["jobs_admin"] and admin["audit_read"]


def test_no_scope_no_capability():
    assert not any(capabilities([]).values())
    assert not any(capabilities(["read:users", "custom:nbplatform:nothing"]).values())


def test_granted_by_names_the_roles_of_each_capability():
    by = granted_by()
    assert by["models_approve"] == ["platform-admin"]
    assert by["models_write"] == ["data-scientist", "platform-admin"]
    assert by["models_read"] == ["viewer", "data-scientist", "platform-admin"]
    assert by["audit_read"] == ["platform-admin"]


def test_the_answer_fits_the_openapi_schema():
    me = describe(
        "mona", "user", False, ["data-scientist", "team-a"], roles.ROLE_SCOPES["data-scientist"]
    )
    jsonschema.validate(me, me_schema())
    assert me["groups"] == ["data-scientist", "team-a"]
    assert me["roles"] == ["data-scientist"]
    assert me["can"]["jobs_write"] is True and me["can"]["models_approve"] is False
    assert me["granted_by"] == granted_by()


def test_a_service_without_scopes_may_do_nothing():
    me = describe("some-service", "service", False, [], [])
    jsonschema.validate(me, me_schema())
    assert me["roles"] == [] and not any(me["can"].values())


def test_the_schema_refuses_an_answer_without_can():
    me = describe("mona", "user", False, [], [])
    del me["can"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(me, me_schema())
