"""The docs' mapping (docs/mapping-postgres.yml) on a throwaway PostgreSQL server holding a warehouse with
its own names (schema crm): every analysis equals DuckDB's on the canonical tables (make test-postgres)."""

from __future__ import annotations

import pytest

from cxlab import cli
from cxlab.data import connect
from cxlab.data.validate import validate
from tests.backends.harness import assert_same, compute_all
from tests.backends.servers import load_into_postgres, postgres_server
from tests.data.warehouse import make_warehouse, mapping_for

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def warehouse_url(small_demo):
    """A database holding only schema crm (the canonical tables are dropped once it is made)."""
    import psycopg

    with postgres_server() as url:
        load_into_postgres(connect(small_demo), url)
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as pg:
            make_warehouse(pg.execute)
            for name in ("consents", "communications", "events", "holdings", "products", "clients"):
                pg.execute(f'DROP TABLE "{name}"')
            pg.execute("ANALYZE")
        yield url


def test_the_docs_mapping_on_postgres_equals_duckdb(warehouse_url, reference, tmp_path, monkeypatch):
    user_host = warehouse_url.split("://", 1)[1]
    monkeypatch.setenv("PGPASSWORD", "")  # the docs' ${PGPASSWORD}; the throwaway server trusts local users
    path = mapping_for("postgres://" + user_host.replace("@", ":${PGPASSWORD}@", 1), tmp_path)
    src = connect(path)
    assert set(src.tables) == {"clients", "products", "holdings", "events", "communications", "consents"}
    report = validate(src)
    assert report.ok, [f.message for f in report.errors]
    assert_same(reference, compute_all(src), "PostgreSQL through the mapping")
    assert cli.main(["validate", str(path)]) == 0


def test_a_wrong_column_on_postgres_names_file_line_and_the_columns(warehouse_url, tmp_path):
    path = mapping_for(warehouse_url, tmp_path)
    path.write_text(path.read_text().replace("client_id: cust_no\n      joined_at", "client_id: cust_nr\n      joined_at"))
    with pytest.raises(Exception, match=r"warehouse\.yml:10: clients\.client_id: column 'cust_nr' is not in crm\.customer\. "
                                        r"Did you mean cust_no\?"):
        connect(path)
