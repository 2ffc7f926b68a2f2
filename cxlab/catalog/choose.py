"""Which catalogue card a report uses on this data, when the user names none.

A report's card parameter (``hypothesis``, ``trigger``, ``campaign``) defaults to empty: the card is then
chosen among the cards that *apply* to the data — a trigger whose target product line, event types,
product lines and client columns are all in the data; a hypothesis whose trigger applies; a campaign
whose campaign ids appear in ``communications``. The rule for several candidates is stated in
:data:`RULES` and printed in the report beside the choice, with the other candidates and the parameter
that picks another. When nothing applies the report cannot run here: :class:`~cxlab.errors.NotApplicable`
(the runner marks the notebook *skipped* with its message, not failed).

A card the user names explicitly must exist (a :class:`~cxlab.errors.ParameterError` lists the known
names) and must apply (the error says what is missing and which cards do apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from cxlab.catalog.cards import Campaign, Hypothesis, Trigger
from cxlab.catalog.load import Catalog
from cxlab.catalog.rules import calls_in, parse_rule
from cxlab.data.connect import Source
from cxlab.errors import NotApplicable, ParameterError

#: The parameter that names each kind of card, per kind.
PARAMETER = {"hypotheses": "hypothesis", "triggers": "trigger", "campaigns": "campaign"}

#: How one card is chosen among several that apply (the words the reports print are in messages/choice.yml).
RULES = {
    "hypotheses": "the first applicable hypothesis by id",
    "triggers": "the trigger of the first applicable hypothesis by id, else the first applicable trigger by name",
    "campaigns": "the applicable campaign with the latest send_start (then by name)",
}


@dataclass(frozen=True)
class DataFacts:
    """What the data offers that cards refer to: product lines, event types, campaign ids, client columns."""

    product_lines: frozenset[str]
    event_types: frozenset[str]
    campaign_ids: frozenset[str]
    client_columns: frozenset[str]
    tables: frozenset[str]

    @classmethod
    def of(cls, src: Source) -> DataFacts:
        """Distinct values read in the engine (a few small queries)."""
        def distinct(table: str, column: str) -> frozenset[str]:
            if not src.has(table):
                return frozenset()
            t = src.table(table)
            return frozenset(str(v) for v in src.con.execute(t.select(column).distinct())[column] if v is not None)

        tables = frozenset(n for n in ("clients", "products", "holdings", "events", "communications", "consents") if src.has(n))
        return cls(distinct("products", "product_line"), distinct("events", "event_type"),
                   distinct("communications", "campaign_id"), frozenset(src.table("clients").columns), tables)


def _rule_gaps(rule: str, facts: DataFacts) -> list[str]:
    parsed = parse_rule(rule)
    gaps = []
    for call in calls_in(parsed):
        for (pname, _), value in zip(call.spec.params, call.args, strict=True):
            if pname == "event_type" and value not in facts.event_types:
                gaps.append(f"no '{value}' events")
            elif pname == "product_line" and value not in facts.product_lines:
                gaps.append(f"no product line '{value}'")
        if call.name == "opted_in" and "consents" not in facts.tables:
            gaps.append("no consents table")
        if call.name == "count_communications" and "communications" not in facts.tables:
            gaps.append("no communications table")
    for col in {c.name for c in parsed.tree.find_all(exp.Column)} - facts.client_columns:
        gaps.append(f"no client column '{col}'")
    return list(dict.fromkeys(gaps))


def gaps(card: Any, catalog: Catalog, facts: DataFacts) -> list[str]:
    """Why ``card`` does not apply to the data (empty when it applies)."""
    if isinstance(card, Trigger):
        out = [] if card.target_line in facts.product_lines else [f"no product line '{card.target_line}'"]
        return list(dict.fromkeys(out + _rule_gaps(card.rule, facts)))
    if isinstance(card, Hypothesis):
        trigger = catalog.triggers.get(card.trigger)
        out = [f"trigger '{card.trigger}' is not in the catalogue"] if trigger is None else gaps(trigger, catalog, facts)
        return list(dict.fromkeys(out + (_rule_gaps(card.population, facts) if card.population else [])))
    if isinstance(card, Campaign):
        if "communications" not in facts.tables:
            return ["no communications table"]
        return [] if set(card.campaign_ids) & facts.campaign_ids else [
            f"no communications with campaign_id {', '.join(card.campaign_ids)}"]
    raise TypeError(f"cannot tell whether a {type(card).__name__} applies")


@dataclass(frozen=True)
class Choice:
    """The card a report uses and how it was chosen.

    ``how``: ``given`` (the user named it), ``only`` (the one card that applies) or ``first`` (the first
    of several by :data:`RULES`); ``others``: the other cards that apply, to pass instead.
    """

    kind: str
    name: str
    how: str
    others: tuple[str, ...] = ()
    rule: str = field(default="")

    @property
    def parameter(self) -> str:
        return PARAMETER[self.kind]

    def facts(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "how": self.how, "others": list(self.others),
                "parameter": self.parameter, "rule": self.rule}


def _folder(catalog: Catalog, kind: str) -> str:
    from cxlab.paths import project_root

    path = catalog.path.resolve()
    try:
        path = path.relative_to(project_root())
    except ValueError:
        pass
    return f"{path}/{kind}/"


def _describe(facts: DataFacts, kind: str) -> str:
    if kind == "campaigns":
        ids = sorted(facts.campaign_ids)
        return f"campaign ids in the data: {', '.join(ids[:8]) or 'none'}{' …' if len(ids) > 8 else ''}"
    lines, events = sorted(facts.product_lines), sorted(facts.event_types)
    return (f"product lines in the data: {', '.join(lines[:8]) or 'none'}{' …' if len(lines) > 8 else ''}; "
            f"event types: {', '.join(events[:8]) or 'none'}{' …' if len(events) > 8 else ''}")


def _ordered(kind: str, catalog: Catalog, applicable: list[str]) -> list[str]:
    if kind == "campaigns":
        return sorted(applicable, key=lambda n: (-catalog.campaigns[n].send_start.toordinal(), n))
    if kind == "triggers":
        via = [h.trigger for _, h in sorted(catalog.hypotheses.items()) if h.trigger in applicable]
        return list(dict.fromkeys(via + sorted(applicable)))
    return sorted(applicable)


def choose(src: Source | DataFacts, catalog: Catalog, kind: str, name: str = "") -> Choice:
    """The ``kind`` card (hypotheses, triggers, campaigns) a report uses on ``src``.

    ``name`` given: that card, checked to exist and to apply. Empty: the only applicable card, or the
    first by :data:`RULES`; :class:`NotApplicable` when none applies, naming what the data lacks.
    """
    facts = src if isinstance(src, DataFacts) else DataFacts.of(src)
    cards = getattr(catalog, kind)
    param = PARAMETER[kind]
    applicable = [n for n, c in cards.items() if not gaps(c, catalog, facts)]
    ordered = _ordered(kind, catalog, applicable)
    label = {"hypotheses": "hypothesis", "triggers": "trigger", "campaigns": "campaign"}[kind]
    if name:
        if name not in cards:
            raise ParameterError(unknown_card(catalog, kind, name))
        missing = gaps(cards[name], catalog, facts)
        if missing:
            fit = f"cards that apply: {', '.join(ordered)}" if ordered else "no card applies to this data"
            raise ParameterError(f"{param}={name}: the {label} card does not apply to this data ({'; '.join(missing)}). "
                                 f"Pass -p {param}=NAME with one that does ({fit}), or leave {param} empty to pick one.")
        return Choice(kind, name, "given", tuple(n for n in ordered if n != name), RULES[kind])
    if not ordered:
        if kind == "campaigns" and "communications" not in facts.tables:
            raise NotApplicable("the data has no communications table, so there is no campaign to evaluate")
        raise NotApplicable(f"no {label} card in {_folder(catalog, kind)} applies to this data ({_describe(facts, kind)}); "
                            f"write one there to run this report")
    return Choice(kind, ordered[0], "only" if len(ordered) == 1 else "first", tuple(ordered[1:]), RULES[kind])


def unknown_card(catalog: Catalog, kind: str, name: str) -> str:
    """The message for a card name that is not in the catalogue: the parameter, the known names."""
    import difflib

    cards = getattr(catalog, kind)
    close = difflib.get_close_matches(name, cards, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    label = {"hypotheses": "hypothesis", "triggers": "trigger", "campaigns": "campaign", "segments": "segment"}[kind]
    param = PARAMETER.get(kind, "segments")
    return (f"{param}={name}: no {label} card '{name}' in {_folder(catalog, kind)}.{hint} "
            f"Known: {', '.join(sorted(cards)) or 'none'} (see `cxlab catalog list`).")
