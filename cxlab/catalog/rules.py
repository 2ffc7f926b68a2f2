"""The rule language of catalogue cards: SQL conditions parsed by sqlglot and compiled to Ibis.

Nothing is evaluated by Python: the parsed tree is converted node by node through an explicit table of
handlers (any node type without one is rejected), columns are resolved against the table's schema, and
functions come only from the registry in :mod:`cxlab.catalog.functions`.

Two kinds of rules:
- row rules (metric filters) over one table's rows: :func:`compile_filter`;
- client rules (triggers, segments, populations) evaluated per client at snapshot dates, where functions
  aggregate the client's events, holdings, communications and consents: :func:`evaluate_rules`.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis
import pandas as pd
import sqlglot
from sqlglot import exp

from cxlab.catalog.functions import CLIENT_FUNCTIONS, ROW_FUNCTIONS, SCANS, Call
from cxlab.data.connect import Source
from cxlab.errors import RuleError


@dataclass(frozen=True)
class Rule:
    """A parsed rule: its text, where it came from, and the parsed tree."""

    text: str
    where: str
    tree: exp.Expression


#: Limits that keep a rule's parsing and compiling well inside Python's recursion limit and fast.
MAX_RULE_DEPTH = 100
MAX_RULE_LENGTH = 10_000


def quote(text: str) -> str:
    """``text`` as a string literal of the rule language (SQL quoting: ``'`` doubled), for cxlab code that
    builds a rule from a data value (a product line, a channel) — never put a value between quotes by hand."""
    return "'" + str(text).replace("'", "''") + "'"


def _position(node: exp.Expression) -> str:
    for n in node.walk():
        meta = getattr(n, "meta", None) or {}
        if "line" in meta:
            return f", line {meta['line']} column {meta['col']}"
    return ""


@functools.lru_cache(maxsize=4096)
def _tree(text: str) -> exp.Expression:
    """The parsed tree of a rule's text, parsed once per distinct text (a card's rule is parsed when the
    card loads; compiling it again reads the same tree, which no handler mutates)."""
    return sqlglot.condition(text)


def parse_rule(text: str, where: str = "rule") -> Rule:
    """Parse ``text`` (a SQL condition); a syntax error names ``where`` and the position."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"{where}: the rule is empty")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"{where}: the rule is {len(text):,} characters long; at most {MAX_RULE_LENGTH:,} are allowed")
    too_deep = RuleError(f"{where}: the rule nests deeper than {MAX_RULE_DEPTH} levels (parentheses, NOT, and each "
                         "AND / OR of a chain count one); split it or simplify it")
    depth = deepest = 0
    for ch in re.sub(r"'(?:[^']|'')*'", "''", text):  # parentheses outside string literals
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_RULE_DEPTH:
        raise too_deep
    try:
        tree = _tree(text)
    except RecursionError:
        raise too_deep from None
    except sqlglot.errors.ParseError as e:
        detail = e.errors[0] if e.errors else {}
        pos = f" at line {detail.get('line')} column {detail.get('col')}" if detail.get("line") else ""
        raise RuleError(f"{where}: cannot parse rule{pos}: {text!r} (write a condition such as "
                        f"\"count_events('login', 30) >= 4 AND NOT holds('credit_card')\")") from None
    except (sqlglot.errors.TokenError, ValueError) as e:
        raise RuleError(f"{where}: cannot parse rule {text!r}: {e}") from None
    if any(node.depth > MAX_RULE_DEPTH for node in tree.walk()):
        raise too_deep
    return Rule(text, where, tree)


