"""Request bodies of the features resources (pydantic; unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The longest name of a view, service, entity or source.
MAX_NAME = 128


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectIn(_Body):
    """One definition: its kind, name, file and Feast's serialized protobuf (base64)."""

    kind: str = Field(max_length=64)
    name: str = Field(max_length=MAX_NAME)
    file: str = Field(max_length=1024)
    proto: str = Field(max_length=1 << 20)


class ApplyRequest(_Body):
    """``POST api/features/apply``."""

    objects: list[ObjectIn] = Field(max_length=1000)
    dry_run: bool = False


class MaterializeRequest(_Body):
    """``POST api/features/materializations``."""

    views: list[str] | None = Field(default=None, max_length=1000)
    start: datetime | None = None
    end: datetime | None = None
    incremental: bool = False

    @field_validator("views")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not name or len(name) > MAX_NAME:
                raise ValueError(f"a view name has 1 to {MAX_NAME} characters")
        return value

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-12-01T00:00:00+00:00)")
        return value


class PushRequest(_Body):
    """``POST api/features/push``."""

    push_source: str = Field(min_length=1, max_length=MAX_NAME)
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
    to: Literal["online", "offline", "online_and_offline"] = "online"
