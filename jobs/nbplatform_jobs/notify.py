"""Run notices: a signed JSON POST to the job's webhook, an e-mail when SMTP is set.

A job sends one when a run fails for good (``notify_on: [failure]``, the default)
and, if it asks, when a run succeeds (``success``).
"""

from __future__ import annotations

import http.client
import json
import logging
from typing import Any

from nbplatform.errors import NbplatformError
from nbplatform_hub.host import Smtp, deliver
from nbplatform_hub.host import send_email as send_mail

from .settings import JobsSettings

log = logging.getLogger("nbplatform.jobs")


def notice(job: dict[str, Any], run: dict[str, Any], platform_url: str) -> dict[str, Any]:
    """The JSON body of a notice: ``run.failed`` (for good) or ``run.succeeded``."""
    return {
        "event": event_of(run),
        "job": {"id": job["id"], "name": job["name"], "owner": job["owner"]},
        "run": {
            "id": run["id"],
            "status": run["status"],
            "attempt": run["attempt"],
            "error": run["error"],
            "failed_cell": run["failed_cell"],
        },
        "links": {
            "run": f"{platform_url}api/runs/{run['id']}",
            "output": f"{platform_url}api/runs/{run['id']}/output",
            "log": f"{platform_url}api/runs/{run['id']}/log",
        },
    }


def event_of(run: dict[str, Any]) -> str:
    """``run.succeeded`` or ``run.failed`` (timed-out runs failed too)."""
    return "run.succeeded" if run["status"] == "succeeded" else "run.failed"


def post_webhook(settings: JobsSettings, job: dict[str, Any], body: dict[str, Any]) -> None:
    """POST ``body`` to the job's webhook, signed; errors are logged, never raised."""
    url = job["webhook_url"]
    data = json.dumps(body).encode()
    try:
        status = deliver(
            url, data, job.get("webhook_secret"), body["event"], settings.webhook_destinations
        )
        log.info("webhook %s answered %s", url, status)
    except (NbplatformError, OSError, http.client.HTTPException) as e:
        log.warning("webhook %s failed: %s", url, getattr(e, "message", e))


def send_email(settings: JobsSettings, to: str, body: dict[str, Any]) -> None:
    """Send the notice by e-mail through ``NBP_SMTP_HOST``; errors are logged."""
    smtp = Smtp(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_user,
        settings.smtp_password,
    )
    subject = f"[nbplatform] job {body['job']['name']}: run {body['run']['status']}"
    send_mail(smtp, to, subject, json.dumps(body, indent=2))


def wants_notice(job: dict[str, Any], run: dict[str, Any]) -> bool:
    """Whether the outcome of ``run`` is one ``job`` asks to hear of (``notify_on``)."""
    outcome = "success" if run["status"] == "succeeded" else "failure"
    return outcome in (job.get("notify_on") or ["failure"])


def notify(
    settings: JobsSettings, job: dict[str, Any], run: dict[str, Any], platform_url: str
) -> None:
    """Send every notice the job asks for about ``run``'s final outcome."""
    if not wants_notice(job, run):
        return
    body = notice(job, run, platform_url)
    if job.get("webhook_url"):
        post_webhook(settings, job, body)
    if job.get("email"):
        send_email(settings, job["email"], body)
