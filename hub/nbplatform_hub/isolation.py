"""Isolation on one machine: one operating-system user per platform user.

As The Littlest JupyterHub does, a hub that runs as root gives every platform
user a system user of their own (``jupyter-<name>`` by default), and starts that
user's servers, kernels and job kernels as it, in their workspace
(``NBP_HOME/users/<name>``, owned by them, mode 0700). Everything else under
``NBP_HOME`` (the hub's database and cookie secret, the platform database, the
MLflow store and its socket, run folders, logs) belongs to the hub's user and is
closed to everyone else: ``NBP_HOME`` and ``NBP_HOME/users`` are ``0711`` (enter,
not list), the rest ``0700``, and the platform's processes create files with
umask ``077``.

Without root there is nobody to switch to: every server runs as the hub's own
user and can read what the hub can. :func:`resolve` decides, once, in
``nbplatform up``, and says so in one sentence; ``NBP_REQUIRE_ISOLATION=1``
makes that a refusal to start.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nbplatform.errors import ConfigurationError, NbplatformError

#: Longest name ``useradd`` accepts.
MAX_NAME = 32
_SAFE = re.compile(r"[a-z0-9_-]+")


@dataclass(frozen=True)
class SystemUser:
    """The operating-system account of one platform user.

    Attributes:
        name: Its login name (``jupyter-alice``).
        uid: Its user id.
        gid: Its primary group id (a group of its own).
    """

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Decision:
    """Whether isolation is on, and the one sentence that says what that means."""

    enabled: bool
    message: str


def system_username(name: str, prefix: str = "jupyter-") -> str:
    """The system user name of platform user ``name``: ``<prefix><name>``.

    Names that are not lower-case letters, digits, ``_`` and ``-`` (or that would be
    longer than 32 characters) are cut and given a hash of the whole name, so two
    platform users never share an account: ``jupyter-a.b`` becomes
    ``jupyter-a-b-1c2d3e``.

    Args:
        name: The JupyterHub user name.
        prefix: ``NBP_SYSTEM_USER_PREFIX``.

    Returns:
        A name ``useradd`` accepts.
    """
    candidate = prefix + name
    if _SAFE.fullmatch(name) and len(candidate) <= MAX_NAME:
        return candidate
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "user"
    room = MAX_NAME - len(prefix) - len(digest) - 1
    return f"{prefix}{safe[:room]}-{digest}"


def check_prefix(prefix: str) -> str:
    """Validate ``NBP_SYSTEM_USER_PREFIX``.

    Raises:
        ConfigurationError: It is empty, too long, or not a valid start of a user name.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,15}", prefix):
        raise ConfigurationError(
            f"NBP_SYSTEM_USER_PREFIX={prefix!r} must be 1 to 16 lower-case letters, "
            "digits, '_' or '-', starting with a letter or '_' (e.g. 'jupyter-')."
        )
    return prefix


def ensure_system_user(name: str, prefix: str, home: Path) -> SystemUser:
    """Return the system user of platform user ``name``, creating it if needed.

    Created with ``useradd`` as a normal account with a group of its own, no
    password (nobody logs in as it; the hub switches to it), ``home`` as its home
    folder (not created by ``useradd``: see :func:`prepare_workspace`). An account
    whose home is elsewhere (``NBP_HOME`` moved) gets ``home`` with ``usermod``.

    Args:
        name: The JupyterHub user name.
        prefix: ``NBP_SYSTEM_USER_PREFIX``.
        home: The user's workspace.

    Returns:
        The account.

    Raises:
        NbplatformError: ``useradd`` is missing or refused (with its message).
    """
    login = system_username(name, prefix)
    try:
        entry = pwd.getpwnam(login)
    except KeyError:
        entry = _useradd(login, name, home)
    if entry.pw_dir != str(home):  # NBP_HOME moved: ~jupyter-<name> follows
        usermod = shutil.which("usermod") or "/usr/sbin/usermod"
        subprocess.run([usermod, "--home", str(home), login], capture_output=True)
    return SystemUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


#: One ``useradd`` at a time in this process (they lock /etc/passwd and give up).
_USERADD = threading.Lock()


def _useradd(login: str, name: str, home: Path) -> pwd.struct_passwd:
    """Run ``useradd`` for ``login``, waiting its turn; retried while the files are locked.

    Raises:
        NbplatformError: ``useradd`` refused, with its message.
    """
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    command = [
        useradd,
        "--no-create-home",
        "--home-dir",
        str(home),
        "--shell",
        "/bin/bash",
        "--user-group",
        "--comment",
        f"nbplatform user {name}"[:200],
        login,
    ]
    message = "useradd failed"
    for attempt in range(8):
        with _USERADD:
            try:  # another spawn of the same user may have created it meanwhile
                return pwd.getpwnam(login)
            except KeyError:
                pass
            result = subprocess.run(command, capture_output=True, text=True)
            try:
                return pwd.getpwnam(login)
            except KeyError:
                message = (result.stderr or result.stdout).strip() or message
        if "lock" not in message:  # another process (the scheduler) holds the files
            break
        time.sleep(0.1 * 2**attempt)
    raise NbplatformError(f"Could not create the system user {login} for {name}: {message}.")


