"""The sentences that say what ``holdings.value`` means per product line and in which currency
(from the data's ``cxlab.yml``, :mod:`cxlab.data.settings`), and which lines are not offered."""

from __future__ import annotations

from typing import Any

from cxlab.data.settings import DataSettings


def describe(rep: Any, settings: DataSettings, lines: list[str]) -> None:
    """Say what the values are (or that they are undeclared), warn about balances, name lines not offered."""
    if not settings.declared:
        rep.say("values.undeclared")
        return
    kinds = {line: settings.value_of(line) for line in lines}
    if len(set(kinds.values())) == 1:
        text = f"{rep.t('values.every_line')} — {rep.t('values.kind_' + next(iter(kinds.values())))}"
    else:
        text = "; ".join(f"{line} — {rep.t('values.kind_' + kind)}" for line, kind in kinds.items())
    currency = rep.t("values.currency", currency=settings.currency) if settings.currency else ""
    rep.say("values.declared", kinds=text, currency=currency)
    balances = [line for line, kind in kinds.items() if kind == "balance"]
    if balances:
        rep.banner(rep.t("values.balance", lines=", ".join(balances)), "warn")
    dropped = [line for line in settings.not_offered if line in lines]
    if dropped:
        rep.say("values.not_offered", lines=", ".join(dropped))
