"""The profile spawner: local single-user servers on a CPU or GPU profile.

Each server runs as a local process in its user's workspace
(``NBP_HOME/users/<name>``): with isolation on (the hub runs as root), as the
user's own system user, created on first spawn, in a workspace that is theirs
alone (see :mod:`nbplatform_hub.isolation`). The profile (``user_options["profile"]``) decides
which kernels the server offers, its memory limit (enforced by
:mod:`nbplatform_hub.memory`) and how many GPUs it gets. GPUs are exclusive: an
allocator hands out device indices (``CUDA_VISIBLE_DEVICES``), frees them when
the server stops, and learns them back from the saved spawner state after a hub
restart.
"""

from __future__ import annotations

import asyncio
import html
import os
from pathlib import Path
from typing import Any

import psutil
from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado import web
from traitlets import Bool, Integer, Unicode, default

from nbplatform.errors import (
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
)

from .gpus import GpuAllocator, lease_file
from .isolation import (
    SystemUser,
    ensure_system_user,
    prepare_workspace,
    switch_to,
    user_environment,
)
from .kernel_ports import port_blocks
from .memory import MemoryLimit, limit_memory
from .profiles import (
    Profile,
    choose_profile,
    default_profiles_path,
    load_profiles,
    profiles_for_groups,
)

_allocator: GpuAllocator | None = None


#: Tries of a spawn whose port another process took first.
PORT_ATTEMPTS = 3
#: The kernel manager of platform servers (kernel ports from the server's block).
KERNEL_MANAGER = "nbplatform_lab.kernels.PortBlockKernelManager"


class PortTaken(Exception):
    """The new server's port is held by a process that is not the server."""


