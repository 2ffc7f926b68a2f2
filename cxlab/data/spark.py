"""Spark as a data source, through Ibis's PySpark backend (``pip install 'cxlab[spark]'``).

Three spellings of ``--data``:

- ``spark:PATH`` — a local Spark session (``local[2]``) over a folder laid out as for DuckDB (one
  parquet/csv file or a folder of parquet parts per table);
- ``spark://HOST:PORT`` — a standalone Spark master; the tables are those of the session's catalogue;
- ``sc://HOST:PORT`` — a Spark Connect server (needs ``pyspark[connect]``); tables from its catalogue.

A local session is set for a small machine: few shuffle partitions, little memory, no UI, quiet logs,
the driver on the loopback address and Python workers on this interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from cxlab.errors import DataError

#: Prefixes of a Spark ``--data`` source.
LOCAL, MASTER, CONNECT = "spark:", "spark://", "sc://"
#: Settings of the local session (a laptop or a 2-core CI machine, data of a few million rows).
LOCAL_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "cxlab",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.driver.memory": "2g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def is_spark(text: str) -> bool:
    """True when ``text`` names a Spark source (``spark:PATH``, ``spark://…`` or ``sc://…``)."""
    return text.startswith((LOCAL, CONNECT))


def local_path(text: str) -> str | None:
    """The folder of a ``spark:PATH`` source, or None for a cluster URL."""
    return text[len(LOCAL):] if text.startswith(LOCAL) and not text.startswith(MASTER) else None


def missing() -> str | None:
    """What a local Spark session lacks on this machine (pyspark, Java), or None when nothing."""
    if importlib.util.find_spec("pyspark") is None:
        return "Spark sources need pyspark: pip install 'cxlab[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "Spark needs Java 17 or later (java is not on PATH and JAVA_HOME is not set): apt-get install openjdk-17-jre-headless"
    return None


def session(text: str) -> Any:
    """The Spark session for ``text``: local, on a standalone master, or a Spark Connect client."""
    problem = missing() if not text.startswith(CONNECT) else (
        None if importlib.util.find_spec("pyspark") else "Spark sources need pyspark: pip install 'cxlab[spark]'")
    if problem:
        raise DataError(problem)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if text.startswith(CONNECT):
        if importlib.util.find_spec("grpc") is None:
            raise DataError("Spark Connect (sc://…) needs the connect client: pip install 'pyspark[connect]<4.1'")
        return builder.remote(text).getOrCreate()
    conf = dict(LOCAL_CONF, **{"spark.pyspark.python": sys.executable, "spark.pyspark.driver.python": sys.executable})
    if text.startswith(MASTER):
        conf["spark.master"] = text
        for key in ("spark.driver.host", "spark.driver.bindAddress"):  # executors elsewhere must reach the driver
            conf.pop(key)
    for key, value in conf.items():
        builder = builder.config(key, value)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers started outside the conf (memtables)
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # the JVM's message (no Java, port taken, master unreachable) comes first
        raise DataError(f"cannot start Spark ({conf['spark.master']}): {str(e).splitlines()[0]}") from e
    spark.sparkContext.setLogLevel("ERROR")
    return spark
