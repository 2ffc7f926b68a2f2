"""Open a data source as Ibis tables: a folder of parquet/csv files, a .duckdb file, an Ibis URL, or Spark.

DuckDB in-process is the embedded default; any backend Ibis reaches (``postgres://user@host/db``,
``spark:PATH`` and Spark clusters, see :mod:`cxlab.data.spark`) works the same way because everything
downstream is an Ibis expression.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from cxlab.data import spark
from cxlab.data.contract import TABLES
from cxlab.errors import DataError, ParameterError
from cxlab.files import hash_files, table_files


@dataclass
class Source:
    """An open data source: an Ibis backend and the canonical tables found in it."""

    con: ibis.BaseBackend
    tables: dict[str, ibis.Table]
    description: str
    files: dict[str, list[Path]] = field(default_factory=dict)
    #: Timezone-aware timestamp columns read as UTC without a zone ("events.ts"), to say so in reports.
    normalised: list[str] = field(default_factory=list)
    #: What :func:`connect` was given (a path or URL), to match the run's context (:mod:`cxlab.data.context`).
    origin: str = ""

    def __post_init__(self) -> None:
        """Timezone-aware timestamps become naive UTC on connect, so naive and aware values compare (on
        DuckDB the session runs in UTC, so the cast keeps the instant). Other engines' sessions may run in
        another zone, so their columns are left as the engine gives them."""
        if self.con.name != "duckdb":
            return
        for name, t in list(self.tables.items()):
            aware = [c for c, typ in t.schema().items() if typ.is_timestamp() and typ.timezone is not None]
            if aware:
                self.tables[name] = t.mutate(**{c: t[c].cast(dt.Timestamp(scale=t[c].type().scale)) for c in aware})
                self.normalised += [f"{name}.{c}" for c in aware]

    def table(self, name: str) -> ibis.Table:
        """The named table, or a DataError saying which tables exist."""
        if name not in self.tables:
            have = ", ".join(sorted(self.tables)) or "none"
            raise DataError(f"{self.description}: table '{name}' is missing (found: {have}).")
        return self.tables[name]

    def has(self, name: str) -> bool:
        return name in self.tables

    def cache(self, t: ibis.Table) -> ibis.Table:
        """``t`` computed once into a temporary table of the engine, for an expression read several times.

        Ibis 12's PySpark backend compiles the cached query without registering the in-memory tables it
        reads (snapshot lists, sampling keys), so Spark would not find them: a query that returns no rows
        registers them first."""
        if self.con.name == "pyspark":
            self.con.execute(t.limit(0))
        return t.cache()

    def fingerprint(self) -> str:
        """A short hash that changes when any input table changes (file bytes, or rows + schema)."""
        h = hashlib.sha256()
        for name in sorted(self.tables):
            h.update(name.encode())
            if name in self.files:
                hash_files(h, self.files[name])
            else:
                t = self.tables[name]
                h.update(str(t.schema()).encode())
                h.update(str(self.con.execute(t.count())).encode())
        return h.hexdigest()[:16]


def _open_folder(folder: Path, con: ibis.BaseBackend, description: str) -> Source:
    """Every table file of ``folder`` registered in ``con`` (DuckDB in-process, or a local Spark session)."""
    files = table_files(folder)
    if not files:
        raise DataError(f"{folder}: no tables found (expected clients.parquet, events.csv, … or folders of parquet).")
    tables: dict[str, ibis.Table] = {}
    for name, paths in files.items():
        path = paths[0]
        try:
            if path.suffix == ".parquet":
                for path in paths:  # a truncated part is found now, not halfway through an analysis
                    _check_footer(path)
                tables[name] = _read_parquet(con, name, folder / name if (folder / name).is_dir() else path, paths)
            else:
                tables[name] = con.read_csv(str(path), table_name=name, **_CSV_OPTIONS.get(con.name, {}))
        except Exception as e:  # the engine's message names the problem; we add which table and file
            cause = utf8_problem(path) if path.suffix != ".parquet" else None
            raise DataError(f"table '{name}': cannot read {path}: {cause or str(e).splitlines()[0]}") from e
    return Source(con, tables, f"{description} {folder}", files)


def _check_footer(path: Path) -> None:
    """Fail unless ``path`` ends as a whole parquet file does: the footer's length, then the magic ``PAR1``,
    with room for the footer and the leading magic. Reading 12 bytes in Python, where pyarrow's
    ``read_metadata`` first loads its parquet reader (≈10 ms in a fresh process, on every ``connect``)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(size - 8, 0))
        tail = f.read(8)
    if size < 12 or head != b"PAR1" or tail[4:] != b"PAR1" or int.from_bytes(tail[:4], "little") > size - 12:
        raise ValueError(f"not a whole parquet file ({size} bytes without the parquet footer at the end: "
                         "truncated, or not parquet)")


def utf8_problem(path: Path) -> str | None:
    """Where a text file stops being UTF-8 ("not UTF-8 encoded: byte 0xe9 on line 7"), or None.

    Engines say "CSV Error on Line: N" with the cause further down (and DuckDB's line is the sniffer's);
    this reads the file in chunks, so it costs one pass and no memory."""
    import codecs
    import gzip

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    at = line + chunk.count(b"\n", 0, e.start)
                    return f"not UTF-8 encoded: byte 0x{chunk[e.start]:02x} on line {at} (save the file as UTF-8)"
                line += chunk.count(b"\n")
    except OSError:
        return None
    return None


