"""Zero to JupyterHub values rendered from the shipped profiles, checked with real KubeSpawner."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from kubespawner import KubeSpawner
from tornado.web import HTTPError
from traitlets.config import Config

from k8s_schemas import use_unreachable_kubeconfig
from nbplatform_hub.k8s import GROUP_FILTER_KEY, dump_values, render_values, split_image
from nbplatform_hub.profiles import load_profiles

REPO_PROFILES = Path(__file__).resolve().parents[2] / "hub" / "profiles.yaml"


@pytest.fixture
def values() -> dict[str, Any]:
    return render_values(load_profiles(REPO_PROFILES))


def _entries(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["slug"]: entry for entry in values["singleuser"]["profileList"]}


def test_profile_list_matches_the_shipped_profiles(values: dict[str, Any]) -> None:
    entries = _entries(values)
    assert list(entries) == ["cpu-small", "cpu-large", "gpu"]
    assert [e["default"] for e in entries.values()] == [True, False, False]
    assert entries["cpu-small"]["display_name"] == "CPU small"
    small = entries["cpu-small"]["kubespawner_override"]
    assert (small["cpu_limit"], small["cpu_guarantee"]) == (1, 0.5)
    assert (small["mem_limit"], small["mem_guarantee"]) == ("2G", "1G")
    assert entries["cpu-large"]["kubespawner_override"]["mem_limit"] == "8G"
    gpu = entries["gpu"]["kubespawner_override"]
    assert (gpu["mem_limit"], gpu["mem_guarantee"]) == ("16G", "8G")
    assert gpu["environment"] == {
        "NBP_PROFILE": "gpu",
        "NBP_KERNELS": "nbplatform-gpu,nbplatform-cpu",
    }
    assert values["singleuser"]["image"] == {"name": "nbplatform/singleuser", "tag": "latest"}


def test_gpu_limit_and_toleration_only_on_the_gpu_profile(values: dict[str, Any]) -> None:
    for slug, entry in _entries(values).items():
        override = entry["kubespawner_override"]
        if slug == "gpu":
            assert override["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in (
                override["tolerations"]
            )
            assert "NVIDIA_VISIBLE_DEVICES" not in override["environment"]  # the device plugin's
        else:
            assert "extra_resource_limits" not in override
            assert "tolerations" not in override
            assert override["environment"]["NVIDIA_VISIBLE_DEVICES"] == "none"


def test_group_filter_names_every_profile(values: dict[str, Any]) -> None:
    snippet = values["hub"]["extraConfig"][GROUP_FILTER_KEY]
    compile(snippet, "extraConfig", "exec")
    # The rule is the hub's own (nbplatform_hub.profiles), not a copy in the values.
    assert "from nbplatform_hub.k8s import profile_list_for" in snippet
    assert "c.KubeSpawner.profile_list = _nbp_profile_list_for(" in snippet
    assert "'gpu': ['data-scientist', 'platform-admin']" in snippet


def test_options_images_and_extra_are_applied() -> None:
    profiles = load_profiles(REPO_PROFILES)
    values = render_values(
        profiles,
        image="registry.example:5000/team/lab:2.1",
        hub_image="registry.example:5000/team/hub",
        gpu_resource="amd.com/gpu",
        extra={"hub": {"config": {"JupyterHub": {"authenticator_class": "github"}}}},
    )
    assert values["singleuser"]["image"] == {"name": "registry.example:5000/team/lab", "tag": "2.1"}
    assert values["hub"]["image"] == {"name": "registry.example:5000/team/hub", "tag": "latest"}
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "github"
    assert GROUP_FILTER_KEY in values["hub"]["extraConfig"]  # merged, not replaced
    gpu = _entries(values)["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"amd.com/gpu": "1"}
    assert split_image("lab@sha256:abc") == {"name": "lab", "tag": "latest@sha256:abc"}
    assert split_image("r:5000/lab:1.0@sha256:abc") == {
        "name": "r:5000/lab",
        "tag": "1.0@sha256:abc",
    }


def test_yaml_round_trips_and_is_stable(values: dict[str, Any]) -> None:
    text = dump_values(values)
    assert yaml.safe_load(text) == values
    assert dump_values(yaml.safe_load(text)) == text
    assert text.index("hub:") < text.index("singleuser:")
    assert f"{GROUP_FILTER_KEY}: |" in text  # the snippet stays readable


# -- the rendered values in a real KubeSpawner (no cluster is contacted) ------


def _user(*groups: str) -> SimpleNamespace:
    # Stands in for jupyterhub.user.User: the attributes KubeSpawner and the filter read.
    return SimpleNamespace(
        name="alice", id=1, url="/user/alice/", groups=[SimpleNamespace(name=g) for g in groups]
    )


@pytest.fixture
def hub_config(values: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    use_unreachable_kubeconfig(tmp_path, monkeypatch)
    rendered = yaml.safe_load(dump_values(values))
    # What z2jh's jupyterhub_config.py does with these values, then hub.extraConfig.
    c = Config()
    c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
    c.KubeSpawner.profile_list = rendered["singleuser"]["profileList"]
    for code in rendered["hub"]["extraConfig"].values():
        exec(code, {"c": c})  # noqa: S102 - the chart runs this code the same way
    return c


def _spawner(config: Config, user: SimpleNamespace, profile: str | None) -> Any:
    spawner = KubeSpawner(_mock=True, config=config, user=user)
    spawner.user_options = {"profile": profile} if profile else {}
    return spawner


async def test_kubespawner_builds_a_gpu_pod_for_a_data_scientist(hub_config: Config) -> None:
    spawner = _spawner(hub_config, _user("data-scientist"), "gpu")
    await spawner.load_user_options()
    pod = await spawner.get_pod_manifest()
    container = pod.spec.containers[0]
    assert container.resources.limits == {"cpu": 2.0, "memory": 16 * 2**30, "nvidia.com/gpu": "1"}
    assert container.resources.requests == {"cpu": 1.0, "memory": 8 * 2**30}
    assert "--MultiKernelManager.default_kernel_name=nbplatform-gpu" in container.args
    assert "nvidia.com/gpu" in {t.key for t in pod.spec.tolerations}
    form = await spawner._render_options_form_dynamically(spawner)
    assert "cpu-large" in form and "gpu" in form


async def test_kubespawner_offers_a_viewer_only_the_small_profile(hub_config: Config) -> None:
    spawner = _spawner(hub_config, _user("viewer"), None)
    form = await spawner._render_options_form_dynamically(spawner)
    assert "cpu-small" in form and "cpu-large" not in form
    await spawner.load_user_options()  # no choice: the default profile
    assert spawner.mem_limit == 2 * 2**30
    assert spawner.extra_resource_limits == {}
    refused = _spawner(hub_config, _user("viewer"), "gpu")
    with pytest.raises(ValueError, match="gpu"):
        await refused.load_user_options()  # as a REST API spawn asking for the GPU


async def test_kubespawner_refuses_a_user_in_no_group(hub_config: Config) -> None:
    spawner = _spawner(hub_config, _user("visitors"), None)
    with pytest.raises(HTTPError) as info:
        await spawner.load_user_options()
    assert info.value.status_code == 403
