"""The sentence that says which card a report uses and how to choose another (see cxlab.catalog.choose)."""

from __future__ import annotations

from typing import Any

from cxlab.catalog.choose import Choice


def sentence(pick: Choice, lang: str = "en") -> str:
    """The choice in words: the card, the rule that chose it, the other candidates and the parameter."""
    from cxlab.report.i18n import t

    others = t("choice.others", lang, names=", ".join(pick.others)) if pick.others else ""
    return t(f"choice.{pick.how}", lang, kind=t(f"choice.kind_{pick.kind}", lang), name=pick.name,
             parameter=pick.parameter, rule=t(f"choice.rule_{pick.kind}", lang), others=others)


def announce(rep: Any, pick: Choice) -> None:
    """Say the choice in the report (the card's name is already among each report's results)."""
    rep.md(sentence(pick, rep.lang))
