"""Retraining: run the monitor's training job through the platform's own jobs API.

The drift capability does not import the jobs capability: it asks the jobs API
of its own service over loopback HTTP (``POST api/jobs/<id>/runs``), sending the
caller's own token, so the jobs capability decides whether the caller may run
that job (403 otherwise) and audits the run as theirs. Its 4xx answers are
passed on with their status and message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from nbplatform.errors import NbplatformError
from nbplatform_hub import host

from .store import iso


class JobsAPIError(NbplatformError):
    """The jobs API refused the run (its status and message, passed on)."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message, error_code)
        self.http_status = status


def runs_url(base: str, job_id: str) -> str:
    """``<base>api/jobs/<job_id>/runs``."""
    return f"{base}api/jobs/{quote(job_id, safe='')}/runs"


def run_parameters(monitor: Mapping[str, Any], check: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters a retraining run gets: the monitor, the check and its window."""
    return {
        "drift_monitor": monitor["name"],
        "drift_check_id": check["id"] if check else None,
        "drift_window_start": iso(check["window_start"]) if check else None,
        "drift_window_end": iso(check["window_end"]) if check else None,
    }


def refusal(status: int, body: bytes) -> NbplatformError:
    """The error for a jobs API answer that is not 201: 4xx passed on, anything else 502."""
    _, message, code = host.decode_answer(body)
    if 400 <= status < 500:
        return JobsAPIError(status, f"The jobs API refused the run: {message or status}", code)
    return NbplatformError(f"The jobs API could not run the job (HTTP {status}): {message}"[:2000])
