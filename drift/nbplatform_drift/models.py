"""Request bodies of ``api/drift`` (pydantic; unknown fields are refused, sizes bounded).

Strings never hold a NUL or a lone surrogate: the platform's body reader
(:meth:`nbplatform_hub.host.JSONAPIHandler.json_body`) refuses them before
these models see the body. What needs the network (webhook destinations) is
checked by :func:`check_webhooks`, off the event loop.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: A monitor's name (and a feature view's).
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}"
#: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.
MODEL_PATTERN = r"models:/[^/@\x00-\x1f\x7f]{1,256}(@[A-Za-z0-9_\-]{1,128}|/[1-9][0-9]{0,9})"
#: A job's id (the jobs capability's 16 hex digits).
JOB_ID_PATTERN = r"[0-9a-f]{16}"
#: An e-mail address: simple on purpose (no display names, comments or quoting).
EMAIL_PATTERN = r"[A-Za-z0-9._%+'\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63}){0,8}"
#: Evidently's names of the tests a column may use.
METHODS = ("wasserstein", "jensenshannon", "psi", "ks", "chisquare", "z")
#: Methods whose statistic is a p-value (drift when below the threshold).
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
#: The most columns a monitor tests or a check reports.
MAX_COLUMNS = 1000
#: The longest column name.
MAX_COLUMN = 255
#: The longest path of a parquet reference or source.
MAX_PATH = 4096
#: The longest webhook URL.
MAX_URL = 2048
#: The most minutes a monitor may be muted (a year).
MAX_MUTE_MINUTES = 525_600
#: The most webhooks and addresses a monitor notifies.
MAX_WEBHOOKS, MAX_EMAILS = 5, 10

Column = Annotated[str, Field(min_length=1, max_length=MAX_COLUMN)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _absolute(path: str) -> str:
    if not path.startswith("/") or "\x00" in path:
        raise ValueError("must be an absolute path (starting with /), without NUL")
    return path


class TrainingFrameReference(_Body):
    """The reference is the training frame recorded on the model version's run."""

    kind: Literal["training_frame"]


class ParquetSource(_Body):
    """A parquet file or folder, read by the library as the caller (never by the service)."""

    kind: Literal["parquet"]
    path: str = Field(min_length=1, max_length=MAX_PATH)

    _absolute = field_validator("path")(_absolute)


class FeatureViewSource(_Body):
    """A feature view's recent window of rows."""

    kind: Literal["feature_view"]
    view: str = Field(pattern=f"^{NAME_PATTERN}$")
    window_days: float = Field(default=7, gt=0, le=3650, allow_inf_nan=False)


class PushedSource(_Body):
    """Each check passes its own current frame."""

    kind: Literal["pushed"]


Reference = Annotated[TrainingFrameReference | ParquetSource, Field(discriminator="kind")]
Current = Annotated[FeatureViewSource | ParquetSource | PushedSource, Field(discriminator="kind")]


class ColumnTest(_Body):
    """A column's test: Evidently's method and threshold (each defaults as Evidently's)."""

    method: Literal[METHODS] | None = None  # type: ignore[valid-type]
    threshold: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _p_value_below_one(self) -> ColumnTest:
        if self.method in P_VALUE_METHODS and self.threshold is not None and self.threshold >= 1:
            raise ValueError(f"{self.method} compares a p-value: its threshold must be below 1")
        return self


class MonitorFields(_Body):
    """What ``PATCH api/drift/monitors/<name>`` may change (any field but the name)."""

    description: str = Field(default="", max_length=10_000)
    model: str | None = Field(default=None, pattern=f"^{MODEL_PATTERN}$")
    feature_view: str | None = Field(default=None, pattern=f"^{NAME_PATTERN}$")
    reference: Reference | None = None
    current: Current = Field(default_factory=lambda: PushedSource(kind="pushed"))
    columns: list[Column] | None = Field(default=None, min_length=1, max_length=MAX_COLUMNS)
    tests: dict[Column, ColumnTest] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    drift_share: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    schedule_job_id: str | None = Field(default=None, pattern=f"^{JOB_ID_PATTERN}$")
    retrain_job_id: str | None = Field(default=None, pattern=f"^{JOB_ID_PATTERN}$")
    webhooks: list[Annotated[str, Field(min_length=1, max_length=MAX_URL)]] = Field(
        default_factory=list, max_length=MAX_WEBHOOKS
    )
    emails: list[Annotated[str, Field(pattern=f"^{EMAIL_PATTERN}$", max_length=254)]] = Field(
        default_factory=list, max_length=MAX_EMAILS
    )

    @field_validator("columns")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("names a column twice")
        return value


class MonitorCreate(MonitorFields):
    """``POST api/drift/monitors``: a monitor of one model or one feature view."""

    name: str = Field(pattern=f"^{NAME_PATTERN}$")

    @model_validator(mode="after")
    def _consistent(self) -> MonitorCreate:
        if (self.model is None) == (self.feature_view is None):
            raise ValueError("give exactly one of model and feature_view")
        if self.reference is None and self.model is not None:
            self.reference = TrainingFrameReference(kind="training_frame")
        if isinstance(self.reference, TrainingFrameReference) and self.model is None:
            raise ValueError(
                "reference: a training_frame reference needs a model (give a parquet reference)"
            )
        if self.columns is not None:
            unknown = sorted(set(self.tests) - set(self.columns))
            if unknown:
                raise ValueError(f"tests: {', '.join(unknown)[:300]} not among columns")
        return self

    def definition(self) -> dict[str, Any]:
        """The monitor's stored definition (JSON-ready), without its name."""
        return self.model_dump(mode="json", exclude={"name"})


