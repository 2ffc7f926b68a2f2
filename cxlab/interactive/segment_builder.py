"""An ipywidgets segment builder for JupyterLab: pick conditions and thresholds, see the segment's size,
reachable size and base rate recomputed in the engine, export it as a catalogue card, and export its
audience after the reach waterfall (the launch ``cxlab audience`` makes: split, files, registered card).

The logic lives in :class:`SegmentBuilder` (conditions → rule text → measures → card), so it is tested
without a browser; :class:`BuilderUI` only wires widgets to it. Batch runs never build the widgets.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cxlab.analyses.launch import Launch, launch, parse_arms
from cxlab.catalog.cards import Segment
from cxlab.catalog.load import Catalog, load_catalog
from cxlab.compute import segments as sg
from cxlab.compute.base import product_lines
from cxlab.data.connect import Source
from cxlab.errors import CardError
from cxlab.report.format import format_value
from cxlab.report.i18n import t

#: Condition kinds: what a condition looks at, and the rule it writes.
KINDS = ("events", "holds", "lacks", "lines", "column")
OPERATORS = (">=", ">", "<=", "<", "=", "!=")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Condition:
    """One condition of a segment rule.

    ``events``: ``count_events(target, days) op value``; ``holds`` / ``lacks``: the client holds / does
    not hold the product line ``target``; ``lines``: ``count_lines() op value``; ``column``: a client
    column compared with ``value``.
    """

    kind: str
    target: str = ""
    op: str = ">="
    value: float | str = 1
    days: int = 30

    def rule(self) -> str:
        """The condition in the catalogue's rule language."""
        if self.kind not in KINDS:
            raise ValueError(f"condition kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.op not in OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(OPERATORS)}, got {self.op!r}")
        quoted = "'" + str(self.target).replace("'", "''") + "'"
        if self.kind == "holds":
            return f"holds({quoted})"
        if self.kind == "lacks":
            return f"NOT holds({quoted})"
        if self.kind == "events":
            return f"count_events({quoted}, {int(self.days)}) {self.op} {_literal(self.value)}"
        if self.kind == "lines":
            return f"count_lines() {self.op} {_literal(self.value)}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.target):
            raise ValueError(f"column name {self.target!r} is not a plain identifier")
        return f"{self.target} {self.op} {_literal(self.value)}"


