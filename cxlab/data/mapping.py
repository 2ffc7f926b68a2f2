"""Bring your own data: a YAML mapping from a warehouse's own tables and columns onto the canonical ones.

A mapping is a ``.yml`` file passed wherever a data source goes (``cxlab validate data/warehouse.yml``,
``cxlab run --data data/warehouse.yml``). It names the source and, per canonical table, where its rows
come from — a table of the source with a column (or an SQL expression) per canonical column, or a whole
SELECT — so a warehouse with its own names needs no Python adapter::

    source: postgres://analyst@dwh/crm           # a URL, a folder of parquet/csv, a .duckdb file;
                                                 # ${NAME} is taken from the environment
    tables:
      clients:
        from: crm.customer                       # schema.table of the source
        columns:                                 # canonical (or extra) column: source column or SQL
          client_id: cust_no
          joined_at: signup_date
          global_control: "holdout = 'Y'"
        where: "cust_no IS NOT NULL"             # optional filter (SQL)
      products:
        sql: SELECT sku AS product_id, family AS product_line FROM crm.catalogue

Only the tables the mapping lists are visible; ``from:`` without ``columns`` takes the table as it is.
With ``columns``, the source's other columns follow unchanged (rules and models may use them) unless
``others: false``; a source column a mapped column is made from is not kept a second time.
A value that is a plain name (letters, digits, ``_``) is a column, quoted as written (case matters);
anything else is an SQL expression in the source engine's dialect. Each expression and SELECT is parsed
with sqlglot before it reaches the engine: a mapping can only read (no DDL, one statement per ``sql``).
Errors name the mapping file and line, the table and the column.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp

from cxlab.data.connect import Source, connect
from cxlab.data.contract import TABLES
from cxlab.errors import DataError

SUFFIXES = (".yml", ".yaml")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: sqlglot's name for each Ibis backend's SQL dialect
_DIALECTS = {"pyspark": "spark", "postgres": "postgres", "duckdb": "duckdb"}

Value = str | bool | int | float
#: Statements a mapping may not contain anywhere (it only reads).
_WRITES = tuple(getattr(exp, n) for n in ("Drop", "Create", "Insert", "Update", "Delete", "Merge", "Alter", "Command",
                                          "TruncateTable", "Copy", "Set", "Use", "Pragma", "Attach", "Detach",
                                          "Grant", "Transaction", "Commit") if hasattr(exp, n))


class TableMap(BaseModel):
    """Where one canonical table's rows come from: ``from`` (+ ``columns``, ``where``) or ``sql``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | None = Field(None, alias="from", description="a table of the source, e.g. crm.customer")
    columns: dict[str, Value] = Field(default_factory=dict, description="canonical column: source column or SQL")
    where: str | None = Field(None, description="SQL filter on the source table")
    others: bool = Field(True, description="also keep the source table's other columns (rules may use them)")
    sql: str | None = Field(None, description="a whole SELECT giving the canonical columns")

    @model_validator(mode="after")
    def _one_way(self) -> TableMap:
        if (self.from_ is None) == (self.sql is None):
            raise ValueError("give exactly one of 'from' (a table of the source) or 'sql' (a SELECT)")
        if self.sql is not None and (self.columns or self.where or not self.others):
            raise ValueError("'columns', 'where' and 'others' go with 'from'; a 'sql' SELECT names its columns itself")
        return self

    @property
    def from_table(self) -> str:
        """The source table of a ``from`` mapping (the validator gives every mapping without ``sql`` one)."""
        if self.from_ is None:
            raise ValueError("a 'sql' mapping has no source table")
        return self.from_