def prepare_workspace(path: Path, user: SystemUser) -> None:
    """Create ``path`` if needed and make it ``user``'s alone (mode 0700).

    A workspace that someone else owns (made before isolation was on, or by an
    admin as root) is handed over whole, without following symbolic links.
    """
    path.mkdir(parents=True, exist_ok=True)
    info = path.lstat()
    if (info.st_uid, info.st_gid) != (user.uid, user.gid):
        for folder, dirs, files in os.walk(path):
            for entry in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.lchown(entry, user.uid, user.gid)
    path.chmod(0o700)


def switch_to(user: SystemUser, cwd: Path | None = None) -> Callable[[], None]:
    """A ``preexec_fn`` that becomes ``user`` (groups, gid, uid), umask 077, in ``cwd``."""

    def preexec() -> None:
        os.setgroups([user.gid])
        os.setgid(user.gid)
        os.setuid(user.uid)
        os.umask(0o077)
        if cwd is not None:
            os.chdir(cwd)

    return preexec


def user_environment(env: dict[str, str], user: SystemUser, home: Path) -> dict[str, str]:
    """``env`` with ``user``'s ``HOME`` (the workspace), ``USER``, ``LOGNAME`` and ``SHELL``."""
    return {**env, "HOME": str(home), "USER": user.name, "LOGNAME": user.name, "SHELL": "/bin/bash"}


def closed_ancestor(paths: Iterable[Path]) -> Path | None:
    """The first folder on the way to ``paths`` that other users may not enter, if any."""
    for path in paths:
        for folder in reversed(path.resolve().parents):
            try:
                mode = folder.stat().st_mode
            except FileNotFoundError:
                continue  # created later, by the platform, open to pass through
            except OSError:
                return folder
            if not mode & stat.S_IXOTH:
                return folder
    return None


def resolve(
    mode: str,
    *,
    require: bool,
    euid: int,
    reach: Iterable[Path],
    useradd: str | None,
) -> Decision:
    """Decide whether this platform isolates its users (called once, by ``nbplatform up``).

    Args:
        mode: ``NBP_ISOLATION``: ``auto`` (on when possible), ``on`` or ``off``.
        require: ``NBP_REQUIRE_ISOLATION``: refuse to start without isolation.
        euid: The hub's effective user id.
        reach: Folders the users' processes must enter: the interpreter's
            installation and ``NBP_HOME``.
        useradd: Path of ``useradd``, ``None`` when missing.

    Returns:
        The decision and the sentence to print.

    Raises:
        ConfigurationError: Isolation was asked for (``on`` or required) and cannot be had.
    """
    why_not = None
    if mode == "off":
        why_not = "NBP_ISOLATION=off"
    elif euid != 0:
        why_not = "the hub does not run as root"
    elif useradd is None:
        why_not = "useradd is not installed"
    else:
        closed = closed_ancestor(reach)
        if closed is not None:
            why_not = (
                f"{closed} is closed to other users (chmod o+x {closed}, or install "
                "the platform and NBP_HOME under a folder others may enter, e.g. /opt)"
            )
    if why_not is None:
        return Decision(
            True,
            "Isolation is on: each user's server, kernels and job runs run as their own "
            "system user, and NBP_HOME is closed to them.",
        )
    if require or mode == "on":
        variable = "NBP_REQUIRE_ISOLATION=1" if require else "NBP_ISOLATION=on"
        raise ConfigurationError(
            f"{variable} asks for one system user per platform user, and that is not "
            f"possible: {why_not}."
        )
    return Decision(
        False,
        f"Isolation is off ({why_not}): every user's server and kernels run as the hub's "
        "own system user and can read everything the hub can, its secrets included; "
        "run as root for one system user per platform user.",
    )


def read_as(user: SystemUser, path: Path, limit: int = 512 * 1024 * 1024) -> bytes:
    """Read ``path`` with ``user``'s rights (in a child process that becomes them).

    The platform reads a notebook out of a workspace this way, so that a symbolic
    link (or one swapped in after the path was checked) can only lead to what the
    user could read anyway.

    Raises:
        PermissionError: ``user`` may not read it.
        OSError: It cannot be read (with the child's error number).
        ValueError: It is larger than ``limit``.
    """
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: only os calls, then _exit(errno)
        code = 0
        try:
            os.close(rfd)
            os.setgroups([user.gid])
            os.setgid(user.gid)
            os.setuid(user.uid)
            fd = os.open(path, os.O_RDONLY)
            while chunk := os.read(fd, 1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(wfd, view) :]
        except OSError as e:
            code = min(max(e.errno or 5, 1), 255)
        except BaseException:
            code = 5
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    size = 0
    with os.fdopen(rfd, "rb") as pipe:
        while chunk := pipe.read(1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                os.kill(pid, 9)
                break
    _, status = os.waitpid(pid, 0)
    if size > limit:
        raise ValueError(f"{path} is larger than {limit} bytes.")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        number = code if code > 0 else 5
        raise OSError(number, os.strerror(number), str(path))
    return b"".join(chunks)
