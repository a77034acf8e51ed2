"""Failure notices: a JSON POST to the job's webhook, an e-mail when SMTP is set."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from .settings import JobsSettings

log = logging.getLogger("nbplatform.jobs")


def failure_notice(job: dict[str, Any], run: dict[str, Any], platform_url: str) -> dict[str, Any]:
    """The JSON body sent when a run fails for good (no retry left)."""
    return {
        "event": "run.failed",
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


def post_webhook(url: str, body: dict[str, Any]) -> None:
    """POST ``body`` as JSON to ``url``; errors are logged, never raised."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "nbplatform-jobs"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            log.info("webhook %s answered %s", url, response.status)
    except Exception as e:  # noqa: BLE001 - a notice must never stop the scheduler
        log.warning("webhook %s failed: %s", url, e)


def send_email(settings: JobsSettings, to: str, body: dict[str, Any]) -> None:
    """Send the notice by e-mail through ``NBP_SMTP_HOST``; errors are logged."""
    if not settings.smtp_host:
        return
    message = EmailMessage()
    message["Subject"] = f"[nbplatform] job {body['job']['name']}: run {body['run']['status']}"
    message["From"] = settings.smtp_from
    message["To"] = to
    message.set_content(json.dumps(body, indent=2))
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
            if settings.smtp_user:
                smtp.starttls()
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except Exception as e:  # noqa: BLE001
        log.warning("e-mail to %s failed: %s", to, e)


def notify_failure(
    settings: JobsSettings, job: dict[str, Any], run: dict[str, Any], platform_url: str
) -> None:
    """Send every notice the job asks for."""
    body = failure_notice(job, run, platform_url)
    if job.get("webhook_url"):
        post_webhook(job["webhook_url"], body)
    if job.get("email"):
        send_email(settings, job["email"], body)
