"""A data folder's cxlab.yml: currency, what holdings.value is per product line, lines not offered (issue #19)."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlab.analyses.client_base import lookalikes
from cxlab.data.settings import DataSettings, read_settings, settings_text
from cxlab.errors import DataError
from cxlab.report import Report, values


def test_a_folder_without_settings_gets_the_defaults(tmp_path):
    s = read_settings(tmp_path)
    assert s == DataSettings() and not s.declared and s.value_of("x") == "undeclared" and s.offered(["a"]) == ["a"]
    assert read_settings("postgres://u@h/db") == DataSettings()


def test_settings_are_read_and_checked(tmp_path):
    (tmp_path / "cxlab.yml").write_text(settings_text("EUR", {"*": "revenue", "deposit": "balance"}, ["fees"], "bank"))
    s = read_settings(tmp_path)
    assert (s.currency, s.declared, s.value_of("deposit"), s.value_of("card")) == ("EUR", True, "balance", "revenue")
    assert s.offered(["card", "fees", "deposit"]) == ["card", "deposit"]
    (tmp_path / "cxlab.yml").write_text("currency: EUR\nvalue: {deposit: stock}\n")
    with pytest.raises(DataError, match=r"cxlab.yml: field 'value.deposit'"):
        read_settings(tmp_path)
    (tmp_path / "cxlab.yml").write_text("curency: EUR\n")
    with pytest.raises(DataError, match=r"field 'curency'.*\(fields: currency, value, not_offered\)"):
        read_settings(tmp_path)


def _said(rep, monkeypatch) -> list[str]:
    """The plain text of every paragraph the report shows (banners as ``[kind] text``), in order."""
    out: list[str] = []
    monkeypatch.setattr(rep, "_html", lambda fragment, text: out.append(text))
    monkeypatch.setattr(rep, "banner", lambda text, kind="info": out.append(f"[{kind}] {text}"))
    return out


def test_the_report_says_what_the_value_is_and_warns_about_balances(monkeypatch):
    rep = Report(currency="EUR")
    said = _said(rep, monkeypatch)
    s = DataSettings(currency="EUR", value={"*": "revenue", "deposit": "balance"}, not_offered=["fees"], declared=True)
    values.describe(rep, s, ["card", "deposit", "fees"])
    assert said[0] == ("What `holdings.value` is, as the data's `cxlab.yml` declares it: card — revenue; deposit — a balance; "
                       "fees — revenue. Amounts are in EUR.")
    assert said[1].startswith("[warn] For deposit, `holdings.value` is a **balance**")
    assert said[2] == "Not ranked as cross-sell opportunities, as `cxlab.yml` declares them not offered: fees."
    rep_u = Report(lang="ru")
    said = _said(rep_u, monkeypatch)
    values.describe(rep_u, DataSettings(), ["card"])
    assert said == [rep_u.t("values.undeclared")] and "не объявлено" in said[0]
    assert rep.fmt(12.5, "money") == "12.50\u00a0EUR" and rep_u.fmt(12.5, "money") == "12,50"


def test_lines_not_offered_are_not_ranked_but_still_shape_profiles():
    cells = pd.DataFrame({"a": [True, True, False, False], "b": [True, False, True, False],
                          "fees": [True, False, False, True], "n": [30, 30, 30, 30]})
    every = lookalikes(cells, ["a", "b", "fees"], min_cell=1)
    offered = lookalikes(cells, ["a", "b", "fees"], min_cell=1, targets=["a", "b"])
    assert list(offered.product_line) == ["a", "b"]
    pd.testing.assert_frame_equal(offered, every[every.product_line != "fees"].reset_index(drop=True))