class MappingFile(BaseModel):
    """The whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="where the data is: a URL, a folder or a .duckdb file")
    tables: dict[str, TableMap] = Field(description="canonical table → where its rows come from")


def is_mapping(path: str | Path) -> bool:
    """Whether ``path`` names a mapping file (``.yml``/``.yaml``)."""
    return "://" not in str(path) and Path(str(path)).suffix.lower() in SUFFIXES


def _lines(node: yaml.Node, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """1-based line of every key path in a composed YAML document."""
    out: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            out[path] = key.start_mark.line + 1
            out.update(_lines(value, path))
    return out


def _where(path: Path, lines: dict[tuple[str, ...], int], keys: tuple[str, ...]) -> str:
    """``file:line`` of the deepest of ``keys`` found in ``lines``, else the file alone."""
    for n in range(len(keys), 0, -1):
        if keys[:n] in lines:
            return f"{path}:{lines[keys[:n]]}"
    return str(path)


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file, with the line of every key for error messages."""

    path: Path
    spec: MappingFile
    text: str
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def where(self, *keys: str) -> str:
        """``file:line`` of the deepest of ``keys`` found in the file."""
        return _where(self.path, self.lines, keys)

    def source_url(self) -> str:
        """The ``source`` with ``${NAME}`` from the environment and relative paths from the file's folder."""
        def env(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise DataError(f"{self.where('source')}: source uses ${{{m.group(1)}}}, which is not set in the environment")
            return os.environ[m.group(1)]

        text = _ENV.sub(env, self.spec.source)
        if "://" in text:
            return text
        prefix = "spark:" if text.startswith("spark:") else ""
        path = Path(text[len(prefix):]).expanduser()
        return prefix + str(path if path.is_absolute() else (self.path.parent / path).resolve())

    def origin(self, table: str, column: str | None = None) -> str:
        """Where a canonical table (or column) comes from, for messages: ``file:line: crm.customer.cust_no``."""
        spec = self.spec.tables.get(table)
        if spec is None:
            return f"{self.path}: (not mapped)"
        if spec.sql is not None:
            return f"{self.where('tables', table, 'sql')}: sql"
        if column and column in spec.columns:
            return f"{self.where('tables', table, 'columns', column)}: {spec.from_} → {spec.columns[column]}"
        return f"{self.where('tables', table, 'from')}: {spec.from_}"


def read_mapping(path: str | Path) -> Mapping:
    """Parse and check a mapping file (YAML syntax, fields, table names); nothing is connected yet."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"mapping file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        raise DataError(f"{path}{at}: YAML syntax error: {getattr(e, 'problem', e)}") from None
    lines = _lines(node) if node is not None else {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: a mapping is a YAML object with 'source' and 'tables' (see docs/mapping.md).")
    try:
        spec = MappingFile.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            keys = tuple(str(k) for k in err["loc"])
            problems.append(f"{_where(path, lines, keys)}: field '{'.'.join(keys)}': {err['msg']}")
        raise DataError("mapping problems:\n  " + "\n  ".join(problems)) from None
    mapping = Mapping(path, spec, text, lines)
    for name in spec.tables:
        if name not in TABLES:
            close = difflib.get_close_matches(name, TABLES, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DataError(f"{mapping.where('tables', name)}: '{name}' is not a canonical table.{hint} "
                            f"Canonical tables: {', '.join(TABLES)}.")
    return mapping


# ------------------------------------------------------------------------------------------ SQL


def _parse(mapping: Mapping, keys: tuple[str, ...], text: str, dialect: str, what: str) -> exp.Expression:
    try:
        parsed = sqlglot.parse(text, read=dialect)
    except sqlglot.errors.ParseError as e:
        first = e.errors[0]["description"] if e.errors else str(e).splitlines()[0]
        raise DataError(f"{mapping.where(*keys)}: {'.'.join(keys[1:])}: cannot parse {what} {text!r}: {first}") from None
    statements = [s for s in parsed if s is not None]
    if len(statements) != 1:
        raise DataError(f"{mapping.where(*keys)}: {'.'.join(keys[1:])}: expected one {what}, got {len(statements)} statements")
    tree = statements[0]
    query = isinstance(tree, exp.Query)
    writes = next(tree.find_all(*_WRITES), None) is not None or isinstance(tree, _WRITES)
    if writes or (what == "SELECT") != query:
        raise DataError(f"{mapping.where(*keys)}: {'.'.join(keys[1:])}: {text!r} is not a{'' if what == 'SELECT' else 'n'} "
                        f"{what} (a mapping only reads)")
    return tree


def _value(mapping: Mapping, table: str, column: str, value: Value, dialect: str) -> exp.Expression:
    if isinstance(value, bool | int | float):
        return exp.convert(value)
    if _NAME.match(value):
        return exp.column(value, quoted=True)
    return _parse(mapping, ("tables", table, "columns", column), value, dialect, "SQL expression")


def table_sql(mapping: Mapping, table: str, dialect: str, have: list[str] | None = None) -> str:
    """The SELECT (in ``dialect``) that gives one canonical table from the source.

    ``have`` are the source table's columns: with ``others`` (the default) the ones no mapped column is
    made from (by name or in an expression) and no mapped column shadows follow the mapped ones unchanged."""
    spec = mapping.spec.tables[table]
    if spec.sql is not None:
        return _parse(mapping, ("tables", table, "sql"), spec.sql, dialect, "SELECT").sql(dialect)
    values = {name: _value(mapping, table, name, value, dialect) for name, value in spec.columns.items()}
    mapped = [value.as_(name, quoted=True) for name, value in values.items()]
    # a source column a mapped column is made from is consumed (not kept twice, not a covariate of its own)
    renamed = {c.name for value in values.values() for c in value.find_all(exp.Column)}
    kept = [exp.column(c, quoted=True) for c in (have or []) if spec.others and c not in renamed and c not in spec.columns]
    items: list[exp.Expression | str] = [*mapped, *kept] or ["*"]
    select = exp.select(*items).from_(exp.to_table(spec.from_table, dialect=dialect))
    if spec.where:
        select = select.where(_parse(mapping, ("tables", table, "where"), spec.where, dialect, "SQL expression"))
    return select.sql(dialect)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _explain(mapping: Mapping, inner: Source, table: str, dialect: str, error: Exception) -> DataError:
    """Which part of a table's mapping the engine refused: the source table, a column, or the filter."""
    spec = mapping.spec.tables[table]
    con = inner.con
    if spec.sql is not None:
        return DataError(f"{mapping.where('tables', table, 'sql')}: {table}: the engine refused the SELECT: {_first_line(error)}")
    source = exp.to_table(spec.from_table, dialect=dialect)
    try:
        have = list(con.sql(exp.select("*").from_(source).limit(0).sql(dialect)).columns)
    except Exception as e:
        known = sorted(inner.tables) or ["(none listed)"]
        return DataError(f"{mapping.where('tables', table, 'from')}: {table}: cannot read table '{spec.from_}' of "
                         f"{inner.description}: {_first_line(e)} (tables found: {', '.join(known)})")
    for name, value in spec.columns.items():
        where = mapping.where("tables", table, "columns", name)
        if isinstance(value, str) and _NAME.match(value) and value not in have:
            close = difflib.get_close_matches(value, have, n=2)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            return DataError(f"{where}: {table}.{name}: column '{value}' is not in {spec.from_}.{hint} "
                             f"Its columns: {', '.join(have)}.")
        one = exp.select(_value(mapping, table, name, value, dialect).as_(name, quoted=True)).from_(source).limit(0)
        try:
            con.sql(one.sql(dialect))
        except Exception as e:
            return DataError(f"{where}: {table}.{name}: the engine refused {value!r}: {_first_line(e)}")
    return DataError(f"{mapping.where('tables', table)}: {table}: the engine refused the mapping: {_first_line(error)}")


# ------------------------------------------------------------------------------------------ source


@dataclass
class MappedSource(Source):
    """A source seen through a mapping: its fingerprint also changes when the mapping file changes."""

    mapping: Mapping | None = None

    def fingerprint(self) -> str:
        inner = super().fingerprint()
        text = self.mapping.text if self.mapping else ""
        return hashlib.sha256((text + inner).encode()).hexdigest()[:16]


def open_mapping(path: str | Path) -> MappedSource:
    """Connect to a mapping's source and expose the canonical tables it declares (see the module docstring)."""
    mapping = read_mapping(path)
    url = mapping.source_url()
    if is_mapping(url):
        raise DataError(f"{mapping.where('source')}: source is another mapping file; point it at the data itself.")
    try:
        inner = connect(url)
    except DataError as e:
        raise DataError(f"{mapping.where('source')}: {e}") from None
    dialect = _DIALECTS.get(inner.con.name, inner.con.name)
    tables: dict[str, ibis.Table] = {}
    files: dict[str, list[Path]] = {}
    all_files = sorted({p for paths in inner.files.values() for p in paths})
    for name, spec in mapping.spec.tables.items():
        try:
            have = None
            if spec.from_ is not None and spec.columns and spec.others:
                have = list(inner.con.sql(exp.select("*").from_(exp.to_table(spec.from_, dialect=dialect))
                                          .limit(0).sql(dialect)).columns)
            tables[name] = inner.con.sql(table_sql(mapping, name, dialect, have))
        except DataError:
            raise
        except Exception as e:
            raise _explain(mapping, inner, name, dialect, e) from None
        if spec.from_ is not None and spec.from_ in inner.files:
            files[name] = inner.files[spec.from_]
        elif spec.sql is not None and all_files and not any(t not in inner.files for t in _tables_read(spec.sql, dialect)):
            files[name] = all_files
    return MappedSource(inner.con, tables, f"mapping {mapping.path.name} over {inner.description}", files, mapping=mapping)


def _tables_read(sql: str, dialect: str) -> list[str]:
    """The tables a SELECT reads (a name not among the source's files means: not file-backed)."""
    return [t.name for t in sqlglot.parse_one(sql, read=dialect).find_all(exp.Table)]


def describe(source: Source) -> list[str]:
    """For a mapped source, one line per mapped canonical column: where it comes from (for ``cxlab validate``)."""
    mapping = getattr(source, "mapping", None)
    if mapping is None:
        return []
    lines = []
    for table, spec in mapping.spec.tables.items():
        if spec.sql is not None or not spec.columns:
            lines.append(f"{table} ← {mapping.origin(table)}")
        else:
            lines += [f"{table}.{col} ← {mapping.origin(table, col)}" for col in spec.columns]
    return lines
