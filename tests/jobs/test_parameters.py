"""Parameters are checked against the notebook's parameters cell."""

from __future__ import annotations

import pytest
from jobs_helpers import write_notebook

from nbplatform.errors import InvalidParameterError
from nbplatform_jobs.parameters import check_parameters


def test_known_parameters_of_the_right_type_pass(home):
    path = home / "users/alice/t.ipynb"
    declared = check_parameters(path, {"x": 3, "name": "b", "rate": 2, "flag": True})
    assert set(declared) == {"x", "name", "rate", "flag", "sleep", "fail"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nope": 1}, r"parameters\.nope: .*no parameter 'nope'"),
        ({"x": "three"}, r"parameters\.x: expected int"),
        ({"x": True}, r"parameters\.x: expected int"),
        ({"flag": 1}, r"parameters\.flag: expected bool"),
        ({"name": 5}, r"parameters\.name: expected str"),
    ],
)
def test_unknown_or_mistyped_parameters_are_refused(home, params, message):
    with pytest.raises(InvalidParameterError, match=message):
        check_parameters(home / "users/alice/t.ipynb", params)


def test_a_notebook_without_parameters_cell_takes_none(home):
    path = write_notebook(home / "users/alice/plain.ipynb", params=None, body=["1"])
    assert check_parameters(path, {}) == {}
    with pytest.raises(InvalidParameterError, match="no cell tagged 'parameters'"):
        check_parameters(path, {"x": 1})
