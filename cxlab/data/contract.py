"""The canonical data contract: the tables cxlab reads, their columns, keys and links.

One declaration serves validation, the README's schema section and the adapters. Extra columns are
allowed everywhere (rules may use them); the ones listed here are the ones cxlab relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Column kinds. ``id`` accepts integers or strings; ``timestamp`` accepts dates or timestamps.
KINDS = ("id", "string", "integer", "number", "boolean", "timestamp")

#: The allowed values of ``communications.group``.
GROUPS = ("treatment", "control")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    kind: str
    doc: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, key, foreign keys and ordered date pairs."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    ordered: tuple[tuple[str, str], ...] = ()  # (earlier, later): later must be >= earlier when both set

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


CLIENTS = Table(
    "clients",
    "One row per client (a person or a company): the unit every metric counts.",
    (
        Column("client_id", "id", "Client identifier; unique."),
        Column("joined_at", "timestamp", "When the client joined.", required=False, nullable=True),
        Column(
            "global_control",
            "boolean",
            "True for clients held out of all campaigns (the global control group).",
            required=False,
        ),
    ),
    key=("client_id",),
)

PRODUCTS = Table(
    "products",
    "One row per product; products group into product lines (the unit of white space).",
    (
        Column("product_id", "id", "Product identifier; unique."),
        Column("product_line", "string", "The product line the product belongs to."),
        Column("name", "string", "Human-readable product name.", required=False, nullable=True),
    ),
    key=("product_id",),
)

HOLDINGS = Table(
    "holdings",
    "One row per contract: a client holding a product from opened_at until closed_at (open if null).",
    (
        Column("client_id", "id", "The client holding the product."),
        Column("product_id", "id", "The product held."),
        Column("opened_at", "timestamp", "When the contract was opened (a purchase is a contract)."),
        Column("closed_at", "timestamp", "When it was closed; null while open.", required=False, nullable=True),
        Column("value", "number", "Contract value (revenue, balance or amount).", required=False, nullable=True),
    ),
    foreign_keys={"client_id": ("clients", "client_id"), "product_id": ("products", "product_id")},
    ordered=(("opened_at", "closed_at"),),
)

EVENTS = Table(
    "events",
    "Behaviour over time: one row per client action or observation (payment, login, complaint…).",
    (
        Column("client_id", "id", "The client."),
        Column("event_type", "string", "What happened (free vocabulary, e.g. salary_deposit, login)."),
        Column("ts", "timestamp", "When it happened."),
        Column("value", "number", "Amount, where the event has one.", required=False, nullable=True),
    ),
    foreign_keys={"client_id": ("clients", "client_id")},
)

COMMUNICATIONS = Table(
    "communications",
    "One row per communication sent (or withheld, for control) in a campaign.",
    (
        Column("client_id", "id", "The client contacted (or held out)."),
        Column("campaign_id", "string", "The campaign."),
        Column("channel", "string", "Channel (email, sms, push, call…)."),
        Column("sent_at", "timestamp", "When it was sent (for control: when it would have been)."),
        Column("group", "string", "Randomised group.", allowed=GROUPS),
        Column("arm", "string", "Variant within treatment (defaults to group).", required=False, nullable=True),
        Column("score", "number", "A model's uplift/propensity score, for qini curves.", required=False, nullable=True),
    ),
    required=False,
    foreign_keys={"client_id": ("clients", "client_id")},
)

CONSENTS = Table(
    "consents",
    "Contact policy: whether a client may be contacted on a channel.",
    (
        Column("client_id", "id", "The client."),
        Column("channel", "string", "Channel."),
        Column("opted_in", "boolean", "True when the client agreed to be contacted on the channel."),
    ),
    required=False,
    key=("client_id", "channel"),
    foreign_keys={"client_id": ("clients", "client_id")},
)

TABLES: dict[str, Table] = {t.name: t for t in (CLIENTS, PRODUCTS, HOLDINGS, EVENTS, COMMUNICATIONS, CONSENTS)}


def schema_markdown() -> str:
    """The contract as Markdown tables (the README's schema section is generated from this)."""
    lines: list[str] = []
    for t in TABLES.values():
        need = "required" if t.required else "optional"
        lines += [f"### `{t.name}` ({need})", "", t.doc, ""]
        if t.key:
            lines += [f"Key: `{', '.join(t.key)}`.", ""]
        lines += ["| column | type | required | meaning |", "|---|---|---|---|"]
        for c in t.columns:
            allowed = f" One of: {', '.join(c.allowed)}." if c.allowed else ""
            fk = t.foreign_keys.get(c.name)
            ref = f" References `{fk[0]}.{fk[1]}`." if fk else ""
            req = "yes" if c.required else "no"
            lines.append(f"| `{c.name}` | {c.kind}{', nullable' if c.nullable else ''} | {req} | {c.doc}{allowed}{ref} |")
        lines.append("")
    return "\n".join(lines)