def listener_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` of this machine, if it can be told."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def descendants(pid: int) -> set[int]:
    """Pids of every process below ``pid``."""
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return set()


def curve_available() -> bool:
    """Whether this machine's ZeroMQ can encrypt kernel channels (CurveZMQ, libsodium)."""
    import zmq

    return bool(zmq.has("curve"))


def gpu_allocator() -> GpuAllocator:
    """Return the hub's GPU allocator, discovering devices on first use.

    Its holdings live in ``NBP_HOME/run/gpus.json``, shared with the scheduler's
    job runs (:func:`.gpus.lease_file`).
    """
    global _allocator
    if _allocator is None:
        _allocator = GpuAllocator.from_environment(leases=lease_file())
    return _allocator


def reset_gpu_allocator(devices: list[str] | None = None) -> GpuAllocator:
    """Replace the hub's GPU allocator (tests, or after the devices changed).

    Args:
        devices: The devices to manage; discovered when omitted.

    Returns:
        The new allocator.
    """
    global _allocator
    _allocator = GpuAllocator.from_environment() if devices is None else GpuAllocator(devices)
    return _allocator


class ProfileSpawner(SimpleLocalProcessSpawner):
    """Local process spawner with platform profiles, GPU assignment and memory limits."""

    profiles_path = Unicode(
        "",
        help="YAML file with the profiles (empty: $NBP_PROFILES or hub/profiles.yaml).",
    ).tag(config=True)

    platform_url = Unicode(
        "",
        help="URL of the platform service as servers and kernels reach it (NBP_PLATFORM_URL).",
    ).tag(config=True)

    activity_interval = Integer(
        300,
        help="""Seconds between a server's activity reports to the hub.

        The idle culler sees activity only as often as this; a kernel busy
        computing counts as activity (checked as often as this, too).
        """,
    ).tag(config=True)

    memory_enforcement = Unicode(
        "auto",
        help="How the profile's memory limit is enforced: auto, cgroup, watchdog or none.",
    ).tag(config=True)

    isolated = Bool(
        False,
        help="""Run each user's server and kernels as their own system user (needs root).

        The user is ``system_user_prefix`` + their name, created with ``useradd``
        on first spawn; their workspace becomes theirs, mode 0700.
        """,
    ).tag(config=True)

    system_user_prefix = Unicode(
        "jupyter-", help="Start of each platform user's system user name (NBP_SYSTEM_USER_PREFIX)."
    ).tag(config=True)

    @default("options_form")
    def _default_options_form(self) -> Any:
        return ProfileSpawner.render_options_form

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return self._simple_options_from_form

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        def check_profile(spawner: ProfileSpawner, user_options: dict[str, Any]) -> None:
            spawner.profile = spawner.resolve_profile(user_options or {})

        return check_profile

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile: Profile | None = None
        self.gpu_devices: list[str] = []
        #: The server's block of kernel ports (first, last), or None.
        self.kernel_ports: tuple[int, int] | None = None
        self._memory_limit: MemoryLimit | None = None
        self.system_user: SystemUser | None = None

    # Profiles ---------------------------------------------------------------
    def load_profiles(self) -> list[Profile]:
        """Read the profiles file (each time, so edits apply to the next spawn)."""
        return load_profiles(self.profiles_path or default_profiles_path())

    @property
    def group_names(self) -> list[str]:
        """Names of the owner's JupyterHub groups."""
        return [group.name for group in self.user.groups]

    @property
    def owner_key(self) -> str:
        """The key GPUs are held under: ``<user>/<server name>``."""
        return f"{self.user.name}/{self.name}"

    def allowed_profiles(self) -> list[Profile]:
        """Profiles the owner's groups may use, in file order."""
        return profiles_for_groups(self.load_profiles(), self.group_names)

    def resolve_profile(self, options: dict[str, Any]) -> Profile:
        """Return the profile requested in ``options``, checking the owner may use it.

        Args:
            options: The server's ``user_options``.

        Returns:
            The requested profile, or the owner's first (default) one if none was named.

        Raises:
            tornado.web.HTTPError: 400 for a malformed request, 403 for a profile
                outside the owner's groups or an unknown one.
        """
        try:
            return choose_profile(
                self.load_profiles(), options.get("profile"), self.user.name, self.group_names
            )
        except PermissionDeniedError as e:
            raise web.HTTPError(403, e.message.removeprefix("profile: ")) from None
        except InvalidParameterError as e:
            raise web.HTTPError(400, e.message.removeprefix("profile: ")) from None

    def render_options_form(spawner: ProfileSpawner) -> str:
        """Render the spawn page: the profiles the user may use, unavailable ones disabled."""
        try:
            profiles = spawner.allowed_profiles()
        except NbplatformError as e:
            return f'<p class="alert alert-danger">{html.escape(e.message)}</p>'
        allocator = gpu_allocator()
        # The true reason a GPU profile cannot start now (GPUs turned off, none
        # found, all in use); what this server holds itself counts as free.
        usable = {
            p.slug: allocator.availability(p.gpus, profile=p.slug, owner=spawner.owner_key)
            if p.gpus
            else (True, "")
            for p in profiles
        }
        previous = (spawner.user_options or {}).get("profile")
        preferred = (
            [previous] + [p.slug for p in profiles if p.default] + [p.slug for p in profiles]
        )
        selected = next((slug for slug in preferred if usable.get(slug, (False,))[0]), None)
        rows = []
        for profile in profiles:
            ok, reason = usable[profile.slug]
            slug = html.escape(profile.slug)
            note = (
                ""
                if ok
                else '<div class="nbp-unavailable text-danger">'
                f"Unavailable: {html.escape(reason)}</div>"
            )
            rows.append(
                f'<label class="nbp-profile" data-profile="{slug}" '
                f'style="display:block;margin:0.5em 0;{"" if ok else "opacity:0.6;"}">'
                f'<input type="radio" name="profile" value="{slug}"'
                f"{' checked' if profile.slug == selected else ''}{'' if ok else ' disabled'}> "
                f"<strong>{html.escape(profile.display_name)}</strong>"
                f"<div>{html.escape(profile.description)}</div>{note}</label>"
            )
        return '<div class="nbp-profiles">' + "".join(rows) + "</div>"

    # Lifecycle --------------------------------------------------------------
    @default("home_dir_template")
    def _default_home_dir_template(self) -> str:
        return os.path.join(os.environ.get("NBP_HOME", "var"), "users", "{username}")

    def get_env(self) -> dict[str, str]:
        """Environment of the server and, through it, of its kernels."""
        env = super().get_env()
        profile = self.profile
        if profile is not None:
            env["NBP_PROFILE"] = profile.slug
            env["NBP_KERNELS"] = ",".join(profile.kernels)
            env["MEM_LIMIT"] = str(profile.mem_limit_bytes)
            env["CPU_LIMIT"] = str(profile.cpu_limit)
        env["JUPYTERHUB_ACTIVITY_INTERVAL"] = str(self.activity_interval)
        env["NBP_GPU_DEVICES"] = ",".join(self.gpu_devices)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpu_devices)
        if self.platform_url:
            env["NBP_PLATFORM_URL"] = self.platform_url
        return env

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """``HOME`` (the workspace), ``USER`` and ``SHELL`` of the server's user."""
        if self.isolated and self.system_user is not None:
            return user_environment(env, self.system_user, Path(self.home_dir))
        return super().user_env(env)

    def make_preexec_fn(self, name: str) -> Any:
        """Become the user's system user (isolated) or just enter the workspace."""
        if self.isolated and self.system_user is not None:
            return switch_to(self.system_user, Path(self.home_dir))
        return super().make_preexec_fn(name)

    async def _prepare_system_user(self) -> None:
        """Create the user's system user if needed and hand them their workspace."""
        if not self.isolated:
            return
        home = Path(self.home_dir)

        def prepare() -> SystemUser:
            user = ensure_system_user(self.user.name, self.system_user_prefix, home)
            prepare_workspace(home, user)
            return user

        try:
            self.system_user = await asyncio.to_thread(prepare)
        except (NbplatformError, OSError) as e:
            message = e.message if isinstance(e, NbplatformError) else str(e)
            raise web.HTTPError(500, f"Cannot isolate {self.user.name}'s server: {message}") from e

    def get_args(self) -> list[str]:
        """Command-line arguments of the server: only the profile's kernels."""
        args = super().get_args()
        if self.profile is not None:
            kernels = self.profile.kernels
            args.append(f"--KernelSpecManager.allowed_kernelspecs={kernels!r}")
            args.append(f"--MultiKernelManager.default_kernel_name={kernels[0]}")
        args.append(f"--NbplatformLab.busy_kernel_poll_interval={self.activity_interval}")
        if curve_available():
            # Kernels listen on loopback, where every local account can connect:
            # CurveZMQ keeps their IOPub (outputs) and the rest to the server.
            args.append("--MappingKernelManager.transport_encryption=auto")
            args.append("--KernelManager.transport_encryption=auto")
        if self.kernel_ports is not None:
            # The server's kernels listen only on its own block (kernel_ports.py).
            first, last = self.kernel_ports
            args.append(f"--MappingKernelManager.kernel_manager_class={KERNEL_MANAGER}")
            args.append(f"--PortBlockKernelManager.port_range={first}-{last}")
        if not self.isolated and hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        return args

    async def start(self) -> Any:
        """Check the profile, take its GPUs, start the server and limit its memory."""
        profile = self.resolve_profile(self.user_options or {})
        self.profile = profile
        self.gpu_devices = []
        if profile.gpus:
            try:
                self.gpu_devices = gpu_allocator().allocate(
                    self.owner_key, profile.gpus, profile=profile.slug
                )
            except NbplatformError as e:
                raise web.HTTPError(e.http_status, e.message) from None
        self.kernel_ports = port_blocks().allocate(self.owner_key)
        try:
            await self._prepare_system_user()
            for attempt in range(1, PORT_ATTEMPTS + 1):
                result = await super().start()
                self._limit_memory(profile)
                try:
                    await self._wait_listening(result)
                    break
                except PortTaken as e:
                    # Another process (a kernel binding a random port, say) took the
                    # port between its choice and the server's bind: try another.
                    self.log.warning("%s (attempt %s of %s)", e, attempt, PORT_ATTEMPTS)
                    await super().stop(now=True)
                    if attempt == PORT_ATTEMPTS:
                        raise web.HTTPError(500, str(e)) from None
                    self.port = 0  # LocalProcessSpawner picks a new random port
        except BaseException:
            self._release()
            raise
        return result

    async def _wait_listening(self, address: tuple[str, int]) -> None:
        """Return as soon as the new server accepts connections (or has exited).

        JupyterHub then checks it over HTTP. Without this, the hub's own check
        backs off exponentially and often notices a ready server seconds late.
        """
        host, port = address
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            # Off the hub's event loop: listing sockets reads all of /proc.
            await asyncio.to_thread(self._check_listener, port)
            return

    def _check_listener(self, port: int) -> None:
        """Refuse a port that another process took before the new server could.

        With isolation on, a user's process could listen on the port a server is
        about to use and be routed the owner's browser traffic. The listener must be
        the server itself or one of its children.
        """
        if not self.isolated or self.proc is None:
            return
        owner = listener_pid(port)
        if owner is None or owner == self.pid or owner in descendants(self.pid):
            return
        raise PortTaken(
            f"The port chosen for {self.user.name}'s server ({port}) is held by another "
            f"process ({owner})"
        )

    def _limit_memory(self, profile: Profile) -> None:
        """Put the server (and the kernels it will start) under the profile's memory limit.

        After a hub restart the same cgroup is found again by name, so a running
        server stays limited.
        """
        if self.memory_enforcement == "none":
            return
        if self._memory_limit is not None:  # a new attempt's process
            self._memory_limit.attach(self.pid)
            return
        self._memory_limit = limit_memory(
            f"{self.user.name}-{self.name}",
            profile.mem_limit_bytes,
            backend=self.memory_enforcement,
        )
        self._memory_limit.attach(self.pid)
        self.log.info(
            "%s on profile %s: %s", self._log_name, profile.slug, self._memory_limit.describe()
        )

    async def stop(self, now: bool = False) -> None:
        """Stop the server, then free its GPUs and memory limit."""
        try:
            await super().stop(now=now)
        finally:
            self._release()

    def _release(self) -> None:
        if self._memory_limit is not None:
            self._memory_limit.close()
            self._memory_limit = None
        gpu_allocator().release(self.owner_key)
        self.gpu_devices = []
        port_blocks().release(self.owner_key)
        self.kernel_ports = None

    # State (survives hub restarts) -------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Save the pid (by the parent), the profile and the held GPUs."""
        state = super().get_state()
        if self.profile is not None:
            state["profile"] = self.profile.slug
        if self.gpu_devices:
            state["gpu_devices"] = list(self.gpu_devices)
        if self.kernel_ports is not None:
            state["kernel_ports"] = list(self.kernel_ports)
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore after a hub restart, reclaiming the GPUs a running server holds."""
        super().load_state(state)
        slug = state.get("profile")
        if slug:
            try:
                self.profile = next(p for p in self.load_profiles() if p.slug == slug)
            except (StopIteration, NotFoundError, NbplatformError):
                self.profile = None
        devices = [str(d) for d in state.get("gpu_devices", [])]
        if devices and self.pid:
            self.gpu_devices = gpu_allocator().claim(self.owner_key, devices)
        block = state.get("kernel_ports")
        if block and self.pid:
            self.kernel_ports = port_blocks().claim(self.owner_key, tuple(block))
        if self.pid and self.profile is not None:
            self._limit_memory(self.profile)

    def clear_state(self) -> None:
        """Forget the server (it stopped or is about to start anew) and free its GPUs."""
        super().clear_state()
        self._release()
