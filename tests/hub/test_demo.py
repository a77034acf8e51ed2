"""The demo seeding's parts that need no platform (the seeding itself:
``tests/integration/test_story_notebooks.py``)."""

from __future__ import annotations

import json

from traitlets.config import Config

from nbplatform_hub import demo
from nbplatform_hub.config import configure
from nbplatform_hub.settings import REPO_ROOT, Settings


def settings(tmp_path, **env):
    return Settings.from_env({"NBP_HOME": str(tmp_path), "NBP_ADMIN_PASSWORD": "x" * 9, **env})


def test_only_a_fresh_home_is_seeded(tmp_path):
    assert demo.wanted(tmp_path) is True
    assert demo.wanted(tmp_path, enabled=False) is False
    (tmp_path / "users" / "ann").mkdir(parents=True)
    assert demo.wanted(tmp_path) is False  # in use before the demo existed
    (tmp_path / "demo").mkdir()
    assert demo.wanted(tmp_path) is True  # a seeding began: it goes on
    (tmp_path / "demo" / "seeded.json").write_text("{}")
    assert demo.wanted(tmp_path) is False


def test_the_hub_runs_the_seeding_as_the_first_admin_on_a_fresh_home(tmp_path):
    c = Config()
    configure(c, settings(tmp_path, NBP_ADMIN_USERS="root,ann"))
    services = {s["name"]: s for s in c.JupyterHub.services}
    seeding = services[demo.SERVICE]
    assert seeding["command"][-2:] == ["-m", "nbplatform_hub.demo"]
    assert "url" not in seeding  # no route: it only calls the platform
    assert seeding["environment"]["NBP_DEMO_ADMIN"] == "root"
    assert seeding["environment"]["NBP_DEMO_NOTEBOOKS"] == str(REPO_ROOT / "notebooks")
    (role,) = [r for r in c.JupyterHub.load_roles if r["name"] == "demo-seeding"]
    assert (role["scopes"], role["services"]) == (["tokens!user=root"], [demo.SERVICE])
    assert c.JupyterHub.load_groups["data-scientist"]["users"] == [demo.DEMO_USER]


def test_no_seeding_when_off_seeded_or_with_oauth(tmp_path):
    for env in ({"NBP_DEMO": "0"}, {"NBP_AUTHENTICATOR": "generic-oauth"}):
        c = Config()
        configure(c, settings(tmp_path, **env))
        assert demo.SERVICE not in {s["name"] for s in c.JupyterHub.services}, env
        assert "demo-seeding" not in {r["name"] for r in c.JupyterHub.load_roles}
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "seeded.json").write_text("{}")
    c = Config()
    configure(c, settings(tmp_path))
    assert demo.SERVICE not in {s["name"] for s in c.JupyterHub.services}
    assert c.JupyterHub.load_groups["data-scientist"]["users"] == []


def test_notebooks_are_copied_once_and_never_overwritten(tmp_path):
    workspace = tmp_path / "users" / "demo"
    workspace.mkdir(parents=True)
    (workspace / "01_features.ipynb").write_text("edited")
    demo.copy_story(REPO_ROOT / "notebooks", workspace, ["01_features", "02_train"])
    assert (workspace / "01_features.ipynb").read_text() == "edited"
    assert (workspace / "02_train.ipynb").read_bytes() == (
        REPO_ROOT / "notebooks" / "02_train.ipynb"
    ).read_bytes()


def test_a_seeding_without_the_story_fails_saying_so_and_calls_nothing(tmp_path):
    calls = []
    seeder = demo.Seeder(
        home=tmp_path,
        notebooks=tmp_path / "nowhere",
        call=lambda *a, **k: calls.append(a),
        admin="admin",
    )
    outcome = seeder.seed()
    assert (outcome["state"], outcome["step"]) == ("failed", "prepare")
    assert "the story's notebooks are not in" in outcome["error"]
    assert json.loads(seeder.marker.read_text()) == outcome
    assert calls == []
    assert demo.wanted(tmp_path) is False  # written: not again at the next start
