"""The same analyses on Spark in local mode over the small demo's parquet folder (make test-spark)."""

from __future__ import annotations

import pytest

from cxlab.data import connect
from tests.backends.harness import assert_same, compute_all

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_source(small_demo):
    """``spark:<small demo>``: a local session, stopped after the module."""
    src = connect(f"spark:{small_demo}")
    yield src
    src.con.disconnect()


def test_spark_reads_the_demo_tables(spark_source, small_demo):
    duck = connect(small_demo)
    assert set(spark_source.tables) == set(duck.tables)
    for name, table in duck.tables.items():
        assert spark_source.con.execute(spark_source.table(name).count()) == duck.con.execute(table.count()), name


def test_every_notebook_computes_the_same_on_spark(spark_source, reference):
    assert_same(reference, compute_all(spark_source), "Spark")
