"""Notebook discovery and parameter checking, without starting a kernel."""

from __future__ import annotations

import pytest

from cxlab.errors import ParameterError
from cxlab.runner.execute import plan
from cxlab.runner.params import Parameter, find_notebooks, list_notebooks


def test_every_notebook_declares_typed_documented_parameters():
    notebooks = list_notebooks()
    assert notebooks, "no notebooks found"
    for nb in notebooks:
        assert {"data", "lang", "min_cell_size"} <= set(nb.parameters), nb.name
        for p in nb.parameters.values():
            assert p.help, f"{nb.name}: parameter {p.name} has no '# help' comment"


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [("int", "12", 12), ("float", "0.5", 0.5), ("bool", "yes", True), ("bool", "False", False),
     ("str", "a b", "a b"), ("list", "a, b", ["a", "b"]), ("list", "[1, 2]", [1, 2])],
)
def test_values_from_the_command_line_are_converted(kind, text, expected):
    assert Parameter("x", kind, None, "help").coerce(text, "nb") == expected


@pytest.mark.parametrize(("kind", "text"), [("int", "1.5"), ("int", "ten"), ("float", "x"), ("bool", "maybe")])
def test_a_value_of_the_wrong_type_names_the_parameter_and_type(kind, text):
    with pytest.raises(ParameterError, match=rf"parameter 'x' must be {kind}"):
        Parameter("x", kind, None, "help").coerce(text, "nb")


def test_unknown_parameter_is_reported_with_known_names():
    with pytest.raises(ParameterError, match="unknown parameter.*min_cel_size.*Known:.*min_cell_size"):
        plan(["00"], {"min_cel_size": "5"}, {"data": "x", "lang": None})


def test_unknown_notebook_lists_available_ones():
    with pytest.raises(ParameterError, match="unknown notebook '99-nothing'. Available: 00-data-overview"):
        find_notebooks(["99-nothing"])


def test_notebooks_are_found_by_number_or_name():
    assert [nb.name for nb in find_notebooks(["00"])] == ["00-data-overview"]
    assert [nb.name for nb in find_notebooks(["00-data-overview.ipynb"])] == ["00-data-overview"]


def test_plan_passes_common_parameters_and_converts_types():
    [(nb, params)] = plan(["00"], {"min_cell_size": "5"}, {"data": "/d", "lang": "ru"})
    assert params == {"data": "/d", "lang": "ru", "min_cell_size": 5}
