"""Notices of a change of a monitor's status: signed webhooks and e-mail, each recorded.

Sent after the check that changed the status is committed, on the capability's
threads (never on the event loop): each webhook gets the JSON body signed with
the monitor's secret (``X-Nbp-Signature-256``, as :func:`nbplatform_hub.host.deliver`
signs), each address an e-mail through ``NBP_SMTP_*``. Each delivery, done or
failed, is a row of ``drift_notices``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from nbplatform.errors import NbplatformError
from nbplatform_hub import host

from . import store
from .ranking import top_columns

log = logging.getLogger("nbplatform.drift")

EVENT = "drift.status_changed"
AGENT = "nbplatform-drift"
#: How many columns a notice names.
TOP = 5


def notice(
    monitor: Mapping[str, Any],
    check: Mapping[str, Any],
    previous: str,
    platform_url: str,
) -> dict[str, Any]:
    """The body of a notice that ``check`` moved ``monitor`` from ``previous`` to its status.

    Args:
        monitor: The monitor's row.
        check: The check's row.
        previous: The status before the check.
        platform_url: The platform service's URL (ends with ``/``), for links.
    """
    top = top_columns(check["columns"], check["importance"], TOP)
    base = f"{platform_url}api/drift/checks/{check['id']}"
    return {
        "event": EVENT,
        "monitor": {
            "name": monitor["name"],
            "owner": monitor["owner"],
            "model": monitor["model"],
            "feature_view": monitor["feature_view"],
        },
        "previous": previous,
        "status": check["status"],
        "check": store.check_summary(check, monitor["name"]),
        "top_columns": [
            {k: c[k] for k in ("column", "weighted", "score", "importance")} for c in top
        ],
        "links": {"check": base, "report": f"{base}/report" if check["has_report"] else None},
    }


def email_text(body: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and plain text of a notice's e-mail."""
    monitor, check = body["monitor"], body["check"]
    change = f"{body['previous']} -> {body['status']}"
    subject = f"[nbplatform] drift monitor {monitor['name']}: {change}"
    lines = [
        f"The drift monitor {monitor['name']} (owner {monitor['owner']}) is now "
        f"{body['status']} (was {body['previous']}).",
        f"Watching: {monitor['model'] or monitor['feature_view']}",
        f"Check {check['id']} at {check['created_at']}: {check['n_drifted']} of "
        f"{check['n_columns']} columns drifted (share {check['drift_share']:.2f}).",
    ]
    if body["top_columns"]:
        lines.append("Top columns (drift weighted by importance):")
        lines += [
            f"  {c['column']}: weighted {c['weighted']:.3g}, score {c['score']:.3g}"
            for c in body["top_columns"]
        ]
    lines += ["", f"Check: {body['links']['check']}"]
    if body["links"]["report"]:
        lines.append(f"Report: {body['links']['report']}")
    return subject, "\n".join(lines) + "\n"


def send(
    engine: Engine,
    monitor: Mapping[str, Any],
    check: Mapping[str, Any],
    previous: str,
    platform_url: str,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Deliver the notice to every webhook and address of ``monitor``; record each (blocking).

    Args:
        engine: The platform database.
        monitor: The monitor's row (``webhooks``, ``emails``, ``webhook_secret``).
        check: The check that changed the status.
        previous: The status before it.
        platform_url: The service's URL, for links.
        env: Where ``NBP_WEBHOOK_ALLOW`` and ``NBP_SMTP_*`` are read (default: the process's).

    Returns:
        ``{"channel", "target", "ok", "error"}`` per delivery.
    """
    env = os.environ if env is None else env
    body = notice(monitor, check, previous, platform_url)
    data = json.dumps(body, separators=(",", ":")).encode()
    allow = host.Allow.parse(env.get("NBP_WEBHOOK_ALLOW", ""))
    results: list[dict[str, Any]] = []
    for url in monitor["webhooks"] or []:
        ok, error = False, None
        try:
            status = host.deliver(url, data, monitor["webhook_secret"], EVENT, allow, agent=AGENT)
            ok = 200 <= status < 300
            error = None if ok else f"answered HTTP {status}"
        except NbplatformError as e:
            error = e.message
        except OSError as e:
            error = f"could not connect: {e}"
        results.append({"channel": "webhook", "target": url, "ok": ok, "error": error})
    if monitor["emails"]:
        smtp = host.Smtp.from_env(env)
        subject, text = email_text(body)
        for address in monitor["emails"]:
            if not smtp.host:
                ok, error = False, "no SMTP server is configured (NBP_SMTP_HOST)"
            else:
                ok = host.send_email(smtp, address, subject, text)
                error = None if ok else "the SMTP server did not accept it (see the service log)"
            results.append({"channel": "email", "target": address, "ok": ok, "error": error})
    with engine.begin() as conn:
        for r in results:
            store.record_notice(
                conn, monitor["id"], check["id"], r["channel"], r["target"], r["ok"], r["error"]
            )
    for r in results:
        if not r["ok"]:
            log.warning("drift notice to %s %s failed: %s", r["channel"], r["target"], r["error"])
    return results
