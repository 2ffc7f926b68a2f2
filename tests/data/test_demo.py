"""The demo data: valid, deterministic, and its truth.json agrees with the rows as the engine reads them —
in one file per table and in chunks (folders of parts)."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest
from scipy import stats

from cxlab.data import connect
from cxlab.data.demo import generate
from cxlab.data.validate import validate
from cxlab.errors import ParameterError


@pytest.fixture(scope="module")
def sql(demo):
    """Raw DuckDB views over the demo's files (``name.parquet`` or the parts in ``name/``), and its truth."""
    folder, truth = demo
    con = duckdb.connect()
    for name in ("clients", "products", "holdings", "events", "communications", "consents"):
        files = folder / f"{name}.parquet" if (folder / f"{name}.parquet").exists() else folder / name / "*.parquet"
        con.execute(f"create view {name} as select * from read_parquet('{files}')")
    return con, truth


def test_demo_meets_the_contract_and_nothing_is_after_as_of(demo):
    folder, truth = demo
    report = validate(connect(folder), now=datetime.fromisoformat(truth["as_of"]))
    assert report.ok, report.to_frame()
    assert not report.warnings, report.to_frame()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, clients=1000, seed=3)
    generate(b, clients=1000, seed=3)
    generate(c, clients=1000, seed=4)
    names = sorted(p.name for p in a.iterdir())
    assert names == ["clients.parquet", "communications.parquet", "consents.parquet", "events.parquet",
                     "holdings.parquet", "products.parquet", "truth.json"]
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert (a / "events.parquet").read_bytes() != (c / "events.parquet").read_bytes()


def test_segment_sizes_and_overlaps_match_sql(sql):
    sql, truth = sql
    s = "timestamp '2025-12-01'"
    rules = {
        "travellers": f"select distinct client_id from events where event_type='travel_booking' and ts >= {s} - interval 90 day and ts < {s}",
        "salary_earners": f"select distinct client_id from events where event_type='salary_deposit' and ts >= {s} - interval 35 day and ts < {s}",
        "digital_active": f"select client_id from events where event_type='app_login' and ts >= {s} - interval 30 day and ts < {s} "
                          "group by 1 having count(*) >= 4",
        "savers": f"select distinct client_id from holdings join products using (product_id) where product_line='deposit' "
                  f"and opened_at < {s} and (closed_at is null or closed_at >= {s})",
        "borrowers": f"select distinct client_id from holdings join products using (product_id) where product_line in ('consumer_loan','mortgage') "
                     f"and opened_at < {s} and (closed_at is null or closed_at >= {s})",
    }
    for name, query in rules.items():
        assert sql.execute(f"select count(*) from ({query})").fetchone()[0] == truth["segments"]["sizes"][name], name
    both = sql.execute(f"select count(*) from ({rules['travellers']} intersect {rules['savers']})").fetchone()[0]
    assert both == truth["segments"]["overlap"]["travellers"]["savers"]


def test_trigger_rows_match_sql(sql):
    sql, truth = sql
    # salary_no_card: eligible (client, snapshot) rows and how many fired, recomputed from the rows.
    query = """
    with snaps as (select unnest(generate_series(date '2024-04-01', date '2025-11-01', interval 1 month))::timestamp as s),
    base as (select c.client_id, s from clients c, snaps where c.joined_at <= s),
    held as (select distinct b.client_id, b.s from base b join holdings h using (client_id) join products p using (product_id)
             where p.product_line = 'credit_card' and h.opened_at < b.s and (h.closed_at is null or h.closed_at >= b.s)),
    fired as (select distinct b.client_id, b.s from base b join events e using (client_id)
              where e.event_type = 'salary_deposit' and e.value >= 3000 and e.ts >= b.s - interval 30 day and e.ts < b.s)
    select count(*), count(f.client_id) from base b anti join held h using (client_id, s)
    left join fired f using (client_id, s)
    """
    eligible, fired = sql.execute(query).fetchone()
    truth = truth["triggers"]["salary_no_card"]
    assert (eligible, fired) == (truth["eligible_rows"], truth["triggered_rows"])


def test_campaign_people_rows_and_split(sql):
    sql, truth = sql
    truth = truth["campaign"]
    people = dict(sql.execute(
        "select arm, count(distinct client_id) from communications where campaign_id='cc_spring_2025' group by 1").fetchall())
    assert people == truth["people"]
    rows = sql.execute("select count(*) from communications where campaign_id='cc_spring_2025'").fetchone()[0]
    assert rows == truth["rows"] > sum(people.values())  # reminders: more rows than people
    n = sum(people.values())
    # the split is randomised 20/40/40: a chi-square goodness of fit must not reject it
    p = stats.chisquare([people["control"], people["email"], people["email_offer"]], [0.2 * n, 0.4 * n, 0.4 * n]).pvalue
    assert p > 0.001


def test_value_is_pareto_shaped(demo):
    _, truth = demo
    v = truth["value"]
    assert 0.6 < v["top_20pct_share"] < 0.95 and v["gini"] > 0.5
    assert sum(v["abc_sizes"].values()) == truth["n_clients"]


def test_truth_lists_its_definitions(small_demo):
    truth = json.loads((small_demo / "truth.json").read_text())
    assert {"eligible", "triggered", "conversion", "turnover", "segments"} <= set(truth["definitions"])


def test_too_few_clients_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="clients must be at least 500"):
        generate(tmp_path / "x", clients=10)
