"""Notebook paths must stay inside the owner's workspace: each way out is refused."""

from __future__ import annotations

import pytest
from jobs_helpers import write_notebook

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform_jobs.workspace import resolve_notebook


def test_a_notebook_in_the_workspace_resolves(home):
    assert resolve_notebook(home, "alice", "t.ipynb") == (home / "users/alice/t.ipynb").resolve()


def test_dot_dot_is_refused(home):
    write_notebook(home / "users" / "bob" / "b.ipynb")
    with pytest.raises(InvalidParameterError, match=r"notebook: .*'\.\.'"):
        resolve_notebook(home, "alice", "../bob/b.ipynb")


def test_absolute_path_is_refused(home):
    with pytest.raises(InvalidParameterError, match="relative to your workspace"):
        resolve_notebook(home, "alice", str(home / "users/alice/t.ipynb"))


def test_symlink_out_of_the_workspace_is_refused(home):
    outside = write_notebook(home / "elsewhere" / "o.ipynb")
    (home / "users" / "alice" / "link.ipynb").symlink_to(outside)
    (home / "users" / "alice" / "dir").symlink_to(outside.parent)
    for path in ("link.ipynb", "dir/o.ipynb"):
        with pytest.raises(InvalidParameterError, match="leads out of alice's workspace"):
            resolve_notebook(home, "alice", path)


def test_symlink_inside_the_workspace_is_fine(home):
    (home / "users" / "alice" / "alias.ipynb").symlink_to(home / "users" / "alice" / "t.ipynb")
    assert resolve_notebook(home, "alice", "alias.ipynb").name == "t.ipynb"


def test_missing_and_non_notebook(home):
    with pytest.raises(NotFoundError):
        resolve_notebook(home, "alice", "nope.ipynb")
    with pytest.raises(InvalidParameterError, match="not a .ipynb"):
        resolve_notebook(home, "alice", "t.py")


def test_a_notebook_the_platform_ships_resolves_to_the_packaged_file(home):
    from nbplatform.notebook_templates import template

    path = resolve_notebook(home, "alice", "nbplatform:review_promotion.ipynb")
    assert path == template("review_promotion.ipynb") and path.is_file()
    assert resolve_notebook(home, "nobody", "nbplatform:drift_check.ipynb").is_file()


@pytest.mark.parametrize(
    "notebook",
    [
        "nbplatform:../templates/drift_check.ipynb",
        "nbplatform:templates/drift_check.ipynb",
        "nbplatform:/etc/x.ipynb",
        "nbplatform:..ipynb",
        "nbplatform:",
        "nbplatform:drift_check.py",
        "nbplatform:~x.ipynb",
    ],
)
def test_a_platform_notebook_is_a_plain_name(home, notebook):
    with pytest.raises(InvalidParameterError, match="a plain file name, no folders"):
        resolve_notebook(home, "alice", notebook)


def test_an_unknown_platform_notebook_is_not_found(home):
    with pytest.raises(NotFoundError, match="ships no notebook 'nope.ipynb'"):
        resolve_notebook(home, "alice", "nbplatform:nope.ipynb")
