"""Hostile copies of the demo data and of the catalogue, for the escaping tests.

Every string value of every table and every string field of every card gets one of :data:`PAYLOADS`
appended by :func:`hostile` — deterministically, so a card that names a product line, an event type, a
campaign id, a channel, an arm or another card still finds it in the hostile data. Rules keep their
meaning: their string literals are rewritten the same way.
"""

from __future__ import annotations

import re
import shutil
import zlib
from pathlib import Path

import pandas as pd
import yaml

#: What an attacker would put in a card, a data value or a parameter. Each carries ``alert(N)`` so a test
#: can tell that it reached the page (as text).
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    '"><svg onload=alert(3)>',
    "[x](javascript:alert(4))",
    '<a href="javascript:alert(5)">y</a>',
    "`<iframe src=javascript:alert(6)>`",
    "**<b>7</b>** &lt;script&gt;alert(7)&lt;/script&gt;",
    "{0} {name} $alert(8)$ %s",
    "' OR 1=1 -- <details open ontoggle=alert(9)>",
    "<math><mi xlink:href=javascript:alert(10)>z</mi></math>",
)
#: The payload a folder name can carry (no "/").
PATH_PAYLOAD = PAYLOADS[1]

#: Card fields left as they are, and why.
UNCHANGED = {
    "segments": "a campaign's breakdowns are client column names (the columns are not renamed)",
    "score_column": "a client column name",
    "covariate": "a client column name",
    "columns": "features.columns: client column names a model reads",
    "competing_campaigns": "LIKE patterns keep theirs; a hostile pattern is added beside them",
}


def hostile(value: str) -> str:
    """``value`` with a payload appended (always the same one for the same value)."""
    return value + PAYLOADS[zlib.crc32(value.encode()) % len(PAYLOADS)]


def _rule(text: str) -> str:
    """A rule with its string literals made hostile (quotes doubled, as SQL escapes them)."""
    def swap(m: re.Match) -> str:
        return "'" + hostile(m.group(1).replace("''", "'")).replace("'", "''") + "'"

    return re.sub(r"'((?:[^']|'')*)'", swap, text)


_RULES = {"rule", "filter", "population", "new_clients", "pool"}
_CLOSED = {"type", "source", "aggregate", "direction", "role", "status", "sign", "unit", "control", "learner"}


def _card(node, key: str | None = None):
    if isinstance(node, dict):
        if key == "arms":
            return {hostile(k): v for k, v in node.items()}
        if key == "expressions":  # features: rule-language expressions, their literals made hostile
            return {k: _rule(v) for k, v in node.items()}
        return {k: _card(v, k) for k, v in node.items()}
    if key in UNCHANGED:
        if key == "competing_campaigns":
            return [*node, PAYLOADS[0] + "%"]
        return node
    if isinstance(node, list):
        return [_card(v, key) for v in node]
    if isinstance(node, str):
        if key in _CLOSED:
            return node
        return _rule(node) if key in _RULES else hostile(node)
    return node


#: Free-text fields a card may leave out: filled in, so that every field of every card is hostile.
_FILL = {"description", "owner", "counts", "excludes", "label_ru", "description_ru"}


def _fill(card: dict, model) -> dict:
    for name in model.model_fields:
        if name in _FILL and not card.get(name):
            card[name] = hostile(f"{name} of {card.get('name') or card.get('id')}")
    if "communication_check" in model.model_fields:
        check = card.setdefault("communication_check", {})
        for name in type(model.model_fields["communication_check"].default).model_fields:
            check[name] = check.get(name) or hostile(f"{name} answer")
        card["risks"] = card.get("risks") or [hostile("a risk")]
    return card


def hostile_catalog(src: Path, out: Path) -> Path:
    """A copy of the catalogue folder ``src`` in ``out`` with every card made hostile."""
    from cxlab.catalog.cards import Metric
    from cxlab.catalog.load import KINDS

    for path in sorted(src.rglob("*.yml")):
        target = out / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.parent.name not in KINDS and path.name != "metrics.yml":
            # contact policies (06's arbitration) name campaigns and rules of other cards: copied as written
            target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
            continue
        if path.name == "metrics.yml":
            data["metrics"] = [_fill(m, Metric) for m in data["metrics"]]
        else:
            data = _fill(data, KINDS[path.parent.name])
        for planned in data.get("campaigns") or []:  # a policy's planned arms: the default control arm named,
            if planned.get("arms") and "control_arm" not in planned:  # so it is made hostile with the arms
                planned["control_arm"] = "control"
        data = _card(data)
        if path.name == "metrics.yml":
            for m in data["metrics"]:
                if m.get("filter") and "alert(" not in m["filter"]:  # a filter without a literal gets a true one
                    m["filter"] += f" AND {'product_line' if m['source'] == 'holdings' else 'event_type'} <> '{PAYLOADS[0]}'"
        elif data.get("rule") and "alert(" not in data["rule"]:
            data["rule"] += f" AND NOT holds('{PAYLOADS[0]}')"
        target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


_KEEP = {("communications", "group")}  # a closed vocabulary in the contract: treatment / control


def hostile_data(src: Path, out: Path) -> Path:
    """A copy of the data folder ``src`` (one parquet file per table) with every string value made hostile."""
    out.mkdir(parents=True)
    for path in sorted(src.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for col in frame.columns:
            if (path.stem, col) in _KEEP or not (pd.api.types.is_string_dtype(frame[col]) or frame[col].dtype == object):
                continue
            frame[col] = frame[col].map(lambda v: hostile(v) if isinstance(v, str) else v)
        frame.to_parquet(out / path.name, index=False)
    for path in src.iterdir():
        if path.suffix != ".parquet" and path.is_file():
            shutil.copy(path, out / path.name)
    return out
