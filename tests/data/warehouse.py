"""A warehouse with its own names, made from the demo's canonical tables (schema ``crm``, the names of
docs/mapping-postgres.yml), on any engine that runs plain SQL: DuckDB here, PostgreSQL in make test-postgres."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS_MAPPING = ROOT / "docs" / "mapping-postgres.yml"

#: Each renamed table as a SELECT over the canonical one (test rows are added to activity, then filtered).
RENAMED = {
    "customer": "SELECT client_id AS cust_no, joined_at AS signup_date, "
                "CASE WHEN global_control THEN 'Y' ELSE 'N' END AS holdout, age, region, income_band, is_employed "
                "FROM clients",
    "catalogue": "SELECT product_id AS sku, product_line AS family, name AS title FROM products",
    "contract": "SELECT client_id AS cust_no, product_id AS sku, opened_at AS start_dt, closed_at AS end_dt, "
                "value AS amount FROM holdings",
    "activity": "SELECT client_id AS cust_no, event_type AS kind, ts AS happened_at, value AS amount FROM events "
                "UNION ALL SELECT client_id, 'test_event', ts, NULL FROM events WHERE event_type = 'complaint'",
    "contact_log": "SELECT client_id AS cust_no, campaign_id AS campaign, channel, sent_at AS sent, "
                   "CASE WHEN \"group\" = 'treatment' THEN 'T' ELSE 'C' END AS cell, arm, score FROM communications",
    "permissions": "SELECT client_id AS cust_no, channel, CASE WHEN opted_in THEN 1 ELSE 0 END AS optin_flag FROM consents",
}


def make_warehouse(execute: Callable[[str], object]) -> None:
    """Create schema ``crm`` with the renamed tables, through ``execute`` (one SQL statement per call)."""
    execute("CREATE SCHEMA crm")
    for name, select in RENAMED.items():
        execute(f"CREATE TABLE crm.{name} AS {select}")


def mapping_for(source: str, folder: Path) -> Path:
    """The docs' mapping with its ``source`` replaced, written into ``folder``."""
    text = DOCS_MAPPING.read_text(encoding="utf-8")
    lines = [f"source: {source}" if line.startswith("source:") else line for line in text.splitlines()]
    path = folder / "warehouse.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
