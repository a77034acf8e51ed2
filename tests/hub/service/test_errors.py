from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError

from nbplatform.errors import ConflictError, NotFoundError, PermissionDeniedError
from nbplatform_hub.service.errors import error_body, status_for


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFoundError("no model 'x'"), 404, "RESOURCE_DOES_NOT_EXIST"),
        (PermissionDeniedError("no"), 403, "PERMISSION_DENIED"),
        (ConflictError("lost"), 409, "RESOURCE_CONFLICT"),
        (HTTPError(405), 405, "METHOD_NOT_ALLOWED"),
        (RuntimeError("secret detail"), 500, "INTERNAL_ERROR"),
    ],
)
def test_errors_map_to_status_and_code(error, status, code):
    assert status_for(error, 500) == status
    body = error_body(error, status)
    assert body["error_code"] == code and body["status"] == status


def test_internal_errors_do_not_leak_details():
    assert "secret" not in error_body(RuntimeError("secret detail"), 500)["message"]


def test_validation_errors_are_bad_input_naming_the_field():
    class Body(BaseModel):
        cron: str

    with pytest.raises(ValidationError) as info:
        Body.model_validate({})
    assert status_for(info.value, 500) == 400
    assert "cron" in error_body(info.value, 400)["message"]
