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


def test_a_report_page_is_titled_by_its_heading():
    from nbformat.v4 import new_markdown_cell, new_notebook

    from cxlab.runner.html import to_html

    nb = new_notebook(cells=[new_markdown_cell("# Trigger backtest: Salary & no card\n\ntext")])
    page = to_html(nb, {}, {"run_id": "r", "version": "0", "fingerprint": "f", "commit": "c", "finished": "now"}, "en")
    assert "<title>Trigger backtest: Salary &amp; no card — cxlab</title>" in page


def test_the_index_shows_each_runs_parameters_and_a_failed_notebooks_error(tmp_path):
    import json

    from cxlab.runner.index import write_index

    (tmp_path / "r1").mkdir()
    manifest = {"run_id": "r1", "started_at": "2026-01-01", "status": "failed", "data": {"source": "data/x"},
                "notebooks": [{"name": "02-trigger-backtest", "status": "failed", "notebook": "02.failed.ipynb",
                               "parameters": {"data": "data/x", "trigger": "salary_no_card", "seed": 3},
                               "error": "DataError: no <snapshot> between"},
                              {"name": "04-campaign-retro", "status": "skipped", "parameters": {},
                               "error": "the data has no communications table"}]}
    (tmp_path / "r1" / "manifest.json").write_text(json.dumps(manifest))
    page = write_index(tmp_path).read_text()
    assert "<th>parameters</th>" in page and "seed = 3<br>trigger = salary_no_card" in page
    assert "<details><summary>error</summary><pre>DataError: no &lt;snapshot&gt; between</pre></details>" in page
    assert "04-campaign-retro (skipped) <span class=\"cx-muted\">— the data has no communications table</span>" in page
