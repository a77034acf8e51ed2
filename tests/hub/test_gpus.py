"""The allocator that hands GPUs to servers and job runs (discovery: test_gpu_discovery.py).

Each reason a GPU profile cannot start is the true one: GPUs turned off by
configuration (``NBP_GPUS=none`` or empty), or all of them in use (by whom).
"""

from __future__ import annotations

import logging

import pytest

from nbplatform.errors import UnavailableError
from nbplatform_hub.gpus import GpuAllocator, GpuUnavailableError, no_gpu_reason


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
    # Given no devices (and no reason), it claims nothing about discovery or NBP_GPUS.
    assert str(info.value) == (
        "This machine has no GPU the platform hands out, so the 'gpu' profile cannot start. "
        "Pick a CPU profile."
    )
    assert gpus.availability(0) == (True, "")
    ok, reason = gpus.availability(1)
    assert not ok and "so a GPU profile cannot start" in reason


@pytest.mark.parametrize("value", ["none", "NONE", "", " "])
def test_nbp_gpus_none_or_empty_says_gpus_are_turned_off(value: str) -> None:
    gpus = GpuAllocator.from_environment({"NBP_GPUS": value})
    assert gpus.devices == []
    ok, reason = gpus.availability(1, profile="gpu")
    assert not ok
    assert reason == (
        f"GPUs are turned off by configuration (NBP_GPUS is set to {value!r}): this platform "
        "hands out no GPU, so the 'gpu' profile cannot start. Pick a CPU profile."
    )
    assert "unset" not in reason and "This machine" not in reason
    assert no_gpu_reason({"NBP_GPUS": value}).startswith("GPUs are turned off by configuration")


def test_all_devices_in_use_says_so_and_who_holds_them() -> None:
    gpus = GpuAllocator(["0", "1"])
    gpus.allocate("alice/", 1)
    gpus.allocate("job:r1", 1)
    ok, reason = gpus.availability(1, profile="gpu")
    assert not ok
    assert reason == (
        "No free GPU: all 2 GPUs are in use (by alice, a job run). Try again when one of "
        "their servers stops or a job run ends, or pick a CPU profile."
    )
    gpus.release("alice/")
    gpus.allocate("job:r2", 1)
    reason = gpus.availability(1)[1]
    assert reason.startswith("No free GPU: all 2 GPUs are in use (by a job run).")
    assert "Try again when a job run ends," in reason and "servers" not in reason
    one = GpuAllocator(["0"])
    one.allocate("bob/", 1)
    assert one.availability(1)[1].startswith("No free GPU: the only GPU is in use (by bob).")


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
