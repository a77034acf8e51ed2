"""Request bodies of the jobs API and YAML definitions, parsed with pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

_NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$"
#: The longest string a parameter value may hold, at any depth (characters).
MAX_PARAMETER_TEXT = 10_000
#: The longest key of a parameter or of an object inside one.
MAX_PARAMETER_KEY = 255
#: How many tags a job may carry, and how long each may be.
MAX_TAGS, MAX_TAG = 64, 128

Tag = Annotated[str, Field(max_length=MAX_TAG)]


def check_parameter_sizes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse parameters with an over-long name, key or string, naming it.

    The request body's size bounds the rest; NUL characters and lone surrogates
    are refused when the body is read.

    Raises:
        PydanticCustomError: Naming the parameter, e.g. ``label: longer than ...``.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str) and len(node) > MAX_PARAMETER_TEXT:
            raise PydanticCustomError(
                "parameter_too_long",
                "{where}: a string longer than {limit} characters",
                {"where": where, "limit": MAX_PARAMETER_TEXT},
            )
        if not isinstance(node, dict | list):
            continue
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(key, str) and len(key) > MAX_PARAMETER_KEY:
                raise PydanticCustomError(
                    "parameter_key_too_long",
                    "{where}a key longer than {limit} characters",
                    {"where": f"{where}: " if where else "", "limit": MAX_PARAMETER_KEY},
                )
            stack.append((child, f"{where}.{key}" if where else str(key)))
    return value


class JobFields(BaseModel):
    """Fields shared by creation and update (all optional here)."""

    model_config = ConfigDict(extra="forbid")

    notebook: str | None = Field(default=None, min_length=1, max_length=1024)
    parameters: dict[str, Any] | None = None
    #: Parameters of the test run that gates the schedule (None: the notebook's defaults).
    test_parameters: dict[str, Any] | None = None
    cron: str | None = Field(default=None, max_length=128)
    timezone: str | None = Field(default=None, max_length=64)
    interval_seconds: int | None = Field(default=None, ge=1)
    profile: str | None = Field(default=None, max_length=64)
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)
    retries: int | None = Field(default=None, ge=0, le=10)
    retry_backoff_seconds: float | None = Field(default=None, ge=0, le=24 * 3600)
    max_concurrent_runs: int | None = Field(default=None, ge=1, le=100)
    active: bool | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    email: str | None = Field(default=None, max_length=320)
    notify_on: list[Literal["failure", "success"]] | None = Field(default=None, max_length=2)
    shared: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)

    _check_parameters = field_validator("parameters", "test_parameters")(check_parameter_sizes)

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("notify_on")
    @classmethod
    def _check_notify_on(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("names an outcome twice")
        return value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value and "@" not in value:
            raise ValueError("must be an e-mail address")
        return value or None


#: A client's idempotency token: printable ASCII, as jupyter-scheduler takes one.
_TOKEN = r"^[!-~]{1,64}$"


class JobCreate(JobFields):
    """``POST api/jobs``: a new job definition."""

    name: str = Field(min_length=1, max_length=128, pattern=_NAME)
    notebook: str = Field(min_length=1, max_length=1024)
    owner: str | None = Field(default=None, max_length=255)
    idempotency_token: str | None = Field(default=None, pattern=_TOKEN)


class JobUpdate(JobFields):
    """``PATCH api/jobs/<id>``: change fields, pause (``active: false``) or resume.

    ``cron`` and ``interval_seconds`` may be set to ``null`` explicitly to make a
    job manual-only; fields left out keep their value.
    """

    name: str | None = Field(default=None, min_length=1, max_length=128, pattern=_NAME)


class RunRequest(BaseModel):
    """``POST api/jobs/<id>/runs``: run now, optionally with other parameters."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] | None = None
    idempotency_token: str | None = Field(default=None, pattern=_TOKEN)

    _check_parameters = field_validator("parameters")(check_parameter_sizes)


DEFAULTS: dict[str, Any] = {
    "parameters": {},
    "test_parameters": None,
    "cron": None,
    "timezone": "UTC",
    "interval_seconds": None,
    "timeout_seconds": 3600,
    "retries": 0,
    "retry_backoff_seconds": 60.0,
    "max_concurrent_runs": 1,
    "active": True,
    "webhook_url": None,
    "email": None,
    "notify_on": ["failure"],
    "shared": False,
    "tags": [],
}
