"""The notebook's voice: formatting, small-cell suppression, results payload, and the message catalogue."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxlab.report import Report, format_value, jsonable
from cxlab.report.i18n import LANGS, catalogue, t


@pytest.mark.parametrize(
    ("value", "kind", "lang", "text"),
    [(1234567.891, "number", "en", "1,234,567.891"), (1234567.891, "number", "ru", "1\u00a0234\u00a0567,891"),
     (0.1234, "pct", "en", "12.3%"), (0.1234, "pct", "ru", "12,3%"), (-0.0123, "pp", "en", "-1.23 pp"),
     (0.0123, "pp", "ru", "+1,23 п.п."), (12345, "int", "en", "12,345"), (None, "number", "en", "—"),
     (pd.NA, "int", "en", "—"), (math.inf, "number", "en", "—"), (0.000123, "number", "en", "0.000123")],
)
def test_numbers_are_formatted_for_the_reader(value, kind, lang, text):
    assert format_value(value, kind, lang) == text


def test_rows_with_few_people_are_hidden_except_their_label():
    rep = Report(min_cell_size=10)
    frame = pd.DataFrame({"lines": [0, 1, 2, 3], "clients": [100, 2000, 5, 0], "share": [0.05, 0.9, 0.002, 0.0]})
    shown = rep.suppress(frame, "clients")
    assert shown["lines"].tolist() == [0, 1, 2, 3]
    # zero people reveal nobody; 100 is hidden beside the 5 so that the total does not give the 5 away
    assert shown["clients"].isna().tolist() == [True, False, True, False]
    assert shown["share"].isna().tolist() == [True, False, True, False]
    assert rep.suppressed == 2
    assert jsonable(shown)[2] == {"lines": 2, "clients": None, "share": None}


def test_matrix_cells_are_hidden_one_by_one():
    from cxlab.report.privacy import Cells

    rep = Report(min_cell_size=5)
    matrix = pd.DataFrame({"segment": ["a", "b"], "a": [50, 3], "b": [3, 40]})
    shown = rep.suppress(matrix, cells=Cells(people=("a", "b"), margins=False))  # an overlap: no totals
    assert shown["a"].isna().tolist() == [False, True] and shown["b"].isna().tolist() == [True, False]
    assert rep.suppressed == 2


def test_results_are_plain_json():
    assert jsonable({"a": np.int64(3), "b": np.float64("nan"), "c": pd.Timestamp("2025-01-01"), "d": (1, 2.5)}) == {
        "a": 3, "b": None, "c": "2025-01-01T00:00:00", "d": [1, 2.5]}


def test_every_message_exists_in_every_language():
    keys = {lang: set(catalogue(lang)) for lang in LANGS}
    assert keys["en"] == keys["ru"], {"only en": keys["en"] - keys["ru"], "only ru": keys["ru"] - keys["en"]}


def test_placeholders_agree_across_languages():
    import string

    for key, text in catalogue("en").items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        ru = {f for _, f, _, _ in string.Formatter().parse(catalogue("ru")[key]) if f}
        assert fields == ru, key


def test_unknown_key_and_language_are_clear_errors():
    with pytest.raises(KeyError, match="'nope.nothing' is missing from the 'en' catalogue"):
        t("nope.nothing")
    with pytest.raises(ValueError, match="lang must be one of en, ru"):
        Report(lang="de")


def _rendered(rep: Report, frame: pd.DataFrame, **kwargs) -> str:
    """The HTML that ``rep.table`` displays."""
    from unittest import mock

    with mock.patch("cxlab.report.context._display") as shown:
        rep.table(frame, **kwargs)
    return shown.call_args_list[0].args[0].data


def test_people_columns_are_hidden_in_every_table_and_marked_for_the_scan():
    from cxlab.report.scan import scan_html

    rep = Report(min_cell_size=10)
    frame = pd.DataFrame({"segment": ["a", "b", "c"], "clients": [500, 3, 0], "contracts": [7, 2, 1]})
    html = _rendered(rep, frame)  # no people= given: "clients" is a known people column all the same
    assert '<td class="cx-n cx-hidden">&lt;10</td>' in html
    assert html.count('class="cx-n"') == 1  # 0 stays visible; 500 is hidden with the 3 (the total would tell)
    assert "<td>1</td>" in html  # contracts are not people: not marked, hidden only with their row's count
    scan = scan_html(html, 10)
    assert scan.ok and scan.hidden == 2 and scan.checked == 1
    assert rep.suppressed == 2


def test_rows_hidden_by_their_people_column_show_dashes_for_their_measures():
    rep = Report(min_cell_size=10)
    html = _rendered(rep, pd.DataFrame({"arm": ["x", "y"], "people": [40, 4], "rate": [0.1, 0.5]}), people="people")
    assert '<td class="cx-n cx-hidden">&lt;10</td><td class="cx-hidden">—</td>' in html
    from cxlab.report.scan import scan_html

    assert scan_html(html, 10).ok


def test_the_scan_finds_small_counts_and_unmarked_people_columns():
    from cxlab.report.scan import scan_html

    marked = '<table class="cx-table"><thead><tr><th>segment</th><th>clients</th></tr></thead>' \
             '<tbody><tr><td class="cx-text">a</td><td class="cx-n">7</td></tr></tbody></table>'
    assert scan_html(marked, 10).small == ["table 1, column 'clients': 7"]
    assert scan_html(marked, 5).ok
    unmarked = marked.replace(' class="cx-n"', "").replace(">7<", ">1,234<")
    assert scan_html(unmarked, 10).unmarked == ["table 1, column 'clients': 1,234"]
    russian = unmarked.replace("<th>clients</th>", f"<th>{catalogue('ru')['columns.clients']}</th>")
    assert len(scan_html(russian, 10).unmarked) == 1


def test_templates_carry_the_format_of_each_figure(monkeypatch):
    from cxlab.report import i18n

    monkeypatch.setitem(i18n.catalogue("en"), "x.t", "{u:pp} of {n:int} at {s:pct.0}; p = {p:number.3}, {name}, {r:.2f}")
    monkeypatch.setitem(i18n.catalogue("ru"), "x.t", "{u:pp} из {n:int}")
    assert i18n.t("x.t", "en", u=0.0123, n=12345, s=0.256, p=0.04567, name="email", r=1.005) == \
        "+1.23 pp of 12,345 at 26%; p = 0.0457, email, 1.00"
    assert i18n.t("x.t", "ru", u=-0.0123, n=12345) == "-1,23 п.п. из 12\u00a0345"
    assert i18n.t("x.t", "ru", u="already text", n=float("nan")) == "already text из —"


def test_a_sentence_formats_raw_values_by_its_template_and_escapes_them(monkeypatch):
    from cxlab.report import i18n
    from cxlab.report.context import Report

    monkeypatch.setitem(i18n.catalogue("en"), "x.s", "**{u:pp}** for {who} of {n:int}")
    shown: list[tuple[str, str]] = []
    rep = Report()
    monkeypatch.setattr(rep, "_html", lambda fragment, text: shown.append((fragment, text)))
    rep.say("x.s", u=0.0123, who="<b>x</b>", n=12345)
    fragment, text = shown[0]
    assert text == "**+1.23 pp** for <b>x</b> of 12,345"
    assert "<strong>+1.23 pp</strong>" in fragment and "&lt;b&gt;x&lt;/b&gt;" in fragment and "12,345" in fragment


def test_a_template_formats_raw_facts_and_small_counts_stay_hidden():
    rep = Report(lang="ru", min_cell_size=10)
    assert rep.people(3) == "<10" and rep.people(0) == 0 and rep.people(12.4) == 12.4
    facts = {"fired": rep.people(1234.6), "stock": rep.people(4), "first": "2025-01-01", "new": rep.people(None)}
    # the message's {fired:int} formats the raw mean; a hidden count passes as its "<k" text; None is a dash
    text = rep.t("hypothesis.flow_text", **facts)
    assert "1\u00a0235" in text and "<10" in text and "—" in text
    assert rep.t("triggers.summary_text", fired_rate=0.12345, other_rate=None, uplift=0.01, low=-0.002, high=0.02,
                 lift=0.5, lift_low=0.1, lift_high=1.5).startswith("Подходящие клиенты конвертировались в 12,35%")