def _literal(value: float | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def rule_text(conditions: list[Condition]) -> str:
    """The conditions joined with AND (a rule needs at least one)."""
    if not conditions:
        raise ValueError("a segment needs at least one condition")
    return " AND ".join(c.rule() for c in conditions)


@dataclass(frozen=True)
class Measures:
    """What the builder shows for a draft segment (counts are people)."""

    rule: str
    product_line: str
    size: int
    reachable: int
    base_n: int
    base_x: int
    base_rate: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SegmentBuilder:
    """Measures draft segments on ``src`` at ``snapshot`` with the same filters as the 03 report."""

    def __init__(self, src: Source, snapshot: date, channel: str = "email", cap_messages: int = 2,
                 cap_days: int = 30, history_days: int = 60) -> None:
        self.src, self.snapshot = src, snapshot
        self.channel, self.cap_messages, self.cap_days, self.history_days = channel, cap_messages, cap_days, history_days
        self.filters = sg.Filters.of(src)
        self.lines = product_lines(src)

    def options(self, limit: int = 30) -> dict[str, list[str]]:
        """What conditions can look at: the most frequent event types, product lines, client columns."""
        out: dict[str, list[str]] = {"lines": self.lines, "columns": [c for c in self.src.table("clients").columns
                                                                       if c not in ("client_id", "joined_at")]}
        if self.src.has("events"):
            e = self.src.table("events")
            top = e.group_by("event_type").aggregate(n=e.count()).order_by([e.count().desc(), "event_type"])
            out["events"] = self.src.con.execute(top.limit(limit)).event_type.astype(str).tolist()
        else:
            out["events"] = []
        return out

    def measure(self, conditions: list[Condition], product_line: str) -> Measures:
        """Size, reachable size and base rate of the segment the conditions define (alone, no priority)."""
        rule = rule_text(conditions)
        seg = Segment(name="draft", title="draft", rule=rule, priority=1, product_line=product_line)
        f = sg.flags(self.src, [seg], self.snapshot, self.channel, self.cap_messages, self.cap_days)
        reach = sg.waterfall(sg.tally(self.src, f, [seg], self.filters), [seg]).iloc[0]
        rates, _ = sg.base_rates(self.src, [seg], self.snapshot, self.history_days, exclude_holders=self.filters.holding)
        r = rates.iloc[0]
        return Measures(rule, product_line, int(reach.assigned), int(reach.not_holding), int(r.n), int(r.x_sum),
                        float(r.rate), float(r.ci_low), float(r.ci_high))

    def card(self, name: str, title: str, conditions: list[Condition], product_line: str, priority: int = 10,
             owner: str = "", description: str = "") -> str:
        """The segment as catalogue-card YAML, validated as a :class:`Segment` first."""
        if not _NAME.fullmatch(name or ""):
            raise CardError(f"segment name {name!r}: use lower-case letters, digits and '_' (e.g. big_savers)")
        seg = Segment(name=name, title=title or name, description=description, rule=rule_text(conditions),
                      priority=priority, owner=owner, product_line=product_line)
        return yaml.safe_dump(seg.model_dump(), sort_keys=False, allow_unicode=True)

    def export(self, folder: str | Path, name: str, title: str, conditions: list[Condition], product_line: str,
               priority: int = 10, owner: str = "", description: str = "", overwrite: bool = False) -> Path:
        """Write the card to ``folder/<name>.yml`` (an existing card is kept unless ``overwrite``)."""
        text = self.card(name, title, conditions, product_line, priority, owner, description)
        path = Path(folder) / f"{name}.yml"
        if path.exists() and not overwrite:
            raise CardError(f"{path} exists; choose another name or overwrite it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def audience(self, catalog: Catalog, campaign: str, name: str, conditions: list[Condition], product_line: str, *,
                 out: str | Path, arms: dict[str, float], salt: str, owner: str, approved_by: str, priority: int = 10,
                 replace: bool = False) -> Launch:
        """Launch the draft segment's audience with :func:`cxlab.analyses.launch.launch` — what ``cxlab
        audience --segment NAME`` does once the card is saved: exclusive assignment among the catalogue's
        segments and the draft by priority, the reach waterfall at the builder's snapshot, channel and
        contact cap, the split, the files and the registered card; existing files are refused unless
        ``replace``."""
        if not _NAME.fullmatch(name or ""):
            raise CardError(f"segment name {name!r}: use lower-case letters, digits and '_' (e.g. big_savers)")
        seg = Segment(name=name, title=name, rule=rule_text(conditions), priority=priority, product_line=product_line)
        drafted = dataclasses.replace(catalog, segments=catalog.segments | {name: seg})
        return launch(self.src, drafted, campaign, out=out, catalog_dir=catalog.path, segment=name, snapshot=self.snapshot,
                      arms=arms, salt=salt, channel=self.channel, cap_messages=self.cap_messages, cap_days=self.cap_days,
                      owner=owner, approved_by=approved_by, replace=replace)


def live() -> bool:
    """True inside an IPython kernel that a front end can draw widgets in."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class BuilderUI:
    """The widgets: condition rows, product line, name; results and export messages in ``output``."""

    ROWS = 3

    def __init__(self, builder: SegmentBuilder, catalog: str | Path, lang: str = "en") -> None:
        import ipywidgets as w

        self.builder, self.catalog, self.lang = builder, Path(catalog), lang
        opts = builder.options()
        self._targets = {"events": opts["events"], "holds": opts["lines"], "lacks": opts["lines"],
                         "lines": [""], "column": opts["columns"]}
        self.rows = []
        for i in range(self.ROWS):
            kind = w.Dropdown(options=[("—", "")] + [(k, k) for k in KINDS], value="events" if i == 0 else "",
                              layout=w.Layout(width="110px"))
            target = w.Dropdown(options=self._targets["events"], layout=w.Layout(width="200px"))
            op = w.Dropdown(options=OPERATORS, value=">=", layout=w.Layout(width="70px"))
            value = w.Text(value="1", continuous_update=False, layout=w.Layout(width="90px"))
            days = w.BoundedIntText(value=30, min=1, max=3650, layout=w.Layout(width="80px"))
            kind.observe(lambda change, target=target: self._retarget(change, target), names="value")
            self.rows.append({"kind": kind, "target": target, "op": op, "value": value, "days": days})
        self.line = w.Dropdown(options=opts["lines"], description=t("segments.product_line", lang))
        self.name = w.Text(value="new_segment", description=t("segments.builder_name", lang))
        self.title = w.Text(value="", description=t("segments.builder_title", lang))
        self.priority = w.BoundedIntText(value=10, min=1, max=1000, description=t("segments.builder_priority", lang))
        self.output = w.HTML()
        self.measures: Measures | None = None
        self.exported: Path | None = None
        for row in self.rows:
            for control in row.values():
                control.observe(lambda _: self.refresh(), names="value")
        self.line.observe(lambda _: self.refresh(), names="value")
        self.export_button = w.Button(description=t("segments.builder_export", lang))
        self.export_button.on_click(lambda _: self.export())
        self.campaign = w.Text(value="new_campaign", description=t("segments.builder_campaign", lang))
        self.arms = w.Text(value="control:0.2,treatment:0.8", description=t("segments.builder_arms", lang))
        self.salt = w.Text(value="", description=t("segments.builder_salt", lang))
        self.owner = w.Text(value="", description=t("segments.builder_owner", lang))
        self.approved_by = w.Text(value="", description=t("segments.builder_approved_by", lang))
        self.out = w.Text(value="audiences", description=t("segments.builder_out", lang))
        self.replace = w.Checkbox(value=False, description=t("segments.builder_replace", lang))
        self.launched: Launch | None = None
        self.audience_button = w.Button(description=t("segments.builder_audience", lang))
        self.audience_button.on_click(lambda _: self.export_audience())
        self.box = w.VBox([w.HBox(list(r.values())) for r in self.rows]
                          + [w.HBox([self.line, self.name, self.title, self.priority]), self.export_button,
                             w.HBox([self.campaign, self.arms, self.salt]),
                             w.HBox([self.owner, self.approved_by, self.out, self.replace]), self.audience_button,
                             self.output])

    def _retarget(self, change: dict, target: Any) -> None:
        target.options = self._targets.get(change["new"], [""]) or [""]

    def conditions(self) -> list[Condition]:
        """The conditions the rows define (rows with no kind are ignored)."""
        out = []
        for r in self.rows:
            if not r["kind"].value:
                continue
            raw = r["value"].value.strip()
            try:
                value: float | str = float(raw)
            except ValueError:
                value = raw
            out.append(Condition(r["kind"].value, r["target"].value or "", r["op"].value, value, int(r["days"].value)))
        return out

    def refresh(self) -> None:
        """Recompute the measures and show them (or the error that stops them)."""
        try:
            m = self.builder.measure(self.conditions(), self.line.value)
        except Exception as e:  # a half-typed condition: show why, keep the last numbers
            self.output.value = f"<p class='cx-note'>{html.escape(str(e).splitlines()[0])}</p>"
            return
        self.measures = m
        pct = lambda v: format_value(v, "pct", self.lang, 2)  # noqa: E731
        n = lambda v: format_value(v, "int", self.lang)  # noqa: E731
        ci = "" if math.isnan(m.base_rate) else f" ({pct(m.ci_low)} … {pct(m.ci_high)})"
        text = t("segments.builder_result", self.lang, size=n(m.size), reach=n(m.reachable), rate=pct(m.base_rate),
                 ci=ci, x=n(m.base_x), n=n(m.base_n))
        self.output.value = f"<code>{html.escape(m.rule)}</code><br>{html.escape(text)}"

    def export(self) -> None:
        """Write the card into ``catalog/segments/`` and say where."""
        try:
            self.exported = self.builder.export(self.catalog / "segments", self.name.value, self.title.value,
                                                self.conditions(), self.line.value, self.priority.value)
        except Exception as e:
            self.output.value = f"<p class='cx-note'>{html.escape(str(e).splitlines()[0])}</p>"
            return
        self.output.value += f"<br>→ {html.escape(str(self.exported))}"

    def export_audience(self) -> None:
        """Launch the built segment's audience (:meth:`SegmentBuilder.audience`) and say where and how many."""
        from cxlab.paths import resolve

        try:
            done = self.builder.audience(load_catalog(self.catalog), self.campaign.value, self.name.value,
                                         self.conditions(), self.line.value, out=resolve(self.out.value),
                                         arms=parse_arms(self.arms.value), salt=self.salt.value, owner=self.owner.value,
                                         approved_by=self.approved_by.value, priority=self.priority.value,
                                         replace=self.replace.value)
        except Exception as e:  # refused (existing files, no sign-off, bad arms…): say why, write nothing
            self.output.value = f"<p class='cx-note'>{html.escape(str(e).splitlines()[0])}</p>"
            return
        self.launched = done
        a = done.audience
        arms = ", ".join(f"{arm} {format_value(n, 'int', self.lang)}" for arm, n in zip(a.split.arm, a.split.people, strict=True)
                         if arm in a.arms)
        text = t("segments.builder_written", self.lang, people=format_value(a.size, "int", self.lang), arms=arms,
                 path=str(done.files["parquet"]), card=str(done.card))
        self.output.value += f"<br>{html.escape(text)}"


def widget(src: Source, snapshot: date, catalog: str | Path, lang: str = "en", **settings: Any) -> Any:
    """The builder's widget box, measured once so it opens with numbers (``settings`` as in 03)."""
    ui = BuilderUI(SegmentBuilder(src, snapshot, **settings), catalog, lang)
    ui.refresh()
    return ui.box
