"""Which GPUs this machine has for the platform to hand out, and why there are none.

``NBP_GPUS`` wins when set (``0,1`` pretends two devices exist; ``none`` turns
GPUs off); else NVML (``pynvml``), else ``nvidia-smi`` on ``PATH``. When none is
found, :func:`no_gpu_reason` says what was looked for, so that the spawn page can
offer the GPU profile as unavailable with a reason instead of failing a spawn.
:mod:`nbplatform_hub.gpus` hands the devices found out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from nbplatform.errors import ConfigurationError

__all__ = ["DEV_DIR", "GPUS_ENV", "discover_gpus", "no_gpu_reason"]

GPUS_ENV = "NBP_GPUS"

_DEVICE_RE = re.compile(r"^(\d+|(GPU|MIG)-[0-9A-Za-z/-]+)$")

#: Where the NVIDIA driver's device files are (``nvidia0``, ``nvidia1``...); a
#: reason for finding no GPU says whether there were any.
DEV_DIR = Path("/dev")

_log = logging.getLogger(__name__)


def _parse_gpus_env(value: str) -> list[str]:
    text = value.strip()
    if text == "" or text.lower() == "none":
        return []
    devices = [part.strip() for part in text.split(",")]
    for device in devices:
        if not _DEVICE_RE.match(device):
            raise ConfigurationError(
                f"{GPUS_ENV}={value!r}: {device!r} is not a GPU. Use a comma-separated list "
                "of device indices or UUIDs (e.g. '0,1' or 'GPU-5b2c...'), or 'none'."
            )
    duplicates = sorted({d for d in devices if devices.count(d) > 1})
    if duplicates:
        raise ConfigurationError(
            f"{GPUS_ENV}={value!r}: {', '.join(duplicates)} listed more than once."
        )
    return devices


def _nvml_gpus() -> tuple[list[str] | None, str]:
    """The GPUs NVML counts (``None`` when NVML is not usable), and what it said, for reasons."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None, "pynvml is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # pynvml raises NVMLError subclasses (no driver, ...)
        _log.debug("NVML is not usable (%s); trying nvidia-smi", exc)
        return None, f"NVML did not start: {exc}"
    try:
        count = pynvml.nvmlDeviceGetCount()
    except Exception as exc:
        _log.warning("NVML could not count the GPUs (%s); assuming none", exc)
        return [], f"NVML could not count the GPUs: {exc}"
    finally:
        with contextlib.suppress(Exception):  # shutting down is best effort
            pynvml.nvmlShutdown()
    return [str(index) for index in range(count)], "NVML counts no GPU"


def _nvidia_smi_gpus(executable: str) -> tuple[list[str], str]:
    """The GPUs ``nvidia-smi`` lists, and what it said, for reasons."""
    try:
        result = subprocess.run(
            [executable, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        _log.warning("nvidia-smi failed (%s); assuming this machine has no GPU", exc)
        return [], f"nvidia-smi failed: {exc}"
    devices = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not all(device.isdigit() for device in devices):
        _log.warning("nvidia-smi printed %r; assuming this machine has no GPU", result.stdout)
        return [], f"nvidia-smi printed no GPU index: {result.stdout.strip()[:80]!r}"
    return devices, "nvidia-smi lists no GPU"


def _device_files() -> list[str]:
    """The NVIDIA device files of this machine (``/dev/nvidia0``...), in device order."""
    try:
        found = [p for p in DEV_DIR.glob("nvidia*") if p.name[len("nvidia") :].isdigit()]
    except OSError:
        return []
    return [str(p) for p in sorted(found, key=lambda p: int(p.name[len("nvidia") :]))]


def _discover(env: Mapping[str, str]) -> tuple[list[str], str]:
    """The GPUs to hand out, and why there are none (a clause for messages)."""
    if GPUS_ENV in env:
        devices = _parse_gpus_env(env[GPUS_ENV])
        return devices, (
            f"GPUs are turned off by configuration ({GPUS_ENV} is set to "
            f"{env[GPUS_ENV]!r}): this platform hands out no GPU"
        )
    devices, nvml = _nvml_gpus()
    looked = [nvml]
    if devices is None:
        executable = shutil.which("nvidia-smi", path=env.get("PATH"))
        if executable:
            devices, smi = _nvidia_smi_gpus(executable)
        else:
            devices, smi = [], "nvidia-smi is not on PATH"
        looked.append(smi)
    files = _device_files()
    if files:
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        looked.append(f"yet {shown} {'exists' if len(files) == 1 else 'exist'}")
        unset = f"{GPUS_ENV} is unset (set it to the devices to hand out)"
    else:
        looked.append(f"no {DEV_DIR / 'nvidia<N>'} device file")
        unset = f"{GPUS_ENV} is unset"
    return devices, f"no GPU was found on this machine ({'; '.join(looked)}) and {unset}"


def discover_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """Find the GPUs the hub may hand out.

    Args:
        env: Environment to read ``NBP_GPUS`` from; ``os.environ`` when None.

    Returns:
        Device identifiers as ``CUDA_VISIBLE_DEVICES`` takes them (``["0", "1"]``).
        ``NBP_GPUS`` wins when set (``"0,1"``; ``""`` or ``"none"`` for no GPU);
        else NVML (``pynvml``) when importable and working; else
        ``nvidia-smi`` when on ``PATH``; else ``[]``. A failing probe yields
        ``[]`` with a logged warning.

    Raises:
        ConfigurationError: ``NBP_GPUS`` holds something that is not a GPU.
    """
    return _discover(os.environ if env is None else env)[0]


def no_gpu_reason(env: Mapping[str, str] | None = None) -> str:
    """Say why :func:`discover_gpus` finds no GPU, for messages shown to users.

    Discovers again (the probes are quick).

    Args:
        env: The environment discovery reads; ``os.environ`` when None.

    Returns:
        A clause that begins a sentence: ``"GPUs are turned off by configuration
        (NBP_GPUS is set to 'none'): this platform hands out no GPU"``, or what
        discovery looked for: ``"no GPU was found on this machine (pynvml is not
        installed; nvidia-smi is not on PATH; no /dev/nvidia<N> device file) and
        NBP_GPUS is unset"``.
    """
    return _discover(os.environ if env is None else env)[1]
