"""YAML files → typed cards, every error with the file and line; the catalogue and its cross-checks."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from cxlab.catalog.cards import Campaign, ContactPolicy, Hypothesis, Metric, Segment, Trigger
from cxlab.catalog.rules import calls_in, parse_rule
from cxlab.errors import CardError, RuleError

C = TypeVar("C", bound=BaseModel)

#: Folder of each card kind, and its model.
#: Any card a folder of the catalogue holds.
Card = Trigger | Hypothesis | Segment | Campaign | ContactPolicy
KINDS: dict[str, type[Card]] = {"triggers": Trigger, "hypotheses": Hypothesis, "segments": Segment,
                                "campaigns": Campaign, "policies": ContactPolicy}
#: Campaign types a contact policy knows, and the one exempt from every rule.
CAMPAIGN_TYPES, EXEMPT = ("marketing", "transactional"), "transactional"


#: The safe loader, in C where PyYAML was built with libyaml (a catalogue loads about four times faster).
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeys(_SAFE):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: the base loader says so
                break
            if first != key_node.start_mark.line + 1:
                raise _Duplicate(key, first, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


class _Duplicate(Exception):
    def __init__(self, key: Any, first: int, again: int) -> None:
        self.key, self.first, self.again = key, first, again


def _read(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CardError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise CardError(f"{path}:{line}: not UTF-8 encoded (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                        "save the card as UTF-8") from None
    try:
        return yaml.load(text, Loader=_UniqueKeys), yaml.compose(text, Loader=_SAFE)
    except _Duplicate as e:
        raise CardError(f"{path}:{e.again}: field '{e.key}' is given twice (first on line {e.first})") from None
    except RecursionError:
        raise CardError(f"{path}: YAML nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise CardError(f"{where}: YAML syntax error: {getattr(e, 'problem', e)}") from None


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest YAML node that ``loc`` (a pydantic error location) reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _build(model: type[C], data: Any, node: yaml.Node | None, where: str) -> C:
    if not isinstance(data, dict):
        raise CardError(f"{where}: a card must be a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line(node, loc)
            field_name = ".".join(str(p) for p in loc) or "card"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                known = difflib.get_close_matches(str(loc[-1]), model.model_fields, n=1)
                msg = "unknown field" + (f" (did you mean '{known[0]}'?)" if known else "")
            problems.append(f"{where}:{line}: field '{field_name}': {msg}")
        raise CardError("\n".join(problems)) from None
    except RuleError as e:
        raise CardError(f"{where}: {str(e).removeprefix('rule: ')}") from None


@overload
def load_card(path: str | Path, model: type[C]) -> C: ...
@overload
def load_card(path: str | Path, model: None = None) -> Card: ...
def load_card(path: str | Path, model: type[BaseModel] | None = None) -> BaseModel:
    """One card file; ``model`` defaults to the kind of its folder (``triggers/`` → Trigger)."""
    path = Path(path)
    kind = model or KINDS.get(path.parent.name)
    if kind is None:
        raise CardError(f"{path}: cannot tell the card kind; put it under one of {', '.join(KINDS)}/")
    data, node = _read(path)
    return _build(kind, data, node, str(path))


def load_metrics(path: str | Path) -> dict[str, Metric]:
    """``metrics.yml``: a list of metrics under ``metrics:``."""
    path = Path(path)
    data, node = _read(path)
    if node is None or not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        raise CardError(f"{path}: expected a list under 'metrics:'")
    items = next(v for k, v in node.value if k.value == "metrics")
    metrics: dict[str, Metric] = {}
    for _i, (entry, entry_node) in enumerate(zip(data["metrics"], items.value, strict=True)):
        m = _build(Metric, entry, entry_node, str(path))
        if m.name in metrics:
            raise CardError(f"{path}:{entry_node.start_mark.line + 1}: metric '{m.name}' is defined twice")
        metrics[m.name] = m
    return metrics


@dataclass
class Catalog:
    """Every card of a catalogue folder, by name."""

    path: Path
    metrics: dict[str, Metric] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    hypotheses: dict[str, Hypothesis] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    policies: dict[str, ContactPolicy] = field(default_factory=dict)
    files: dict[tuple[str, str], Path] = field(default_factory=dict)

    def where(self, kind: str, name: str, field_name: str) -> str:
        """``path:line: field 'x'`` of a card's field (``campaigns.0.segment`` reaches into lists), for
        messages about it that the card alone does not raise."""
        path = self.files.get((kind, name))
        if path is None:
            return f"{self.path}: {kind[:-1]} '{name}': field '{field_name}'"
        try:
            _, node = _read(Path(path))
        except CardError:
            node = None
        if kind == "metrics" and node is not None:  # metrics.yml: the entry whose name matches
            items = next((v for k, v in node.value if k.value == "metrics"), None)
            node = next((e for e in getattr(items, "value", []) if any(
                k.value == "name" and v.value == name for k, v in e.value)), None)
        loc = tuple(int(p) if p.isdigit() else p for p in field_name.split("."))
        line = _line(node, loc) if node is not None else None
        return f"{path}:{line}: field '{field_name}'" if line else f"{path}: field '{field_name}'"

    def get(self, kind: str, name: str) -> Any:
        """The card ``name`` of ``kind`` (metrics, triggers, …), or a CardError with close names."""
        cards = getattr(self, kind)
        if name not in cards:
            close = difflib.get_close_matches(name, cards, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise CardError(f"{self.path}: no {_singular(kind)} '{name}'.{hint} "
                            f"Known: {', '.join(sorted(cards)) or 'none'}.")
        return cards[name]

    def metric(self, name: str) -> Metric:
        """The metric card ``name`` (a CardError with close names when there is none)."""
        return self.get("metrics", name)

    def trigger(self, name: str) -> Trigger:
        """The trigger card ``name``."""
        return self.get("triggers", name)

    def hypothesis(self, name: str) -> Hypothesis:
        """The hypothesis card ``name``."""
        return self.get("hypotheses", name)

    def segment(self, name: str) -> Segment:
        """The segment card ``name``."""
        return self.get("segments", name)

    def campaign(self, name: str) -> Campaign:
        """The campaign card ``name``."""
        return self.get("campaigns", name)

    def metrics_for(self, names: list[str]) -> dict[str, Metric]:
        """The metric cards ``names``, then the parts their ratio metrics divide (each once, by name)."""
        out = {n: self.get("metrics", n) for n in names}
        for m in list(out.values()):
            for part in (m.numerator, m.denominator) if m.type == "ratio" else ():
                out.setdefault(part, self.get("metrics", part))
        return out

    def check(self) -> list[str]:
        """Problems across cards: references to cards or metrics that do not exist."""
        problems = []
        for h in self.hypotheses.values():
            where = self.files.get(("hypotheses", h.id), self.path)
            if h.trigger not in self.triggers:
                problems.append(f"{where}: trigger '{h.trigger}' does not exist")
            for m in [*h.metrics.names, h.expected_effect.metric]:
                if m not in self.metrics:
                    problems.append(f"{where}: metric '{m}' is not in metrics.yml")
        for c in self.campaigns.values():
            where = self.files.get(("campaigns", c.name), self.path)
            for m in c.metrics.names:
                if m not in self.metrics:
                    problems.append(f"{where}: metric '{m}' is not in metrics.yml")
        for metric in self.metrics.values():
            for part in (metric.numerator, metric.denominator) if metric.type == "ratio" else ():
                if part not in self.metrics:
                    problems.append(f"{self.path / 'metrics.yml'}: metric '{metric.name}': '{part}' is not in metrics.yml")
                elif self.metrics[part].type not in ("proportion", "mean"):
                    problems.append(f"{self.path / 'metrics.yml'}: metric '{metric.name}': '{part}' must be a proportion "
                                    f"or mean metric, not {self.metrics[part].type}")
        for kind in ("triggers", "segments"):
            for name, card in getattr(self, kind).items():
                calls_in(parse_rule(card.rule, str(self.files.get((kind, name), self.path))))
        for policy in self.policies.values():
            problems += self._check_policy(policy)
        return problems

    def _check_policy(self, policy: ContactPolicy) -> list[str]:
        """A contact policy's problems: cards it names that do not exist, campaign names a launch refuses,
        and caps that can never apply or cannot be met."""
        from cxlab.paths import resolve

        problems = []

        def bad(field_name: str, message: str) -> None:
            problems.append(f"{self.where('policies', policy.name, field_name)}: {message}")

        channels = {c.channel for c in policy.campaigns}
        for i, c in enumerate(policy.campaigns):
            for kind, ref in (("segments", c.segment), ("triggers", c.trigger), ("hypotheses", c.hypothesis)):
                if ref and ref not in getattr(self, kind):
                    close = difflib.get_close_matches(ref, getattr(self, kind), n=3)
                    bad(f"campaigns.{i}.{_singular(kind)}", f"no {_singular(kind)} '{ref}' in {self.path}"
                        + (f" (did you mean {', '.join(close)}?)" if close else ""))
            if c.scored and not resolve(c.scored).is_file():
                bad(f"campaigns.{i}.scored", f"no scored audience {resolve(c.scored)}; write it with 07 (score_out) first")
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", c.name):
                bad(f"campaigns.{i}.name", f"campaign name must be letters, digits, _ or -, got {c.name!r}")
            elif c.name in self.campaigns and self.campaigns[c.name].registration is None:
                bad(f"campaigns.{i}.name", f"'{c.name}' is an existing campaign card ({self.files.get(('campaigns', c.name))}) "
                    "that a launch must not overwrite; choose another name")
            if c.max_audience is not None and c.max_audience * min(c.arms.values()) < 1:
                arm = min(c.arms, key=lambda a: c.arms[a])
                bad(f"campaigns.{i}.max_audience", f"cannot be met: {c.max_audience} people at share "
                    f"{c.arms[arm]:g} give arm '{arm}' nobody; raise it to at least {int(-(-1 // min(c.arms.values())))}")
        for channel in policy.caps_per_channel:
            if channel not in channels:
                bad(f"caps_per_channel.{channel}", f"no campaign of this policy sends on '{channel}' "
                    f"(channels: {', '.join(sorted(channels))}): the cap never applies")
        for kind, cap in policy.caps_per_type.items():
            if kind not in CAMPAIGN_TYPES:
                bad(f"caps_per_type.{kind}", f"unknown campaign type '{kind}' (types: {', '.join(CAMPAIGN_TYPES)})")
            elif kind == EXEMPT:
                bad(f"caps_per_type.{kind}", "transactional campaigns are exempt from every rule: the cap never applies")
            elif policy.exclusive and cap > 1:
                bad(f"caps_per_type.{kind}", f"a cap of {cap} marketing contacts cannot be reached: exclusive: true gives "
                    "a client at most one marketing campaign (lower the cap to 1 or set exclusive: false)")
        return problems


def _singular(kind: str) -> str:
    return {"hypotheses": "hypothesis", "policies": "policy"}.get(kind, kind[:-1])


def load_catalog(path: str | Path = "catalog") -> Catalog:
    """Load every card under ``path``; the first broken card raises CardError with file and line."""
    path = Path(path)
    if not path.is_dir():
        raise CardError(f"catalogue folder {path} does not exist")
    cat = Catalog(path)
    if (path / "metrics.yml").exists():
        cat.metrics = load_metrics(path / "metrics.yml")
    for kind, model in KINDS.items():
        for file in sorted((path / kind).glob("*.yml")):
            card = load_card(file, model)
            name = card.id if isinstance(card, Hypothesis) else card.name
            if name in getattr(cat, kind):
                raise CardError(f"{file}: {kind[:-1]} '{name}' is already defined in {cat.files[(kind, name)]}")
            getattr(cat, kind)[name] = card
            cat.files[(kind, name)] = file
    return cat


def check_catalog(path: str | Path = "catalog") -> list[str]:
    """Every problem in the catalogue (broken cards are reported one per file), empty when all is well."""
    path = Path(path)
    problems: list[str] = []
    files = [path / "metrics.yml"] if (path / "metrics.yml").exists() else []
    for kind in KINDS:
        files += sorted((path / kind).glob("*.yml"))
    for file in files:
        try:
            load_metrics(file) if file.name == "metrics.yml" and file.parent == path else load_card(file)
        except CardError as e:
            problems.append(str(e))
    if problems:
        return problems
    try:
        return load_catalog(path).check()
    except (CardError, RuleError) as e:
        return [str(e)]


def list_hypotheses(catalog: Catalog) -> pd.DataFrame:
    """Hypotheses with their status and owner, for ``cxlab catalog list``."""
    rows = [{"id": h.id, "title": h.title, "status": h.status, "owner": h.owner, "trigger": h.trigger,
             "missing checks": len(h.missing_checks())} for h in catalog.hypotheses.values()]
    return pd.DataFrame(rows, columns=["id", "title", "status", "owner", "trigger", "missing checks"])


def check_against(catalog: Catalog, src: Any) -> list[str]:
    """Problems that only the data can show: rule and filter columns, campaign breakdown columns."""
    from cxlab.catalog.rules import compile_filter, evaluate_rules

    problems = []
    rules = [(kind, name, card.rule) for kind in ("triggers", "segments") for name, card in getattr(catalog, kind).items()]
    rules += [("hypotheses", h.id, h.population) for h in catalog.hypotheses.values() if h.population]
    for kind, name, text in rules:
        where = str(catalog.files.get((kind, name), catalog.path))
        try:
            evaluate_rules({"rule": text}, src, ["2000-01-01"], where={"rule": where})
        except RuleError as e:
            problems.append(str(e))
    for m in catalog.metrics.values():
        if not m.filter or not m.source or not src.has(m.source):
            continue
        table = src.table("holdings").join(src.table("products"), "product_id") if m.source == "holdings" else src.table("events")
        try:
            compile_filter(m.filter, table, f"{catalog.path / 'metrics.yml'}: metric '{m.name}'")
        except RuleError as e:
            problems.append(str(e))
    columns = set(src.table("clients").columns)
    present: set[str] = set()
    if src.has("communications"):
        comms = src.table("communications")
        present = set(src.con.execute(comms.select("campaign_id").distinct()).campaign_id)
    for c in catalog.campaigns.values():
        if not present & set(c.campaign_ids):  # a card for another data set
            continue
        where = str(catalog.files.get(("campaigns", c.name), catalog.path))
        for col in [*c.segments, *([c.covariate] if c.covariate else [])]:
            if col not in columns:
                problems.append(f"{where}: client column '{col}' is not in this data's clients table")
        if c.new_clients:
            try:
                compile_filter(c.new_clients, src.table("clients"), f"{where}: new_clients")
            except RuleError as e:
                problems.append(str(e))
    return problems
