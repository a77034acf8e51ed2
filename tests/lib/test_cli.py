"""``nbplatform jobs ...`` against a stand-in platform service, and the plugin group."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

import nbplatform.cli
from nbplatform.cli import COMMANDS_GROUP, main

JOB = {
    "id": "j1",
    "name": "train",
    "owner": "alice",
    "schedule": {"kind": "cron"},
    "active": True,
    "next_run_at": "2030-01-01T03:00:00Z",
    "last_run": {"status": "succeeded"},
}


class FakeService:
    """Answers ``(method, path)`` from ``routes`` with ``(status, body)``; keeps every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                service.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "json": body,
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                status, answer = service.routes.get((self.command, url.path), (404, {}))
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/platform/"

    def route(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, f"/services/platform/{path}")] = (status, body)


@pytest.fixture
def service() -> Iterator[FakeService]:
    fake = FakeService()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def jobs_cli(service: FakeService, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["jobs", "--url", service.url, "--token", "tok", *args], prog_name="nbplatform"
    )


def test_list_prints_a_table_or_json(service):
    service.route("GET", "api/jobs", 200, {"jobs": [JOB], "next_page_token": None})
    table = jobs_cli(service, "list", "--owner", "alice")
    assert table.exit_code == 0, table.output
    header, row = table.output.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "OWNER",
        "SCHEDULE.KIND",
        "ACTIVE",
        "NEXT_RUN_AT",
        "LAST_RUN.STATUS",
    ]
    assert row.split() == ["j1", "train", "alice", "cron", "True", JOB["next_run_at"], "succeeded"]
    assert service.requests[0]["query"]["owner"] == ["alice"]
    assert service.requests[0]["authorization"] == "token tok"
    as_json = jobs_cli(service, "list", "--json")
    assert json.loads(as_json.output) == [JOB]


def test_create_reads_parameters_as_json_when_they_parse(service):
    service.route("POST", "api/jobs", 201, JOB)
    result = jobs_cli(
        service,
        "create",
        "notebooks/train.ipynb",
        "--cron",
        "0 3 * * *",
        "-p",
        "epochs=5",
        "-p",
        "name=x",
        "-p",
        "flag=true",
        "--notify-on",
        "failure",
        "--notify-on",
        "success",
    )
    assert result.exit_code == 0, result.output
    body = service.requests[0]["json"]
    assert body["notebook"] == "notebooks/train.ipynb"
    assert body["parameters"] == {"epochs": 5, "name": "x", "flag": True}
    assert body["notify_on"] == ["failure", "success"]
    assert body["cron"] == "0 3 * * *" and body["name"] == "train"


def test_a_parameter_without_equals_is_a_usage_error(service):
    result = jobs_cli(service, "create", "t.ipynb", "-p", "epochs")
    assert result.exit_code == 2
    assert "'epochs' is not name=value" in result.output
    assert service.requests == []


def test_the_service_refusing_is_one_line_and_exit_2(service):
    service.route("POST", "api/jobs", 400, {"message": "cron: bad field", "error_code": "X"})
    result = jobs_cli(service, "create", "t.ipynb", "--cron", "0 99 * * *")
    assert result.exit_code == 2
    assert result.output == "nbplatform: cron: bad field\n"


def test_run_wait_exits_1_when_the_run_fails(service):
    run = {"id": "r1", "status": "queued", "attempt": 1, "trigger": "manual"}
    service.route("POST", "api/jobs/j1/runs", 201, run)
    service.route("GET", "api/runs/r1", 200, {**run, "status": "failed", "error": "boom"})
    result = jobs_cli(service, "run", "j1", "--wait", "-p", "epochs=1")
    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "boom" in result.output
    assert service.requests[0]["json"]["parameters"] == {"epochs": 1}


def test_logs_and_delete(service):
    service.route("GET", "api/runs/r1/log", 200, {"log": "hello\n", "next_offset": 6, "size": 6})
    service.route("DELETE", "api/jobs/j1", 204, None)
    logs = jobs_cli(service, "logs", "r1")
    assert logs.exit_code == 0 and logs.output == "hello\n"
    deleted = jobs_cli(service, "delete", "j1")
    assert deleted.exit_code == 0 and deleted.output == "deleted j1\n"


def test_without_a_platform_url_says_what_to_set(monkeypatch):
    for name in ("NBP_PLATFORM_URL", "NBP_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["jobs", "list"])
    assert result.exit_code == 2
    assert result.output.startswith("nbplatform: No platform URL: set NBP_PLATFORM_URL")


def test_url_and_token_come_from_the_environment(service, monkeypatch):
    service.route("GET", "api/jobs", 200, {"jobs": [], "next_page_token": None})
    monkeypatch.setenv("NBP_PLATFORM_URL", service.url)
    monkeypatch.setenv("NBP_TOKEN", "env-token")
    result = CliRunner().invoke(main, ["jobs", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert service.requests[0]["authorization"] == "token env-token"


def _plugins(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    found = {name: EntryPoint(name, value, COMMANDS_GROUP) for name, value in values.items()}
    monkeypatch.setattr(nbplatform.cli, "_plugins", lambda: found)


def test_plugins_add_commands_and_built_ins_win(monkeypatch):
    _plugins(monkeypatch, again="nbplatform.cli.jobs:jobs", jobs="click.testing:CliRunner")
    listing = CliRunner().invoke(main, ["--help"])
    assert listing.exit_code == 0, listing.output
    assert "again" in listing.output and "jobs" in listing.output
    assert CliRunner().invoke(main, ["again", "--help"]).exit_code == 0
    assert CliRunner().invoke(main, ["jobs", "--help"]).exit_code == 0


def test_a_plugin_that_is_no_command_is_named(monkeypatch):
    _plugins(monkeypatch, broken="click.testing:CliRunner")
    result = CliRunner().invoke(main, ["broken"])
    assert result.exit_code == 1
    assert "broken = click.testing:CliRunner is not a click command" in result.output


def test_jobs_loads_neither_plugins_nor_heavy_parts():
    code = (
        "import sys\n"
        "from nbplatform.cli import main\n"
        "try:\n"
        "    main(['jobs', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('nbplatform_hub', 'nbplatform_jobs', 'mlflow', 'torch', 'distributed')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Notebook jobs" in out.stdout
    assert out.stdout.splitlines()[-1] == "[]"


def test_python_dash_m_nbplatform_cli():
    out = subprocess.run(
        [sys.executable, "-m", "nbplatform.cli", "jobs", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "Usage: python -m nbplatform.cli jobs" in out.stdout
