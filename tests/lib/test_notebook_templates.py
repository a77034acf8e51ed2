"""The packaged job templates and where they are placed in your workspace."""

from __future__ import annotations

import pytest

from nbplatform.errors import InvalidParameterError
from nbplatform.notebook_templates import place_notebook, template, workspace


def test_templates_are_packaged():
    for name in ("drift_check.ipynb", "materialize_features.ipynb", "review_promotion.ipynb"):
        assert template(name).is_file()


def test_place_notebook_copies_once(tmp_path):
    source = template("drift_check.ipynb")
    assert place_notebook("drift/check.ipynb", tmp_path, source) == ("drift/check.ipynb", True)
    target = tmp_path / "drift" / "check.ipynb"
    assert target.read_bytes() == source.read_bytes()
    target.write_text("{}")  # yours is kept
    assert place_notebook("drift/check.ipynb", tmp_path, source) == ("drift/check.ipynb", False)
    assert target.read_text() == "{}"


def test_place_notebook_takes_an_absolute_path_inside_the_root(tmp_path):
    source = template("drift_check.ipynb")
    path, copied = place_notebook(str(tmp_path / "a" / "b.ipynb"), tmp_path, source)
    assert (path, copied) == ("a/b.ipynb", True)
    assert (tmp_path / "a" / "b.ipynb").is_file()


@pytest.mark.parametrize(
    ("notebook", "message"),
    [
        ("/etc/x.ipynb", "is not inside your workspace"),
        ("../x.ipynb", "must be a .ipynb file inside your workspace"),
        ("a/../../x.ipynb", "must be a .ipynb file inside your workspace"),
        ("x.py", "must be a .ipynb file"),
        ("x", "must be a .ipynb file"),
    ],
)
def test_place_notebook_refuses_paths_outside_or_not_notebooks(tmp_path, notebook, message):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(InvalidParameterError, match=message):
        place_notebook(notebook, root, template("drift_check.ipynb"))
    assert list(tmp_path.rglob("*.ipynb")) == []


def test_the_workspace_is_the_users_folder_of_nbp_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBP_HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    assert workspace() == tmp_path / "home"
    (tmp_path / "users" / "alice").mkdir(parents=True)
    assert workspace() == tmp_path / "users" / "alice"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert workspace() == tmp_path / "home"
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.delenv("NBP_HOME")
    assert workspace() == tmp_path / "home"
