"""GPU discovery from NBP_GPUS and the allocator that hands GPUs to servers."""

from __future__ import annotations

import logging

import pytest

from nbplatform.errors import ConfigurationError, UnavailableError
from nbplatform_hub.gpus import GpuAllocator, GpuUnavailableError, discover_gpus


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


def test_two_owners_get_different_devices_and_a_third_is_refused() -> None:
    gpus = GpuAllocator(["0", "1"])
    alice = gpus.allocate("alice/", 1)
    bob = gpus.allocate("bob/gpu", 1, profile="gpu")
    assert sorted(alice + bob) == ["0", "1"]
    assert gpus.free() == []
    assert gpus.holdings() == {"alice/": alice, "bob/gpu": bob}
    with pytest.raises(GpuUnavailableError) as info:
        gpus.allocate("carol/", 1, profile="gpu")
    assert str(info.value) == (
        "No free GPU: all 2 GPUs are in use (by alice, bob). "
        "Try again when one of their servers stops, or pick a CPU profile."
    )
    assert isinstance(info.value, UnavailableError)
    assert info.value.http_status == 503
    assert gpus.availability(1) == (False, str(info.value))


def test_allocating_again_returns_what_is_held() -> None:
    gpus = GpuAllocator(["0", "1", "2"])
    first = gpus.allocate("alice/", 1)
    assert gpus.allocate("alice/", 1) == first
    both = gpus.allocate("alice/", 2)
    assert first[0] in both and len(both) == 2
    assert gpus.allocate("alice/", 0) == []
    assert gpus.free() == ["0", "1", "2"]


def test_release_frees_the_devices() -> None:
    gpus = GpuAllocator(["0"])
    assert gpus.allocate("alice/", 1) == ["0"]
    assert gpus.availability(1, profile="gpu")[0] is False
    assert gpus.availability(1, owner="alice/") == (True, "")
    assert gpus.release("alice/") == ["0"]
    assert gpus.release("alice/") == []
    assert gpus.availability(1) == (True, "")
    assert gpus.allocate("bob/", 1) == ["0"]


def test_partial_shortage_and_oversized_requests_are_explained() -> None:
    gpus = GpuAllocator(["0", "1"])
    gpus.allocate("alice/", 1)
    ok, reason = gpus.availability(2, profile="gpu2")
    assert not ok
    assert "only 1 of 2 is free" in reason and "alice" in reason
    with pytest.raises(GpuUnavailableError, match="needs 3 GPUs but this machine has only 2"):
        gpus.allocate("bob/", 3, profile="gpu3")


def test_no_devices_message_names_the_profile() -> None:
    gpus = GpuAllocator([])
    with pytest.raises(GpuUnavailableError) as info:
        gpus.allocate("alice/", 1, profile="gpu")
    assert str(info.value) == (
        "This machine has no GPU (NVML and nvidia-smi found none, NBP_GPUS is unset), "
        "so the 'gpu' profile cannot start."
    )
    assert gpus.availability(0) == (True, "")
    ok, reason = gpus.availability(1)
    assert not ok and "so a GPU profile cannot start" in reason


def test_from_environment_says_nbp_gpus_was_none() -> None:
    gpus = GpuAllocator.from_environment({"NBP_GPUS": "none"})
    assert gpus.devices == []
    assert "NBP_GPUS is set to 'none'" in gpus.availability(1)[1]


def test_reconcile_after_restart_keeps_holders(caplog: pytest.LogCaptureFixture) -> None:
    before = GpuAllocator(["0", "1", "2"])
    before.allocate("alice/", 1)
    before.allocate("bob/gpu", 2)
    saved = before.holdings()

    after = GpuAllocator(["0", "1", "2"])  # the hub restarted
    with caplog.at_level(logging.WARNING):
        after.reconcile({**saved, "carol/": ["7"], "dave/": [saved["alice/"][0]]})
    assert after.holdings() == saved
    assert after.free() == []
    assert "GPU 7" in caplog.text and "held by both alice/ and dave/" in caplog.text
    with pytest.raises(GpuUnavailableError, match=r"\(by alice, bob\)"):
        after.allocate("erin/", 1)
    after.release("bob/gpu")
    assert len(after.allocate("erin/", 1)) == 1


def test_claim_restores_one_server() -> None:
    gpus = GpuAllocator(["0", "1"])
    assert gpus.claim("alice/", ["1", "9"]) == ["1"]
    assert gpus.claim("bob/", ["1"]) == []
    assert gpus.allocate("bob/", 1) == ["0"]


def test_servers_and_job_runs_share_the_devices_through_the_lease_file(tmp_path) -> None:
    from nbplatform_hub.gpus import GpuLeaseFile, lease_file

    leases = lease_file(tmp_path)
    assert isinstance(leases, GpuLeaseFile) and leases.path == tmp_path / "run" / "gpus.json"
    hub = GpuAllocator(["0", "1"], leases=leases)  # the hub process: servers
    scheduler = GpuAllocator(["0", "1"], leases=GpuLeaseFile(leases.path))  # job runs
    assert hub.allocate("alice/", 1) == ["0"]
    assert scheduler.allocate("job:r1", 1) == ["1"]
    with pytest.raises(GpuUnavailableError, match=r"in use \(by alice, a job run\)"):
        hub.allocate("bob/", 1)
    ok, reason = scheduler.availability(1, profile="gpu")
    assert not ok and "a job run" in reason
    # A hub restart rebuilds the servers' holdings; the job run keeps its device.
    restarted = GpuAllocator(["0", "1"], leases=GpuLeaseFile(leases.path))
    restarted.reconcile({"alice/": ["0"], "bob/": ["1"]})
    assert restarted.holdings() == {"alice/": ["0"], "job:r1": ["1"]}
    scheduler.release("job:r1")
    assert hub.allocate("bob/", 1) == ["1"]
    assert hub.free() == [] and scheduler.free() == []


def test_an_unreadable_lease_file_starts_afresh(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from nbplatform_hub.gpus import GpuLeaseFile

    path = tmp_path / "gpus.json"
    path.write_text("{not json")
    allocator = GpuAllocator(["0"], leases=GpuLeaseFile(path))
    with caplog.at_level(logging.WARNING):
        assert allocator.allocate("alice/", 1) == ["0"]
    assert "unreadable" in caplog.text
    assert GpuAllocator(["0"], leases=GpuLeaseFile(path)).holdings() == {"alice/": ["0"]}
