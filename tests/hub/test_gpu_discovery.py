"""GPU discovery: NBP_GPUS, NVML, nvidia-smi, and the reason when none is found.

A GPU profile that cannot start says the true reason: none found names what was
looked for (NVML, nvidia-smi, ``/dev/nvidia<N>``) and what each said.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_hub import gpu_discovery
from nbplatform_hub.gpu_discovery import discover_gpus, no_gpu_reason
from nbplatform_hub.gpus import GpuAllocator


@pytest.mark.parametrize(
    ("value", "devices"),
    [
        ("0,1", ["0", "1"]),
        (" 2 , 3 ", ["2", "3"]),
        ("", []),
        ("none", []),
        ("NONE", []),
        ("GPU-5b2c1d7e-0000-1111-2222-333344445555", ["GPU-5b2c1d7e-0000-1111-2222-333344445555"]),
    ],
)
def test_discover_from_env(value: str, devices: list[str]) -> None:
    assert discover_gpus({"NBP_GPUS": value}) == devices


@pytest.mark.parametrize("value", ["0,,1", "gpu0", "0;1", "-1", "0,0"])
def test_discover_refuses_junk(value: str) -> None:
    with pytest.raises(ConfigurationError, match="NBP_GPUS"):
        discover_gpus({"NBP_GPUS": value})


def test_discover_without_env_returns_a_list() -> None:
    # Whatever this machine has (NVML, nvidia-smi or nothing), the answer is a list of ids.
    devices = discover_gpus({"PATH": "/nonexistent"})
    assert isinstance(devices, list) and all(isinstance(d, str) for d in devices), devices


@pytest.fixture
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No pynvml, no nvidia-smi on PATH, an empty device folder; returns that folder."""
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    dev = tmp_path / "dev"
    dev.mkdir()
    monkeypatch.setattr(gpu_discovery, "DEV_DIR", dev)
    return dev


def test_nbp_gpus_unset_and_nothing_found_says_what_was_looked_for(bare_machine: Path) -> None:
    env = {"PATH": "/nonexistent"}
    gpus = GpuAllocator.from_environment(env)
    assert gpus.devices == []
    ok, reason = gpus.availability(1, profile="gpu")
    assert not ok
    assert reason == (
        "No GPU was found on this machine (pynvml is not installed; nvidia-smi is not on "
        f"PATH; no {bare_machine}/nvidia<N> device file) and NBP_GPUS is unset, so the "
        "'gpu' profile cannot start. Pick a CPU profile."
    )
    assert "turned off" not in reason
    # NVIDIA device files that neither NVML nor nvidia-smi could read are named.
    (bare_machine / "nvidia0").touch()
    (bare_machine / "nvidiactl").touch()  # the control device is no GPU
    reason = no_gpu_reason(env)
    assert f"yet {bare_machine}/nvidia0 exists" in reason and "nvidiactl" not in reason
    assert reason.endswith("NBP_GPUS is unset (set it to the devices to hand out)")


def _fake_nvidia_smi(folder: Path, script: str) -> dict[str, str]:
    smi = folder / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\n{script}\n")
    smi.chmod(0o755)
    return {"PATH": str(folder)}


def test_nvidia_smi_that_fails_or_lists_nothing_is_the_reason(
    bare_machine: Path, tmp_path: Path
) -> None:
    env = _fake_nvidia_smi(tmp_path, "exit 9")
    assert discover_gpus(env) == []
    reason = no_gpu_reason(env)
    assert "pynvml is not installed; nvidia-smi failed: " in reason
    assert "exit status 9" in reason and reason.endswith("and NBP_GPUS is unset")
    env = _fake_nvidia_smi(tmp_path, "true")
    assert "; nvidia-smi lists no GPU;" in no_gpu_reason(env)
    env = _fake_nvidia_smi(tmp_path, "echo 0; echo 1")
    assert discover_gpus(env) == ["0", "1"]


def test_nvml_that_counts_none_or_will_not_start_is_the_reason(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NVMLError(Exception):
        pass

    def refuse() -> None:
        raise NVMLError("Driver Not Loaded")

    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 0, nvmlShutdown=lambda: None
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    env = {"PATH": "/nonexistent"}
    assert discover_gpus(env) == []
    assert no_gpu_reason(env).startswith(
        "no GPU was found on this machine (NVML counts no GPU; no "
    )
    fake.nvmlInit = refuse  # no driver: nvidia-smi is tried next
    reason = no_gpu_reason(env)
    assert "(NVML did not start: Driver Not Loaded; nvidia-smi is not on PATH; " in reason
