"""The CLI is thin: it parses arguments, calls the library, and maps errors to exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cxlab import cli
from cxlab.errors import DataError, NotebookFailed


def test_run_passes_arguments_to_the_runner(monkeypatch, tmp_path):
    seen = {}

    def fake_run(names, **kwargs):
        seen.update(names=names, **kwargs)
        from cxlab.runner.execute import RunResult

        return RunResult("r1", tmp_path / "r1")

    monkeypatch.setattr("cxlab.runner.run", fake_run)
    code = cli.main(["run", "00", "--data", "d", "--out", "o", "-p", "min_cell_size=5", "--run-id", "r1", "--lang", "ru", "--quiet"])
    assert code == 0
    assert seen == {"names": ["00"], "data": "d", "out": "o", "params": {"min_cell_size": "5"}, "run_id": "r1",
                    "lang": "ru", "progress": False, "jobs": 1, "force": False}


@pytest.mark.parametrize(("error", "code"), [(DataError("table 'x' is missing"), 2), (NotebookFailed("nb failed"), 1)])
def test_errors_become_exit_codes_and_one_line_messages(monkeypatch, capsys, error, code):
    def boom(*a, **k):
        raise error

    monkeypatch.setattr("cxlab.runner.run", boom)
    assert cli.main(["run", "--data", "d"]) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch, capsys):
    def boom(*a, **k):
        raise DataError("bad")

    monkeypatch.setattr("cxlab.runner.run", boom)
    assert cli.main(["--debug", "run", "--data", "d"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_exit_2():
    assert cli.main(["no-such-command"]) == 2
    assert cli.main(["run", "-p", "novalue"]) == 2


def test_python_dash_m_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "cxlab", "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "00-data-overview" in out.stdout and "min_cell_size: int = 10" in out.stdout
