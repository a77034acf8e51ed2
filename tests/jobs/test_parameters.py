"""Parameters are checked against the notebook's parameters cell."""

from __future__ import annotations

import pytest
from jobs_helpers import write_notebook

from nbplatform.errors import InvalidParameterError
from nbplatform_jobs.parameters import check_parameters, coerce_parameters
from nbplatform_jobs.runfiles import snapshot
from nbplatform_jobs.settings import JobsSettings


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


def test_whole_numbers_for_float_parameters_become_floats(home):
    path = home / "users/alice/t.ipynb"
    given = {"x": 3, "rate": 2, "flag": True, "name": "b"}
    coerced = coerce_parameters(check_parameters(path, given), given)
    assert coerced == {"x": 3, "rate": 2.0, "flag": True, "name": "b"}
    assert type(coerced["rate"]) is float and type(coerced["x"]) is int


def test_a_run_injects_the_float_the_default_promised(home):
    settings = JobsSettings(home=home)
    job = {"id": "j1", "owner": "alice", "notebook": "t.ipynb", "profile": "cpu-small"}
    run = {"id": "r1", "parameters": {"rate": 3}, "attempt": 1}
    run_dir = snapshot(settings, job, run)
    assert (run_dir / "parameters.json").read_text() == '{"rate": 3.0}'
