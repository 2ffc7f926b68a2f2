"""07's scored audience as a launch target, end to end on the small demo: 07 scores the base → `cxlab
audience --scored` takes its selected clients through the waterfall → split → files whose sidecar names
the scored file, its model and rule; a missing file, missing columns or a file scored on other data are
refused with exit 2 and nothing written; a policy card takes the same file as ``scored:``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from cxlab.analyses import launch as L
from cxlab.analyses.uplift import analyse
from cxlab.catalog import load_catalog
from cxlab.cli import main
from cxlab.compute.audience import SCORED_KEY
from cxlab.data.connect import connect

ROOT = Path(__file__).resolve().parents[2]
SNAP = "2025-10-01"


@pytest.fixture(scope="module")
def scored(small_demo, tmp_path_factory) -> Path:
    """07 on the small demo, the base scored at the launch's snapshot."""
    out = tmp_path_factory.mktemp("scored") / "cc_uplift.parquet"
    analyse(connect(small_demo), load_catalog(ROOT / "catalog"), "cc_spring_2025", score_out=str(out),
            score_date=SNAP, draws=50)
    return out


@pytest.fixture()
def cat(tmp_path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", folder)
    return folder


def _args(demo, cat, out, name, *extra):
    return ["audience", name, "--data", str(demo), "--catalog", str(cat), "--out", str(out), "--snapshot", SNAP,
            "--owner", "Anna", "--approved-by", "Head of CRM", "--salt", f"{name}-1", *extra]


def test_07s_scored_audience_is_launched_split_and_written(small_demo, scored, cat, tmp_path, capsys):
    out = tmp_path / "aud"
    assert main(_args(small_demo, cat, out, "cc_uplift", "--scored", str(scored), "--arms", "control=0.3,email=0.7")) == 0
    assert "warning" not in capsys.readouterr().err  # scored at the launch's snapshot, on this data
    base = pd.read_parquet(scored)
    rows = pd.read_parquet(out / "cc_uplift.parquet")
    side = json.loads((out / "cc_uplift.json").read_text())
    selected = set(base.client_id[base.selected])
    # only selected clients, each once; the waterfall starts from all of them
    assert set(rows.client_id) <= selected and rows.client_id.is_unique
    assert side["waterfall"]["matched"] == len(selected) > len(rows) > 0
    # the waterfall removed the global control, the unreachable and the card holders, as for a segment
    clients = pd.read_parquet(small_demo / "clients.parquet")
    assert not set(clients.client_id[clients.global_control]) & set(rows.client_id)
    assert side["product_line"] == "credit_card" and side["waterfall"]["not_holding"] < side["waterfall"]["contact_cap"]
    assert len(rows) == side["waterfall"]["not_holding"] == side["people"]["control"] + side["people"]["email"]
    # reason: the model and the rule; the sidecar: the scored file's fingerprint, its campaign, the data's
    assert set(rows.segment) == {"cc_uplift"} and set(rows.arm) == {"control", "email"}
    reason = rows.reason.iloc[0]
    assert reason.startswith("scored cc_uplift: top 40% by predicted uplift, negative group excluded")
    assert "t-learner" in reason and "campaign 'cc_spring_2025'" in reason
    s = side["scored"]
    assert s["sha256"] == hashlib.sha256(scored.read_bytes()).hexdigest() and s["campaign"] == "cc_spring_2025"
    assert s["rule"] == "top 40% by predicted uplift, negative group excluded" and s["learner"] == "t"
    assert s["data_fingerprint"] == side["data"]["fingerprint"] == connect(small_demo).fingerprint()
    assert side["target"] == "scored:cc_uplift" and (cat / "campaigns" / "cc_uplift.yml").exists()
    assert tuple(rows.columns) == L.COLUMNS


def _rewrite(scored: Path, to: Path, meta: dict | None, drop: str = "") -> Path:
    table = pq.read_table(scored)
    if drop:
        table = table.drop_columns([drop])
    table = table.replace_schema_metadata(None if meta is None else {SCORED_KEY: json.dumps(meta).encode()})
    pq.write_table(table, to)
    return to


def test_unusable_scored_files_are_refused_and_nothing_written(small_demo, scored, cat, tmp_path, capsys):
    out = tmp_path / "aud"
    meta = json.loads(pq.read_schema(scored).metadata[SCORED_KEY])
    cases = [(tmp_path / "nowhere.parquet", "no such file"),
             (_rewrite(scored, tmp_path / "cols.parquet", meta, drop="selected"), "column(s) selected missing"),
             (_rewrite(scored, tmp_path / "bare.parquet", None), "no record of the model that scored it"),
             (_rewrite(scored, tmp_path / "other.parquet", meta | {"data_fingerprint": "0123456789abcdef"}),
              "scored on data with fingerprint 0123456789abcdef")]
    for path, message in cases:
        assert main(_args(small_demo, cat, out, "bad", "--scored", str(path))) == 2
        assert message in capsys.readouterr().err, message
    assert not out.exists() or list(out.iterdir()) == [] and not (cat / "campaigns" / "bad.yml").exists()
    # scored at another date: launched, with a warning naming both dates
    other = _rewrite(scored, tmp_path / "late.parquet", meta | {"snapshot": "2025-11-01"})
    assert main(_args(small_demo, cat, out, "late", "--scored", str(other))) == 0
    assert "scored at 2025-11-01, the launch is evaluated at 2025-10-01" in capsys.readouterr().err


def test_a_policy_card_takes_the_scored_file(small_demo, scored, cat):
    text = (f"name: p\nsnapshot: {SNAP}\ncaps_per_channel: {{email: 1}}\ncampaigns:\n"
            f"  - {{name: by_model, scored: '{scored}', priority: 1}}\n"
            "  - {name: travel, segment: travellers, priority: 2}\n")
    (cat / "policies" / "p.yml").write_text(text)
    arb = L.arbitrate(connect(small_demo), load_catalog(cat), L.load_policy(cat / "policies" / "p.yml"))
    table = arb.table.set_index("campaign")
    base = pd.read_parquet(scored)
    assert 0 < table.before["by_model"] <= base.selected.sum()
    assert table.after["by_model"] == table.before["by_model"]  # served first


def test_06_takes_the_scored_file_in_russian(small_demo, scored, tmp_path):
    from cxlab.runner import run

    result = run(["06"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"snapshot": SNAP, "scored": str(scored), "hypothesis": "", "lang": "ru"})
    assert result.ok, result.notebooks[0].error
    res = json.loads((tmp_path / "r" / "06-campaign-launch.results.json").read_text())
    assert res["audience"]["target"] == "scored:cc_uplift" and res["audience"]["size"] > 0
    assert res["plan"]["metrics"][0] == "cc_conversion"  # the outcome the model learned
    html = (tmp_path / "r" / "06-campaign-launch.html").read_text()
    assert "верхние 40% по предсказанному uplift" in html and "uplift-модель" in html
