"""Small-cell suppression by construction (cxlab.report.privacy): primary, secondary and derived cells,
results.json, the scan of text, and the differencing attack — on small frames with known answers."""

from __future__ import annotations

from unittest import mock

import pandas as pd

from cxlab.report import Report
from cxlab.report.privacy import Cells, mask, recoverable, suppress_records
from cxlab.report.scan import scan_html


def _html(rep: Report, frame: pd.DataFrame, **kwargs) -> str:
    with mock.patch("cxlab.report.context._display") as shown:
        rep.table(frame, **kwargs)
    return shown.call_args_list[0].args[0].data


def test_a_lone_hidden_cell_is_complemented_so_the_total_does_not_give_it_away():
    # 00's lines per client: 1,500 clients in all (the sizes table says so); 5 hold six lines
    frame = pd.DataFrame({"lines": [1, 2, 3, 4, 5, 6], "clients": [360, 527, 402, 171, 35, 5],
                          "share": [0.24, 0.351, 0.268, 0.114, 0.023, 0.003]})
    cells = Cells.of(frame.columns)
    hide = mask(frame, cells, 10)
    # before: only the 5 was hidden and 1,500 − (360 + 527 + 402 + 171 + 35) = 5 gave it back
    assert recoverable(frame, hide.assign(clients=frame.clients < 10), cells) == ["5/clients"]
    assert hide.clients.tolist() == [False, False, False, False, True, True]  # the 35 hides with it
    assert hide.share.tolist() == hide.clients.tolist()  # and so do their shares (share × total = count)
    assert hide.lines.sum() == 0  # the label says nothing about people
    assert recoverable(frame, hide, cells) == []


def test_row_relations_and_the_row_before_are_protected():
    # 05's top tier: this month's tier = stayed + entered; last month's = stayed + left
    top = pd.DataFrame({"month": ["m1", "m2", "m3"], "top": [276, 279, 282], "stayed": [None, 274, 279],
                        "entered": [None, 5, 3], "left": [None, 2, 0]})
    cells = Cells(people=("top", "stayed", "entered", "left"),
                  totals=(("top", "stayed", "entered"), ("top[-1]", "stayed", "left")), margins=("entered", "left"))
    naive = top[["top", "stayed", "entered", "left"]].apply(lambda c: c.between(1, 9)).reindex(columns=top.columns, fill_value=False)
    assert "1/entered" in recoverable(top, naive, cells)  # 279 − 274 = 5: what the old report allowed
    hide = mask(top, cells, 10)
    assert hide.loc[1, "entered"] and hide.loc[1, "left"] and hide.loc[2, "entered"]
    assert recoverable(top, hide, cells) == []


def test_successes_and_their_complement_hide_the_rate_built_on_them():
    # 03's base rates: "x_sum" 2 of 295 people was shown, and so was the 0.7% that is 2 / 295
    rates = pd.DataFrame({"segment": ["a", "b", "c", "d"], "n": [295, 144, 206, 300], "x_sum": [2, 60, 0, 296],
                          "rate": [0.0068, 0.42, 0.0, 0.987]})
    hide = mask(rates, Cells(people=("n",), successes={"x_sum": "n"}, margins=False), 10)
    assert hide.x_sum.tolist() == [True, False, False, True]  # 2 converted; 4 did not
    assert hide.rate.tolist() == [True, False, False, True]
    assert not hide.n.any()


def test_derived_columns_follow_only_the_counts_they_are_declared_from():
    frame = pd.DataFrame({"arm": ["a", "b"], "people": [400, 500], "x_t": [3, 40], "rate": [0.0075, 0.08],
                          "contacts": [410, 520]})
    cells = Cells(people=("people",), successes={"x_t": "people"}, derived={"contacts": ("people",)}, margins=False)
    hide = mask(frame, cells, 10)
    assert hide.rate.tolist() == [True, False] and not hide.contacts.any()


