"""The launch on real data: Online Retail's segment cards and UCI Bank Marketing's trigger cards
(no consents or communications there: those filters are skipped and said so)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cxlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("name, file, target, snapshot", [
    ("online-retail", "online_retail/onlineretail.csv.gz", ["--segment", "retail_christmas_shoppers"], "2011-11-01"),
    ("bank", "bank_marketing/bank-full.csv", ["--trigger", "bank_prior_success", "--hypothesis", "bank_prior_success",
                                              "--channel", "call"], "2010-06-01"),
])
def test_audience_on_real_data(name, file, target, snapshot, dataset, tmp_path, capsys):
    from cxlab.data.adapters import import_dataset

    folder, _, base = file.partition("/")
    import_dataset(name, dataset(folder, base), tmp_path / "data")
    cat = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cat)
    out = tmp_path / "aud"
    assert main(["audience", "real", "--data", str(tmp_path / "data"), "--catalog", str(cat), "--out", str(out),
                 "--snapshot", snapshot, "--salt", "real-1", "--arms", "control=0.5,treatment=0.5", "--owner", "Anna",
                 "--approved-by", "Head of CRM", *target]) == 0, capsys.readouterr().err
    rows = pd.read_parquet(out / "real.parquet")
    side = json.loads((out / "real.json").read_text())
    assert len(rows) > 20 and len(rows) == side["people"]["control"] + side["people"]["treatment"]
    assert "consent" in side["filters_skipped"]  # neither has consents (the bank's calls are communications)
    assert (cat / "campaigns" / "real.yml").exists()
    # and notebook 06 on the same data (a dry run: nothing written)
    from cxlab.runner import run

    params = {"snapshot": snapshot, "catalog": str(cat), "hypothesis": "", "trigger": ""}
    params |= {"segment": target[1]} if target[0] == "--segment" else {"trigger": target[1], "hypothesis": target[3], "channel": "call"}
    done = run(["06"], data=tmp_path / "data", out=tmp_path / "reports", run_id="r", progress=False, params=params)
    assert done.ok, done.notebooks[0].error
