"""The README tells the truth: its schema section is the contract, and its commands exist."""

from __future__ import annotations

from pathlib import Path

from cxlab.cli import parser
from cxlab.data.contract import schema_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_schema_section_is_generated_from_the_contract():
    assert schema_markdown() in README


def test_every_cli_command_in_the_readme_exists():
    commands = set(parser()._subparsers._group_actions[0].choices)
    for command in ("list", "validate", "demo-data", "import", "run", "catalog"):
        assert f"cxlab {command}" in README and command in commands


def test_the_two_setup_commands_are_documented():
    assert "make reports" in README and "make test" in README


def test_every_make_target_in_the_readme_exists():
    import re

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z][a-z-]*)`", README))
    assert {"test-postgres", "test-spark"} <= named and named <= targets, named - targets