def test_tables_format_after_suppression_and_hidden_counts_read_below_k():
    rep = Report(min_cell_size=10)
    frame = pd.DataFrame({"arm": ["control", "email", "offer"], "people": [123, 253, 5], "rows": [123, 310, 6]})
    html = _html(rep, frame)
    assert ">5<" not in html and ">6<" not in html  # the 5 people and their 6 rows
    assert html.count("cx-hidden") == 4  # the 5 with the 123 that would give it away, and their rows
    assert scan_html(html, 10).ok
    assert rep.suppressed == 2


def test_the_scan_reads_counts_inside_text_and_in_prose():
    table = ('<table class="cx-table"><thead><tr><th>Metric</th><th>n (T / C)</th></tr></thead>'
             '<tbody><tr><td class="cx-text">conversion</td><td class="cx-text">4 / 30</td></tr></tbody></table>')
    assert scan_html(table, 10).small == ["table 1, column 'n (T / C)': 4 / 30"]
    assert scan_html(table.replace("4 / 30", "&lt;10 / 30"), 10).ok  # a hidden count reads "<10"
    prose = "<p>Before assignment the rules match 1,200 memberships; <strong>2</strong> clients belong to none.</p>"
    assert scan_html(prose, 10).prose and not scan_html(prose, 10).ok
    assert scan_html("<p>12 clients, 3.5% of them, 2,000 people</p>", 10).ok
    assert scan_html('<div class="cx-banner">2 человек</div>', 10).prose


def test_results_json_hides_small_counts_and_keeps_the_rest_byte_for_byte():
    rep = Report(min_cell_size=10)
    frame = pd.DataFrame({"segment": ["a", "b", "c"], "n": [295, 144, 20], "x_sum": [2, 60, 0],
                          "rate": [0.00677966101695, 0.416666666667, 0.0]})
    rep.record("base_rates", frame, Cells(people=("n",), successes={"x_sum": "n"}, margins=False))
    assert rep.results["base_rates"][0] == {"segment": "a", "n": 295, "x_sum": None, "rate": None}
    assert rep.results["base_rates"][1] == {"segment": "b", "n": 144, "x_sum": 60, "rate": 0.416666666667}
    rep.record("stock", 7)  # a headline count of people
    rep.record("people", {"people": 610, "people_with_several_rows": 3, "rows": 728})
    rep.record("effects", {"m": {"email": {"people_t": 5, "people_c": 123, "value_t": 0.2, "verdict": "flat"}}})
    assert rep.results["stock"] is None
    assert rep.results["people"] == {"people": 610, "people_with_several_rows": None, "rows": None}
    assert rep.results["effects"]["m"]["email"] == {"people_t": None, "people_c": 123, "value_t": None, "verdict": "flat"}


def test_nested_record_lists_are_tables():
    value, hidden = suppress_records([{"arm": "a", "people": 5, "share": 0.01}, {"arm": "b", "people": 500, "share": 0.6},
                                      {"arm": "c", "people": 300, "share": 0.39}], 10)
    assert [r["people"] for r in value] == [None, 500, None] and hidden == 2


def test_a_count_hidden_beside_a_small_one_is_not_called_small():
    rep = Report(min_cell_size=10)
    html = _html(rep, pd.DataFrame({"arm": ["a", "b", "c"], "people": [5, 40, 300], "flagged": [True, False, False]}))
    assert html.count("&lt;10") == 1 and '<td class="cx-n cx-hidden">—</td>' in html  # the 40: hidden, not "<10"
    assert "<td>no</td>" in html  # a flag stays a flag


def test_a_cell_is_counted_once_however_often_it_is_judged():
    rep = Report(min_cell_size=10)
    frame = pd.DataFrame({"arm": ["a", "b", "c"], "people": [5, 40, 300]})
    shown = rep.suppress(frame, cells=Cells(people=("people",)))
    _html(rep, shown)
    assert rep.suppressed == 2