class _Compiler:
    """Converts one parsed rule to an Ibis expression over ``table``.

    ``call`` maps a registry function call to an Ibis value (row rules compute it from the row, client
    rules look up a pre-aggregated column).
    """

    def __init__(self, rule: Rule, table: ibis.Table, functions: Mapping[str, Any],
                 call: Callable[[Call], ibis.Value]) -> None:
        self.rule, self.table, self.functions, self.call = rule, table, functions, call

    def fail(self, node: exp.Expression, message: str) -> RuleError:
        return RuleError(f"{self.rule.where}: {message}{_position(node)} in rule {self.rule.text!r}")

    def __call__(self, node: exp.Expression) -> Any:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            what = node.key.upper() if isinstance(node, exp.Func) else type(node).__name__
            raise self.fail(node, f"'{what}' is not allowed (allowed: comparisons, AND/OR/NOT, IN, BETWEEN, "
                                  f"IS NULL, + - * /, columns, literals, and the functions {', '.join(self.functions)})")
        try:
            return handler(self, node)
        except RuleError:
            raise
        except Exception:  # Ibis refused the combination: say so in the rule's own words, not the engine's
            raise self._mismatch(node) from None

    def _mismatch(self, node: exp.Expression) -> RuleError:
        kinds = []
        for child in (node.args.get("this"), node.args.get("expression"), node.args.get("low"),
                      node.args.get("high"), *(node.expressions or ())):
            if isinstance(child, exp.Expression):
                try:
                    kinds.append(f"{child.sql()} is {_kind(self(child))}")
                except RuleError:
                    continue
        detail = f" ({'; '.join(kinds)})" if kinds else ""
        return self.fail(node, f"the expression {node.sql()} combines values that do not go together{detail}")

    def column(self, node: exp.Column) -> ibis.Value:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise self.fail(node, f"qualified name '{node.sql()}' is not allowed: write the column name alone")
        name = node.name
        if name not in self.table.columns:
            close = difflib.get_close_matches(name, self.table.columns, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; columns: {', '.join(self.table.columns)}"
            raise self.fail(node, f"unknown column '{name}'{hint}")
        return self.table[name]

    def function(self, node: exp.Anonymous) -> ibis.Value:
        name = node.name.lower()
        if name not in self.functions:
            close = difflib.get_close_matches(name, self.functions, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.fail(node, f"unknown function '{node.name}'{hint} (functions: {', '.join(self.functions)})")
        spec = self.functions[name]
        args = []
        for arg in node.expressions:
            if isinstance(arg, exp.Literal):
                args.append(arg.this if arg.is_string else _number(arg.this))
            elif isinstance(arg, exp.Column) and spec.column_args:
                self.column(arg)  # checks the name exists
                args.append(arg.name)
            else:
                raise self.fail(arg, f"arguments of {name}() must be literals, got '{arg.sql()}'")
        try:
            call = spec.bind(tuple(args))
        except ValueError as e:
            raise self.fail(node, str(e)) from None
        return self.call(call)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _kind(value: Any) -> str:
    """What a compiled value is, in words (no engine type names)."""
    typ = value.type() if hasattr(value, "type") else None
    if typ is None:
        return "text" if isinstance(value, str) else "a number" if isinstance(value, (int, float)) else "a value"
    if typ.is_boolean():
        return "true/false"
    if typ.is_numeric():
        return "a number"
    if typ.is_string():
        return "text"
    if typ.is_temporal():
        return "a date"
    return "a value"


def _literal(c: _Compiler, node: exp.Literal) -> Any:
    return ibis.literal(node.this) if node.is_string else ibis.literal(_number(node.this))


def _cast(c: _Compiler, node: exp.Cast) -> Any:
    to = node.to.this
    if not isinstance(node.this, exp.Literal) or to not in (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP):
        raise c.fail(node, "only DATE '…' and TIMESTAMP '…' literals may be cast")
    try:
        return ibis.timestamp(datetime.fromisoformat(node.this.this))
    except ValueError:
        raise c.fail(node, f"'{node.this.this}' is not a date (use YYYY-MM-DD)") from None


def _in(c: _Compiler, node: exp.In) -> Any:
    if node.args.get("query") or not node.expressions:
        raise c.fail(node, "IN takes a list of literals, e.g. region IN ('north', 'south')")
    values = []
    for v in node.expressions:
        if not isinstance(v, exp.Literal):
            raise c.fail(v, "IN takes a list of literals")
        values.append(v.this if v.is_string else _number(v.this))
    return c(node.this).isin(values)


def _is(c: _Compiler, node: exp.Is) -> Any:
    if not isinstance(node.expression, exp.Null):
        raise c.fail(node, "only IS NULL and IS NOT NULL are allowed")
    return c(node.this).isnull()


def _binary(op: Callable[[Any, Any], Any]) -> Callable[[_Compiler, exp.Expression], Any]:
    return lambda c, node: op(c(node.this), c(node.expression))


_HANDLERS: dict[type, Callable[[_Compiler, Any], Any]] = {
    exp.Column: lambda c, n: c.column(n),
    exp.Anonymous: lambda c, n: c.function(n),
    exp.Literal: _literal,
    exp.Boolean: lambda c, n: ibis.literal(bool(n.this)),
    exp.Null: lambda c, n: ibis.null(),
    exp.Paren: lambda c, n: c(n.this),
    exp.Neg: lambda c, n: -c(n.this),
    exp.Not: lambda c, n: ~c(n.this),
    exp.And: _binary(lambda a, b: a & b),
    exp.Or: _binary(lambda a, b: a | b),
    exp.EQ: _binary(lambda a, b: a == b),
    exp.NEQ: _binary(lambda a, b: a != b),
    exp.GT: _binary(lambda a, b: a > b),
    exp.GTE: _binary(lambda a, b: a >= b),
    exp.LT: _binary(lambda a, b: a < b),
    exp.LTE: _binary(lambda a, b: a <= b),
    exp.Add: _binary(lambda a, b: a + b),
    exp.Sub: _binary(lambda a, b: a - b),
    exp.Mul: _binary(lambda a, b: a * b),
    exp.Div: _binary(lambda a, b: a / b),
    exp.In: _in,
    exp.Is: _is,
    exp.Between: lambda c, n: c(n.this).between(c(n.args["low"]), c(n.args["high"])),
    exp.Cast: _cast,
}


def _as_rule(rule: str | Rule, where: str) -> Rule:
    return rule if isinstance(rule, Rule) else parse_rule(rule, where)


def _boolean(c: _Compiler, rule: Rule) -> ibis.BooleanValue:
    value = c(rule.tree)
    if not isinstance(value, ibis.expr.types.BooleanValue):
        raise RuleError(f"{rule.where}: the rule {rule.text!r} is not a condition (it gives {value.type()}, "
                        "not true/false)")
    return value


def compile_filter(rule: str | Rule, table: ibis.Table, where: str = "filter") -> ibis.BooleanValue:
    """A row rule (e.g. a metric's ``product_line = 'credit_card'``) as a boolean over ``table``'s rows."""
    rule = _as_rule(rule, where)
    compiler = _Compiler(rule, table, ROW_FUNCTIONS, lambda call: call.row(table))
    return _boolean(compiler, rule)


#: Nodes that only ever appear inside handled nodes (names, type names of DATE '…' literals).
_PARTS = (exp.Identifier, exp.DataType)


def check_structure(rule: Rule, functions: Mapping[str, Any]) -> None:
    """Reject what no data can make valid — node types without a handler, qualified names, unknown
    functions — before any table is seen. Column names are checked when the rule meets its table."""
    compiler = _Compiler(rule, ibis.table({"client_id": "int64"}, name="t"), functions, lambda call: ibis.literal(0))
    for node in rule.tree.walk():
        if isinstance(node, _PARTS):
            continue
        if type(node) not in _HANDLERS:
            compiler(node)  # raises, naming the node
        if isinstance(node, exp.Column) and (node.table or node.args.get("db")):
            compiler.column(node)  # raises for the qualified name
        if isinstance(node, exp.Anonymous) and node.name.lower() not in functions:
            compiler.function(node)  # raises with suggestions


def calls_in(rule: Rule) -> list[Call]:
    """The registry calls a client rule makes (validated), without compiling it."""
    check_structure(rule, CLIENT_FUNCTIONS)
    found: list[Call] = []
    dummy = ibis.table({"client_id": "int64"}, name="clients")

    def record(call: Call) -> ibis.Value:
        found.append(call)
        return ibis.literal(0)

    compiler = _Compiler(rule, dummy, CLIENT_FUNCTIONS, record)
    for node in rule.tree.walk():
        if isinstance(node, exp.Anonymous):
            compiler.function(node)
    return found


def snapshot_table(snapshots: Sequence[date | datetime | str]) -> ibis.Table:
    """The snapshots as a one-column table (``snapshot``: midnight timestamps, sorted, unique), as
    :func:`evaluate_rules` puts them beside each client."""
    if not snapshots:
        raise RuleError("evaluate_rules needs at least one snapshot date")
    stamps = sorted({pd.Timestamp(s).normalize() for s in snapshots})
    return ibis.memtable(pd.DataFrame({"snapshot": pd.Series(stamps, dtype="datetime64[us]")}))


def evaluate_rules(rules: Mapping[str, str | Rule], src: Source, snapshots: Sequence[date | datetime | str],
                   where: Mapping[str, str] | None = None) -> ibis.Table:
    """Client rules evaluated at each snapshot: ``client_id``, ``snapshot`` and one boolean per rule.

    One row per client existing at the snapshot (``joined_at <= snapshot``, or every client when the data
    has no join date). Identical function calls across rules are computed once; each is an aggregate of
    the client's rows in its window, joined back and filled (counts → 0).
    """
    return _evaluate(rules, src, snapshots, where, as_values=False)


def evaluate_expressions(expressions: Mapping[str, str | Rule], src: Source, snapshots: Sequence[date | datetime | str],
                         where: Mapping[str, str] | None = None) -> ibis.Table:
    """Client expressions (e.g. ``sum_events('salary_deposit', 30)``, ``tenure_days() / 30``) evaluated at
    each snapshot like :func:`evaluate_rules`, but kept as values (numbers, text, flags; nulls stay null):
    model features declared in a card."""
    return _evaluate(expressions, src, snapshots, where, as_values=True)


def _evaluate(rules: Mapping[str, str | Rule], src: Source, snapshots: Sequence[date | datetime | str],
              where: Mapping[str, str] | None, as_values: bool) -> ibis.Table:
    where = dict(where or {})
    parsed = {name: _as_rule(text, where.get(name, f"rule '{name}'")) for name, text in rules.items()}
    clients = src.table("clients")
    # carry only the columns the rules name through the client × snapshot joins (narrow rows are fast)
    named = {n.name for rule in parsed.values() for n in rule.tree.find_all(exp.Column)}
    if named <= set(clients.columns):  # otherwise keep them all, so the error can suggest close names
        keep = ["client_id", *(["joined_at"] if "joined_at" in clients.columns else []), *sorted(named - {"client_id", "joined_at"})]
        clients = clients.select(*keep)
    snaps = snapshot_table(snapshots)
    base = clients.cross_join(snaps)
    if "joined_at" in clients.columns:
        base = base.filter(base.joined_at.isnull() | (base.joined_at.cast("timestamp") <= base.snapshot))
    calls: dict[Call, str] = {}
    for rule in parsed.values():
        for call in calls_in(rule):
            calls.setdefault(call, f"cx_f{len(calls)}")
    # one chain of left joins, then one select that fills: a flat query Ibis compiles (and DuckDB plans) fast;
    # calls over a shared scan (events in a window, open contracts) are one group-by of one scan
    joined, from_base = base, {}
    shared: dict[str, list[Call]] = {}
    for call, col in calls.items():
        if call.spec.scan is not None:
            shared.setdefault(call.spec.scan, []).append(call)
            continue
        agg = call.client(src, snaps)
        if agg is None:  # computed from the base row itself (tenure_days)
            from_base[col] = call
            continue
        joined = joined.left_join(agg.rename({col: "value"}), ["client_id", "snapshot"])
    for scan, members in shared.items():
        rows = SCANS[scan](src, snaps, members)
        aggs = rows.group_by(["client_id", "snapshot"]).aggregate(**{calls[c]: c.aggregate(rows) for c in members})
        joined = joined.left_join(aggs, ["client_id", "snapshot"])
    values = {col: joined[col] if call.spec.fill is None else joined[col].fill_null(call.spec.fill)
              for call, col in calls.items() if col not in from_base}
    base = joined.select(*base.columns, **values)
    if from_base:
        base = base.mutate(**{col: call.from_base(base) for col, call in from_base.items()})
    out = {}
    for name, rule in parsed.items():
        compiler = _Compiler(rule, base, CLIENT_FUNCTIONS, lambda call: base[calls[call]])
        out[name] = compiler(rule.tree) if as_values else _boolean(compiler, rule).fill_null(False)
    return base.select("client_id", "snapshot", **out)