#: How each engine reads a csv file: DuckDB sniffs header and types; Spark must be told.
_CSV_OPTIONS = {"pyspark": {"header": True, "inferSchema": True}}


def _read_parquet(con: ibis.BaseBackend, name: str, where: Path, paths: list[Path]) -> ibis.Table:
    """One table from its file or folder of parts: DuckDB reads the listed parts, Spark the folder (it
    skips hidden and ``_``-prefixed files the same way)."""
    if con.name == "pyspark":
        return con.read_parquet(str(where), table_name=name)
    return con.read_parquet([str(p) for p in paths], table_name=name)


#: DuckDB's working memory in one process. Its default (80% of RAM) lets a kernel grow to gigabytes before
#: anything spills; with this limit the aggregates spill to disk and ``run 00`` on 1M clients (89M events)
#: stays under 1 GiB peak RSS. The analyses avoid operators that cannot spill (COUNT(DISTINCT) per group).
#: ``CXLAB_DUCKDB_MEMORY`` (e.g. ``4GB``) overrides it on a machine with data that needs more.
MEMORY_LIMIT = "512MB"


def memory_limit() -> str:
    """The DuckDB memory limit of this process: ``CXLAB_DUCKDB_MEMORY`` if set (checked), else :data:`MEMORY_LIMIT`."""
    value = os.environ.get("CXLAB_DUCKDB_MEMORY", "").strip() or MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, flags=re.IGNORECASE):
        raise ParameterError(f"CXLAB_DUCKDB_MEMORY={value!r} is not a memory size such as 512MB or 4GB")
    return value


def _duckdb() -> ibis.BaseBackend:
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET memory_limit = '{memory_limit()}'")
    # DuckDB spills in-memory sessions to ./.tmp under fixed file names: two processes in one folder (a run
    # beside a benchmark) overwrote each other's blocks ("Corrupt temporary file"). One folder per process.
    spill = tempfile.mkdtemp(prefix="cxlab-duckdb-")
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    con.raw_sql("SET temp_directory = '{}'".format(spill.replace("'", "''")))  # a quote in TMPDIR stays a quote
    con.raw_sql("SET enable_progress_bar = false")  # its Jupyter widget would end up in the HTML reports
    con.raw_sql("SET TimeZone = 'UTC'")  # timezone-aware timestamps are read as UTC (Source.__post_init__)
    threads = os.environ.get("CXLAB_THREADS", "")
    if threads.isdigit() and int(threads) > 0:  # set by `cxlab run --jobs N` so N kernels share the cores
        con.raw_sql(f"SET threads = {int(threads)}")
    return con


def _open_backend(con: ibis.BaseBackend, description: str) -> Source:
    names = set(con.list_tables())
    tables = {name: con.table(name) for name in TABLES if name in names}
    extra = {name: con.table(name) for name in names - set(TABLES)}
    return Source(con, {**tables, **extra}, description)


#: The cxlab extra that brings each backend's driver.
_EXTRAS = {"psycopg": "postgres", "pyspark": "spark"}


def _open_spark(text: str) -> Source:
    """A Spark source: a local session over a folder (``spark:PATH``) or a cluster's catalogue."""
    folder = spark.local_path(text)
    path = Path(folder).expanduser() if folder is not None else None
    if path is not None and not path.is_dir():  # said before a JVM is started for nothing
        raise DataError(f"{text}: {path} is not a folder (spark:PATH reads a folder of parquet/csv tables)")
    session = spark.session(text)  # first: it names what is missing before Ibis imports its pyspark backend
    con = ibis.pyspark.connect(session)
    if path is None:
        return _open_backend(con, f"Spark {text}")
    return _open_folder(path, con, "Spark (local) on")


def connect(source: str | Path | Source) -> Source:
    """Open ``source``: a folder, a ``.duckdb`` file, an Ibis URL, a mapping ``.yml`` (see
    :mod:`cxlab.data.mapping`), or an already open :class:`Source`."""
    if isinstance(source, Source):
        return source
    src = _open(str(source))
    src.origin = str(source)
    return src


def _open(text: str) -> Source:
    if spark.is_spark(text):
        return _open_spark(text)
    if "://" in text:
        try:
            con = ibis.connect(text)
        except ModuleNotFoundError as e:
            extra = _EXTRAS.get(e.name or "", "")
            hint = f": pip install 'cxlab[{extra}]'" if extra else ""
            raise DataError(f"{text.split('://')[0]}:// sources need the Python package {e.name}{hint}") from e
        except Exception as e:
            raise DataError(f"cannot connect to {text.split('@')[-1]}: {str(e).splitlines()[0]}") from e
        return _open_backend(con, text.split("@")[-1])
    path = Path(text).expanduser()
    if path.suffix.lower() in (".yml", ".yaml"):  # a mapping of the analyst's own tables (docs/mapping.md)
        from cxlab.data.mapping import open_mapping

        return open_mapping(path)
    if not path.exists():
        raise DataError(f"data source {path} does not exist.")
    if path.is_dir():
        return _open_folder(path, _duckdb(), "data folder")
    if path.suffix in (".duckdb", ".ddb"):
        try:
            con = ibis.duckdb.connect(str(path), read_only=True)
        except Exception as e:
            raise DataError(f"cannot open DuckDB file {path}: {str(e).splitlines()[0]}") from e
        return _open_backend(con, f"DuckDB file {path}")
    raise DataError(f"data source {path}: expected a folder, a .duckdb file or a URL such as postgres://… (or a mapping .yml, docs/mapping.md)")
