"""A first run on any data: each report picks the card that applies to the data (and says which and how to
choose another), a report that cannot apply is skipped with its reason, card names are checked before
anything is written, and `cxlab run --data X` with no parameters exits 0 on the demo and the four real
datasets (issue #19)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cxlab.catalog import load_catalog
from cxlab.catalog.choose import DataFacts, choose, gaps
from cxlab.cli import main
from cxlab.data.connect import connect
from cxlab.errors import NotApplicable, ParameterError
from cxlab.runner import run

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "catalog")


def _facts(lines=(), events=(), campaigns=(), columns=("client_id",), tables=("clients", "products", "holdings", "events")):
    return DataFacts(frozenset(lines), frozenset(events), frozenset(campaigns), frozenset(columns), frozenset(tables))


def test_a_trigger_applies_only_when_its_line_events_and_columns_are_in_the_data():
    t = CATALOG.triggers["salary_no_card"]
    demo_like = _facts(lines={"credit_card", "current_account"}, events={"salary_deposit"})
    assert gaps(t, CATALOG, demo_like) == []
    assert gaps(t, CATALOG, _facts(lines={"music"}, events={"purchase"})) == [
        "no product line 'credit_card'", "no 'salary_deposit' events"]
    bank = CATALOG.triggers["bank_prior_success"]
    assert gaps(bank, CATALOG, _facts(lines={"deposit"}, events={"prev_campaign_success"})) == []


def test_the_choice_follows_the_stated_rule_and_names_the_others():
    demo_like = _facts(lines={"credit_card", "insurance", "deposit"},
                       events={"salary_deposit", "travel_booking", "large_inflow"}, campaigns={"cc_spring_2025"},
                       tables=("clients", "products", "holdings", "events", "communications"))
    h = choose(demo_like, CATALOG, "hypotheses")
    assert (h.name, h.how) == ("cc_salary", "first") and "inflow_deposit" in h.others
    # triggers follow the first applicable hypothesis, not the alphabet (inflow_deposit < salary_no_card)
    assert choose(demo_like, CATALOG, "triggers").name == "salary_no_card"
    c = choose(demo_like, CATALOG, "campaigns")
    assert (c.name, c.how, c.others) == ("cc_spring_2025", "only", ())
    assert choose(demo_like, CATALOG, "hypotheses", "travel_insurance").how == "given"


def test_a_card_that_does_not_exist_or_apply_is_an_error_naming_what_to_pass():
    bank = _facts(lines={"deposit", "housing_loan"}, events={"prev_campaign_success", "prev_contact"})
    with pytest.raises(ParameterError, match=r"hypothesis=cc_salry: no hypothesis card.*Did you mean cc_salary\?.*Known: "):
        choose(bank, CATALOG, "hypotheses", "cc_salry")
    with pytest.raises(ParameterError, match=r"trigger=salary_no_card: the trigger card does not apply to this data "
                                             r"\(no product line 'credit_card'; no 'salary_deposit' events\)\. Pass -p trigger=NAME "
                                             r"with one that does \(cards that apply: bank_prior_success"):
        choose(bank, CATALOG, "triggers", "salary_no_card")
    with pytest.raises(NotApplicable, match="no communications table"):
        choose(bank, CATALOG, "campaigns")
    with pytest.raises(NotApplicable, match=r"no trigger card in catalog/triggers/ applies to this data \(product lines in "
                                            r"the data: music; event types: purchase\)"):
        choose(_facts(lines={"music"}, events={"purchase"}), CATALOG, "triggers")


def test_facts_are_read_from_the_data(small_demo):
    facts = DataFacts.of(connect(small_demo))
    assert {"credit_card", "deposit"} <= facts.product_lines and "salary_deposit" in facts.event_types
    assert "cc_spring_2025" in facts.campaign_ids and "communications" in facts.tables


def test_card_names_are_checked_before_anything_is_written(small_demo, tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["run", "04", "--data", str(small_demo), "--out", str(out), "-p", "campaign=nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no campaign" in err and "'nope'" in err and "cc_spring_2025" in err
    assert main(["run", "01", "--data", str(small_demo), "--out", str(out), "-p", "hypothesis=bank_prior_success",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "hypothesis=bank_prior_success: the hypothesis card does not apply to this data (no 'prev_campaign_success' " \
           "events). Pass -p hypothesis=NAME with one that does (cards that apply: cc_salary, inflow_deposit" in err
    assert not out.exists() or not any(out.iterdir())
    assert main(["run", "03", "--data", str(small_demo), "--out", str(out), "-p", "segments=savers,nope", "--quiet"]) == 2
    assert "no segment card 'nope'" in capsys.readouterr().err and not any(out.glob("*/manifest.json"))


def test_a_report_that_cannot_apply_is_skipped_with_its_reason(small_demo, tmp_path):
    data = tmp_path / "nocomms"
    shutil.copytree(small_demo, data)
    (data / "communications.parquet").unlink()
    result = run(["04"], data=data, out=tmp_path / "r", run_id="s", progress=False)
    assert result.ok and [nb.status for nb in result.notebooks] == ["skipped"]
    assert result.notebooks[0].error == "the data has no communications table, so there is no campaign to evaluate"
    manifest = json.loads((tmp_path / "r" / "s" / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["notebooks"][0]["status"] == "skipped"
    assert not list((tmp_path / "r" / "s").glob("04-*"))  # no half-written report
    index = (tmp_path / "r" / "index.html").read_text()
    assert "04-campaign-retro (skipped)" in index and "no communications table" in index


def test_segment_sizing_with_no_card_for_the_data_is_skipped_or_names_the_parameter():
    from cxlab.compute import segments as sg

    cards = list(CATALOG.segments.values())
    with pytest.raises(NotApplicable, match=r"no segment card in catalog/segments/ is for a product line of this data \(merchandise\)"):
        sg.applicable_or_skip(cards, ["merchandise"])
    with pytest.raises(ParameterError, match=r"segments=savers: no card is for a product line of this data"):
        sg.applicable_or_skip([CATALOG.segments["savers"]], ["merchandise"], named=True)
    kept, dropped = sg.applicable_or_skip(cards, ["music"])
    assert {s.name for s in kept} == {"cdnow_lapsed", "cdnow_repeat_buyers"} and len(dropped) == len(cards) - 2


# --- end to end: `cxlab run --data X` with no parameters ------------------------------------------------------------

#: dataset → (adapter, file under ../shared/datasets, the status each notebook must end with)
REAL = {
    "hillstrom": ("hillstrom", "hillstrom/hillstrom.csv", "ok skipped skipped skipped ok ok"),
    "bank": ("bank", "bank_marketing/bank-full.csv", "ok ok ok skipped ok skipped"),  # 04 runs on the matched card bank_telemarketing
    "retail": ("online-retail", "online_retail/onlineretail.csv.gz", "ok skipped skipped ok skipped ok"),
    "cdnow": ("cdnow", "cdnow/CDNOW_master.txt", "ok skipped skipped ok skipped ok"),
}


def _real_file(relative: str) -> Path:
    """The dataset file; a skip only when the datasets folder is absent — a missing file beside it fails."""
    from cxlab.data.datasets import datasets_dir

    folder = datasets_dir()
    if folder is None:
        pytest.skip("../shared/datasets not found: set CXLAB_DATASETS or place the datasets beside the repo")
    path = folder / relative
    assert path.exists(), f"{path} is missing from the datasets folder"
    return path


#: The notebooks whose status per dataset the table below pins (notebooks added later must not fail either).
PINNED = ("00-data-overview", "01-hypothesis", "02-trigger-backtest", "03-segment-sizing", "04-campaign-retro",
          "05-client-base")


def _first_run(data: Path, out: Path) -> tuple[list[str], dict]:
    code = main(["run", "--data", str(data), "--out", str(out), "--run-id", "first", "--quiet"])
    manifest = json.loads((out / "first" / "manifest.json").read_text())
    assert code == 0, [(nb["name"], nb["error"]) for nb in manifest["notebooks"] if nb["status"] == "failed"]
    assert all(nb["status"] in ("ok", "skipped") for nb in manifest["notebooks"])
    status = {nb["name"]: nb["status"] for nb in manifest["notebooks"]}
    return [status[name] for name in PINNED], manifest


@pytest.mark.slow
def test_first_run_on_the_demo_exits_0_and_says_which_cards_it_chose(small_demo, tmp_path):
    statuses, _ = _first_run(small_demo, tmp_path)
    assert statuses == ["ok"] * 6
    html = (tmp_path / "first" / "04-campaign-retro.html").read_text()
    assert "This report uses the campaign card <strong>cc_spring_2025</strong>, the only one" in html
    html = (tmp_path / "first" / "01-hypothesis.html").read_text()
    assert "the rule is the first by id" in html and "-p hypothesis=NAME" in html


#: the two whose every notebook runs are the heavier ones (~30 s alone, ~60 s on a busy machine): make test-slow
HEAVY = set(REAL)  # every real dataset runs all ten notebooks: make test-slow (CI runs it)


@pytest.mark.realdata
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in REAL])
def test_first_run_on_real_data_exits_0(name, tmp_path):
    from cxlab.data.adapters import import_dataset

    adapter, relative, expected = REAL[name]
    import_dataset(adapter, _real_file(relative), tmp_path / name)
    statuses, manifest = _first_run(tmp_path / name, tmp_path / "reports")  # its time is a benchmark's job, not a test's
    assert statuses == expected.split(), manifest["notebooks"]
    for nb in manifest["notebooks"]:
        if nb["status"] == "skipped":  # a one-line reason, not a traceback
            assert nb["error"] and "\n" not in nb["error"] and "Error" not in nb["error"]


def test_no_snapshot_says_why_and_what_to_pass(small_demo):
    from cxlab.compute.triggers import monthly_snapshots
    from cxlab.errors import DataError

    src = connect(small_demo)
    with pytest.raises(DataError, match=r"no monthly snapshot between 2024-04-01 and 2024-01-15: the events run from "
                                        r"2024-01-0\d to 2025-12-\d\d; .*period_start defaults to three months after the "
                                        r"first event \(2024-04-01\)\. Pass -p period_start=YYYY-MM-DD"):
        monthly_snapshots(src, "", "2024-01-15")
    with pytest.raises(DataError, match=r"no monthly snapshot between 2030-01-01 and .*the latest possible is 2025-1"):
        monthly_snapshots(src, "2030-01-01", "")
