"""Failure notices by e-mail, through a real SMTP conversation on loopback."""

from __future__ import annotations

from email import message_from_bytes

import pytest

from nbplatform_jobs.notify import notify, send_email, wants_notice
from nbplatform_jobs.settings import JobsSettings
from platform_harness import free_port
from smtp_support import smtp_server as loopback_smtp


@pytest.fixture
def smtp_server():
    with loopback_smtp() as server:
        yield server


def _settings(tmp_path, port: int) -> JobsSettings:
    return JobsSettings.from_env(
        {
            "NBP_HOME": str(tmp_path),
            "NBP_SMTP_HOST": "127.0.0.1",
            "NBP_SMTP_PORT": str(port),
            "NBP_SMTP_FROM": "jobs@nbplatform.test",
        }
    )


def test_failure_notice_is_mailed_when_smtp_is_configured(tmp_path, smtp_server):
    settings = _settings(tmp_path, smtp_server.server_address[1])
    job = {"id": "j1", "name": "nightly", "owner": "alice", "email": "alice@example.org"}
    run = {
        "id": "r1",
        "status": "failed",
        "error": "ZeroDivisionError",
        "attempt": 2,
        "failed_cell": 3,
    }
    notify(settings, job, run, "http://127.0.0.1:8000/services/platform/")
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert "alice@example.org" in envelope["rcpt"][0]
    mail = message_from_bytes(envelope["data"])
    assert mail["Subject"] == "[nbplatform] job nightly: run failed"
    assert mail["From"] == "jobs@nbplatform.test"
    assert "ZeroDivisionError" in mail.get_payload()


def test_unreachable_smtp_is_logged_not_raised(tmp_path, caplog):
    settings = _settings(tmp_path, free_port())
    body = {"job": {"name": "n"}, "run": {"status": "failed"}}
    send_email(settings, "a@example.org", body)
    assert "e-mail to a@example.org failed" in caplog.text


def test_no_smtp_no_mail(tmp_path, smtp_server):
    settings = JobsSettings.from_env({"NBP_HOME": str(tmp_path)})
    send_email(settings, "a@example.org", {"job": {"name": "n"}, "run": {"status": "failed"}})
    assert smtp_server.messages == []


def test_notices_go_out_for_the_outcomes_the_job_names():
    failed, succeeded, timed_out = ({"status": s} for s in ("failed", "succeeded", "timed-out"))
    default = {"notify_on": None}
    assert wants_notice(default, failed) and wants_notice(default, timed_out)
    assert not wants_notice(default, succeeded)
    both = {"notify_on": ["failure", "success"]}
    assert wants_notice(both, failed) and wants_notice(both, succeeded)
    assert not wants_notice({"notify_on": ["success"]}, failed)


def test_a_success_notice_is_mailed_when_asked_for(tmp_path, smtp_server):
    settings = _settings(tmp_path, smtp_server.server_address[1])
    job = {"id": "j1", "name": "nightly", "owner": "alice", "email": "a@example.org"}
    run = {"id": "r1", "status": "succeeded", "error": None, "attempt": 1, "failed_cell": None}
    notify(settings, job, run, "http://127.0.0.1:8000/services/platform/")
    assert smtp_server.messages == []  # failures only, by default
    notify(settings, {**job, "notify_on": ["success"]}, run, "http://h/services/platform/")
    (envelope,) = smtp_server.messages
    assert (
        message_from_bytes(envelope["data"])["Subject"] == "[nbplatform] job nightly: run succeeded"
    )
