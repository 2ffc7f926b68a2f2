"""The run's preflight is handed to its notebooks: the stored validation is used for the same source with the
same fingerprint, and the data is validated again otherwise (another source, changed data, no run)."""

from __future__ import annotations

import pandas as pd

from cxlab.data import connect, context
from cxlab.data.validate import Failure, TableChecked, ValidationReport

#: A report the data cannot produce: seeing it proves the stored report was used, not a fresh validation.
PLANTED = ValidationReport([Failure("clients", "client_id", "planted", "warning", 7, [{"client_id": 1}], "planted")],
                           [TableChecked("clients", 2, 1, 3)])


def _folder(path, ids):
    path.mkdir()
    pd.DataFrame({"client_id": ids}).to_parquet(path / "clients.parquet")
    return path


def test_the_stored_report_is_used_only_for_its_source_and_fingerprint(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "d", [1, 2])
    src = connect(str(folder))
    ctx = context.RunContext(str(folder), src.fingerprint(), {"currency": "EUR"}, PLANTED)
    ctx.write(tmp_path / "ctx.json")
    assert context.RunContext.read(tmp_path / "ctx.json") == ctx  # the file keeps every field
    assert context.validation(src) != PLANTED  # no run: validated here
    monkeypatch.setenv(context.ENV, str(tmp_path / "ctx.json"))
    assert context.validation(connect(str(folder))) == PLANTED
    other = connect(str(_folder(tmp_path / "e", [1, 2])))  # equal bytes, another source
    assert context.validation(other) != PLANTED
    pd.DataFrame({"client_id": [1, 2, 3]}).to_parquet(folder / "clients.parquet")  # the data changed
    assert context.validation(connect(str(folder))) != PLANTED
    monkeypatch.setenv(context.ENV, str(tmp_path / "missing.json"))
    assert context.current() is None
