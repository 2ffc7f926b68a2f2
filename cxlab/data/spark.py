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
    "spark.sql.shuffle.partitions": "2",  # one per core: measured 5.0 s a trigger panel query, 6.1 s with 4
    "spark.default.parallelism": "2",
    "spark.driver.memory": "2g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
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


#: What a Spark source may lack, and how to get it.
PYSPARK = "pyspark (pip install 'cxlab[spark]')"
JAVA = "Java 17 or later (java is not on PATH and JAVA_HOME is not set: apt-get install openjdk-17-jre-headless)"


def missing(local: bool = True) -> list[str]:
    """What this machine lacks for a Spark session: pyspark, and Java unless the session is remote."""
    found = []
    if importlib.util.find_spec("pyspark") is None:
        found.append(PYSPARK)
    java_home = os.environ.get("JAVA_HOME")
    if local and not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        found.append(JAVA)
    return found


def session(text: str) -> Any:
    """The Spark session for ``text``: local, on a standalone master, or a Spark Connect client."""
    problems = missing(local=not text.startswith(CONNECT))
    if problems:
        raise DataError(f"{text}: Spark sources need " + " and ".join(problems))
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
    if conf["spark.master"].startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark warns that the hostname is loopback
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # the JVM's message (no Java, port taken, master unreachable) comes first
        raise DataError(f"cannot start Spark ({conf['spark.master']}): {str(e).splitlines()[0]}") from e
    return spark
