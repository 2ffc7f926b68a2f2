"""Real-data tests skip only when the datasets folder is absent: a missing file or an adapter error fails."""

from __future__ import annotations

import pytest

from tests.realdata import find_dataset


def test_no_datasets_folder_is_a_skip(monkeypatch, tmp_path):
    monkeypatch.setenv("CXLAB_DATASETS", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.skip.Exception, match="datasets not found"):
        find_dataset("hillstrom", "hillstrom.csv")


def test_a_file_missing_from_the_datasets_folder_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("CXLAB_DATASETS", str(tmp_path))
    (tmp_path / "hillstrom").mkdir()
    with pytest.raises(pytest.fail.Exception, match="missing from the datasets folder"):
        find_dataset("hillstrom", "hillstrom.csv")
    (tmp_path / "hillstrom" / "hillstrom.csv").write_text("x\n")
    assert find_dataset("hillstrom", "hillstrom.csv") == tmp_path / "hillstrom" / "hillstrom.csv"


def test_an_adapter_error_on_present_data_is_not_skipped(monkeypatch, tmp_path):
    """The hillstrom fixture imports with no try/except: a broken file raises, so the test errors, not skips."""
    from cxlab.data.adapters import import_dataset
    from cxlab.errors import DataError

    (tmp_path / "hillstrom").mkdir()
    broken = tmp_path / "hillstrom" / "hillstrom.csv"
    broken.write_text("not,the,columns\n1,2,3\n")
    monkeypatch.setenv("CXLAB_DATASETS", str(tmp_path))
    with pytest.raises(DataError):
        import_dataset("hillstrom", find_dataset("hillstrom", "hillstrom.csv"), tmp_path / "out")
