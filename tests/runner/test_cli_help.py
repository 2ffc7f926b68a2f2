"""The command's help: a bare `cxlab` prints it, `--version` works, every option has help that shows its default."""

from __future__ import annotations

import argparse

from cxlab import __version__
from cxlab.cli import main, parser


def test_bare_cxlab_prints_help_and_exits_0(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cxlab") and "run" in out and "import" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cxlab {__version__}"


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_has_help_and_shows_its_default():
    for name, sub in _subparsers(parser()).items():
        text = sub.format_help()
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"cxlab {name}: {action.dest} has no help"
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in sub._get_formatter()._get_help_string(action), (name, action.dest)
        assert "(default: None)" not in text
    run_help = _subparsers(parser())["run"].format_help()
    assert "(default: data/demo)" in run_help and "(default: reports)" in run_help
