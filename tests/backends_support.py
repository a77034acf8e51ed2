"""Real PostgreSQL and S3-compatible servers on loopback, for platforms under test.

:class:`Postgres` runs Debian's PostgreSQL server (``/usr/lib/postgresql/<v>/bin``,
which ``make test`` installs where it is missing) on a free loopback port, with
its data and socket in a temporary folder; :class:`S3` runs moto's server mode
with one bucket. Both are real servers, spoken to over TCP by the platform's
own drivers (psycopg, boto3 in the MLflow server). Both stop at the end of the
session, at exit, and by themselves when the test process dies (each is started
with a parent-death signal).
"""

from __future__ import annotations

import atexit
import ctypes
import glob
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import requests

from platform_harness import free_port

BIN = Path(sys.executable).parent

#: Backends a platform under test runs on: ``embedded`` (SQLite and files in
#: ``NBP_HOME``, the defaults) and ``postgres-s3`` (PostgreSQL for the hub, MLflow
#: and the platform database; moto's S3 for MLflow's artifacts).
BACKENDS = ("embedded", "postgres-s3")

#: Where Debian installs the server (``postgresql-<v>``), newest first.
POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin/initdb"

_PR_SET_PDEATHSIG = 1


def _dies_with(parent: int, sig: signal.Signals) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when ``parent`` (this process) dies.

    Runs after :class:`subprocess.Popen` has switched user, which would clear it.
    """

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # died before the signal was armed
            os._exit(1)

    return preexec


def _stop(proc: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout: float) -> None:
    """Send ``sig``; kill ``proc`` if it has not exited ``timeout`` seconds later."""
    if proc is None or proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def postgres_bin() -> Path:
    """The folder of Debian's newest PostgreSQL server programs.

    Raises:
        RuntimeError: No server is installed.
    """
    found = sorted(
        glob.glob(POSTGRES_BINARIES), key=lambda p: int(Path(p).parent.parent.name), reverse=True
    )
    if not found:
        raise RuntimeError(
            "No PostgreSQL server in /usr/lib/postgresql: `make test` installs Debian's "
            "(apt-get install postgresql)."
        )
    return Path(found[0]).parent


class Postgres:
    """A PostgreSQL server of its own, on ``127.0.0.1`` and a free port.

    initdb and the server refuse to run as root: run as root, they run as the
    ``postgres`` system user (Debian's package creates it) or else ``nobody``.
    Durability is off (``fsync``, ``synchronous_commit``, ``full_page_writes``):
    the data lives as long as the session.
    """

    def __init__(self, root: Path) -> None:
        """Prepare a server whose data, socket and log lie in ``root`` (not started)."""
        self.root = root
        self.bin = postgres_bin()
        self.user = "nbp"
        self.password = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "postgres.log"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _run(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "wb") as log:
            return subprocess.Popen(
                args,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
                **self._as,
                **kwargs,
            )

    def start(self, timeout: float = 60) -> Postgres:
        """Create the cluster (superuser :attr:`user`, password auth) and start the server.

        Raises:
            RuntimeError: initdb failed, or the server did not answer in ``timeout`` s.
        """
        self.root.chmod(0o700)
        if self._as:
            os.chown(self.root, self._as["user"], self._as["group"])
        pwfile = self.root / "password"
        pwfile.write_text(self.password + "\n")
        if self._as:
            os.chown(pwfile, self._as["user"], self._as["group"])
        initdb = self._run(
            [
                str(self.bin / "initdb"),
                f"--pgdata={self.root / 'data'}",
                f"--username={self.user}",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ]
        )
        if initdb.wait(120) != 0:
            raise RuntimeError(f"initdb failed:\n{self.log()}")
        pwfile.unlink()
        self.port = free_port()
        self.proc = self._run(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.root / "data"),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"port={self.port}",
                "-c",
                f"unix_socket_directories={self.root}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ],
            # Fast shutdown when the test process dies.
            preexec_fn=_dies_with(os.getpid(), signal.SIGINT),
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited early:\n{self.log()}")
            try:
                self.connect("postgres").close()
                return self
            except Exception:  # noqa: BLE001 (starting up)
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"PostgreSQL did not come up in {timeout} s:\n{self.log()}")

    def url(self, database: str) -> str:
        """A SQLAlchemy URL of ``database`` (psycopg 3) with the password."""
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str) -> Any:
        """A psycopg connection to ``database`` (autocommit)."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            connect_timeout=5,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Create the empty database ``name``; return its URL (:meth:`url`)."""
        from psycopg import sql

        with self.connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def tables(self, database: str) -> set[str]:
        """The names of the tables in ``database``'s ``public`` schema."""
        with self.connect(database) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        return {row[0] for row in rows}

    def stop(self) -> None:
        """Fast shutdown (clients disconnected), then kill if it takes over 30 s."""
        _stop(self.proc, signal.SIGINT, 30)

    def log(self) -> str:
        """The log of initdb and the server."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class S3:
    """moto's S3-compatible server (``moto_server``) on ``127.0.0.1`` with one bucket."""

    def __init__(self, root: Path, bucket: str = "nbp-artifacts") -> None:
        """Prepare a server logging to ``root`` with ``bucket`` (not started)."""
        self.root = root
        self.bucket = bucket
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "moto.log"
        self.access_key = "nbp-" + secrets.token_hex(8)
        self.secret_key = secrets.token_hex(20)

    @property
    def endpoint(self) -> str:
        """The server's URL (``MLFLOW_S3_ENDPOINT_URL``)."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What an S3 client (MLflow's server) needs to reach the bucket."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
        }

    def start(self, timeout: float = 60) -> S3:
        """Start the server and create the bucket.

        Raises:
            RuntimeError: The server did not answer in ``timeout`` seconds.
        """
        self.port = free_port()
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_dies_with(os.getpid(), signal.SIGTERM),
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited early:\n{self.log()}")
            with suppress(requests.RequestException):
                requests.get(self.endpoint, timeout=2)
                self.client().create_bucket(Bucket=self.bucket)
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not come up in {timeout} s:\n{self.log()}")

    def client(self) -> Any:
        """A boto3 S3 client of the server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix``."""
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def stop(self) -> None:
        """Stop the server."""
        _stop(self.proc, signal.SIGTERM, 10)

    def log(self) -> str:
        """The server's log."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Servers:
    """The backing servers of the session, each started the first time it is needed."""

    def __init__(self, folder: Callable[[str], Path]) -> None:
        """Servers keeping their files in folders made by ``folder(name)``."""
        self._folder = folder
        self._postgres: Postgres | None = None
        self._s3: S3 | None = None

    @property
    def postgres(self) -> Postgres:
        """The PostgreSQL server (started on first use)."""
        if self._postgres is None:
            self._postgres = Postgres(self._folder("nbp-postgres")).start()
        return self._postgres

    @property
    def s3(self) -> S3:
        """The S3-compatible server (started on first use)."""
        if self._s3 is None:
            self._s3 = S3(self._folder("nbp-s3")).start()
        return self._s3

    def platform_env(self, backend: str, prefix: str = "") -> dict[str, str]:
        """The ``NBP_*`` (and S3) variables of a platform on ``backend``.

        Args:
            backend: One of :data:`BACKENDS`.
            prefix: Start of the names of the platform's databases (``<prefix>hub``,
                ``<prefix>mlflow``, ``<prefix>platform``, created here) and of its
                artifacts' keys in the bucket (``<prefix>mlflow/``).

        Returns:
            Overrides for :func:`platform_harness.platform_env` (none for ``embedded``).

        Raises:
            ValueError: An unknown backend.
        """
        if backend == "embedded":
            return {}
        if backend != "postgres-s3":
            raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
        pg = self.postgres
        return {
            "NBP_HUB_DB_URL": pg.create_database(f"{prefix}hub"),
            "NBP_MLFLOW_BACKEND_URI": pg.create_database(f"{prefix}mlflow"),
            "NBP_PLATFORM_DB_URL": pg.create_database(f"{prefix}platform"),
            "NBP_MLFLOW_ARTIFACTS": f"s3://{self.s3.bucket}/{prefix}mlflow",
            **self.s3.env(),
        }

    def stop(self) -> None:
        """Stop the servers that were started."""
        for server in (self._postgres, self._s3):
            if server is not None:
                server.stop()
