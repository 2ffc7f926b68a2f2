"""cxlab init lays out a project that works outside the repository; a project finds its own notebooks,
else the packaged ones; the repository's own layout keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab import cli
from cxlab.errors import CxlabError
from cxlab.paths import PROJECT_FILE, bundled, notebooks_dir, project_root, resolve
from cxlab.project import init
from cxlab.runner.params import list_notebooks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outside(tmp_path, monkeypatch) -> Path:
    """A working folder outside the repository, with no CXLAB_HOME."""
    monkeypatch.delenv("CXLAB_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_lays_out_a_project(outside, capsys):
    assert cli.main(["init", "crm-team"]) == 0
    root = outside / "crm-team"
    assert {p.name for p in root.iterdir()} == {PROJECT_FILE, "README.md", ".gitignore", "catalog", "data", "reports"}
    assert (root / "data" / "mapping.example.yml").is_file()
    assert sorted(p.relative_to(root / "catalog") for p in (root / "catalog").rglob("*.yml")) == \
        sorted(p.relative_to(ROOT / "catalog") for p in (ROOT / "catalog").rglob("*.yml"))
    assert "cxlab run" in (root / "README.md").read_text() and "crm-team" in (root / "README.md").read_text()
    assert "cd " in capsys.readouterr().out


def test_a_project_is_found_from_below_and_uses_the_packaged_notebooks(outside, monkeypatch):
    root = init(outside / "p").root
    (root / "data" / "deep").mkdir()
    monkeypatch.chdir(root / "data" / "deep")
    assert project_root() == root
    assert resolve("catalog") == root / "catalog"
    assert notebooks_dir() == bundled("notebooks")
    assert [nb.name for nb in list_notebooks()][:1] == ["00-data-overview"]


def test_a_project_with_its_own_notebooks_runs_them(outside, monkeypatch):
    root = init(outside / "p", notebooks=True).root
    monkeypatch.chdir(root)
    assert notebooks_dir() == root / "notebooks"
    assert sorted(p.name for p in (root / "notebooks").iterdir()) == \
        sorted(p.name for p in bundled("notebooks").glob("[0-9][0-9]-*.ipynb"))
    for nb in (root / "notebooks").iterdir():  # an emptied notebooks/ falls back to the packaged ones
        nb.unlink()
    assert notebooks_dir() == bundled("notebooks")


def test_init_never_overwrites(outside, capsys):
    init(outside / "p")
    (outside / "p" / "README.md").write_text("ours")
    assert cli.main(["init", "p"]) == 2
    assert "already has cxlab-project.yml, README.md" in capsys.readouterr().err
    assert (outside / "p" / "README.md").read_text() == "ours"
    (outside / "file").write_text("x")
    with pytest.raises(CxlabError, match="is not a folder"):
        init(outside / "file")


def test_the_example_mapping_validates_on_the_demo(outside, small_demo, monkeypatch):
    root = init(outside / "p").root
    (root / "data" / "demo").symlink_to(small_demo)
    monkeypatch.chdir(root)
    assert cli.main(["validate", "data/mapping.example.yml"]) == 0


def test_the_repository_layout_keeps_working(monkeypatch):
    monkeypatch.delenv("CXLAB_HOME", raising=False)
    monkeypatch.chdir(ROOT / "cxlab")
    assert project_root() == ROOT
    assert notebooks_dir() == ROOT / "notebooks"
    assert bundled("catalog") == ROOT / "catalog"  # an editable install reads the checkout's folders


def test_no_project_says_how_to_make_one(outside):
    with pytest.raises(CxlabError, match=r"cxlab init DIR"):
        project_root()