class MonitorUpdate(_Body):
    """``PATCH``: the fields given replace the monitor's (then checked with the rest).

    Each field is checked as on create before the monitor is looked up; ``null``
    sets a nullable field to null, a field not given keeps its value.
    """

    description: str | None = Field(default=None, max_length=10_000)
    model: str | None = Field(default=None, pattern=f"^{MODEL_PATTERN}$")
    feature_view: str | None = Field(default=None, pattern=f"^{NAME_PATTERN}$")
    reference: Reference | None = None
    current: Current | None = None
    columns: list[Column] | None = Field(default=None, min_length=1, max_length=MAX_COLUMNS)
    tests: dict[Column, ColumnTest] | None = Field(default=None, max_length=MAX_COLUMNS)
    drift_share: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    schedule_job_id: str | None = Field(default=None, pattern=f"^{JOB_ID_PATTERN}$")
    retrain_job_id: str | None = Field(default=None, pattern=f"^{JOB_ID_PATTERN}$")
    webhooks: list[Annotated[str, Field(min_length=1, max_length=MAX_URL)]] | None = Field(
        default=None, max_length=MAX_WEBHOOKS
    )
    emails: list[Annotated[str, Field(pattern=f"^{EMAIL_PATTERN}$", max_length=254)]] | None = (
        Field(default=None, max_length=MAX_EMAILS)
    )

    @model_validator(mode="after")
    def _not_null(self) -> MonitorUpdate:
        required = ("description", "current", "tests", "drift_share", "webhooks", "emails")
        nulled = [f for f in required if f in self.model_fields_set and getattr(self, f) is None]
        if nulled:
            raise ValueError(f"{', '.join(nulled)}: may not be null")
        return self


def updated(name: str, stored: dict[str, Any], patch: MonitorUpdate) -> MonitorCreate:
    """The monitor ``stored`` with the fields of ``patch``, checked as a whole.

    Raises:
        pydantic.ValidationError: The result is not a valid monitor (400).
    """
    merged = {**stored, **patch.model_dump(mode="json", exclude_unset=True), "name": name}
    dropped = "model" in patch.model_fields_set and merged.get("model") is None
    if dropped and (merged.get("reference") or {}).get("kind") == "training_frame":
        merged["reference"] = None  # a feature view's monitor: its reference must be given
    return MonitorCreate.model_validate(merged)


def check_webhooks(urls: list[str], allow: Any) -> None:
    """Refuse webhook URLs that are malformed or internal (blocking: resolves names).

    Args:
        urls: The monitor's webhooks.
        allow: ``host.Allow`` (``NBP_WEBHOOK_ALLOW``).

    Raises:
        InvalidParameterError: Naming the URL (``webhooks.<i>: ...``).
    """
    from nbplatform.errors import InvalidParameterError
    from nbplatform_hub import host

    for index, url in enumerate(urls):
        try:
            host.check_destination(url, allow, resolve_required=False)
        except InvalidParameterError as e:
            message = e.message.removeprefix("webhook_url: ")
            raise InvalidParameterError(f"webhooks.{index}: {message}") from None


class ColumnResult(_Body):
    """One column's result, as the library's engine computes it."""

    column: Column
    type: Literal["num", "cat", "bin"]
    method: Literal[METHODS]  # type: ignore[valid-type]
    statistic: Finite
    threshold: float = Field(gt=0, allow_inf_nan=False)
    drifted: bool
    score: float = Field(ge=0, allow_inf_nan=False)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CheckCreate(_Body):
    """``POST api/drift/monitors/<name>/checks``: one check's results."""

    columns: list[ColumnResult] = Field(min_length=1, max_length=MAX_COLUMNS)
    dataset_drift: bool
    drift_share: float = Field(ge=0, le=1, allow_inf_nan=False)
    threshold_share: float = Field(ge=0, le=1, allow_inf_nan=False)
    reference_rows: int = Field(ge=0, le=10**15)
    current_rows: int = Field(ge=0, le=10**15)
    window_start: datetime | None = None
    window_end: datetime | None = None
    importance: dict[Column, Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = Field(
        default=None, max_length=100_000
    )
    model_version: str | None = Field(default=None, max_length=255)
    sampled_rows: int | None = Field(default=None, ge=0, le=10**15)
    report_html: str | None = None

    _window = field_validator("window_start", "window_end")(_utc)

    @field_validator("report_html")
    @classmethod
    def _html(cls, value: str | None) -> str | None:
        # Served as text/html: it must be a document (Evidently's starts with <!DOCTYPE html>).
        if value is not None and not value.lstrip(" \t\r\n\ufeff").startswith("<"):
            raise ValueError("not an HTML document (it must start with a tag, as Evidently's does)")
        return value

    @field_validator("columns")
    @classmethod
    def _distinct(cls, value: list[ColumnResult]) -> list[ColumnResult]:
        names = [c.column for c in value]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"names a column twice: {', '.join(twice)[:300]}")
        return value

    @model_validator(mode="after")
    def _window_order(self) -> CheckCreate:
        if self.window_start and self.window_end and self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class Acknowledge(_Body):
    """``POST .../acknowledge``."""

    comment: str | None = Field(default=None, max_length=2000)


class Mute(_Body):
    """``POST .../mute``."""

    minutes: int = Field(ge=1, le=MAX_MUTE_MINUTES)


class Retrain(_Body):
    """``POST .../retrain``: which check's window to pass (default: the latest)."""

    check_id: int | None = Field(default=None, ge=1, le=2**62)


def is_monitor_name(value: str) -> bool:
    """Whether ``value`` is a monitor's name."""
    return re.fullmatch(NAME_PATTERN, value) is not None
