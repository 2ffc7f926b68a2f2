"""Latin-script words left in a Russian report, outside what is written in Latin on purpose: codes (card
ids, metric and column codes, parameter names), data values, rules, and the method names and acronyms the
glossary explains."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

#: Names of methods, authors and tools, acronyms the glossary explains, and units written in Latin.
ALLOWED = frozenset({
    "CUPED", "SRM", "MDE", "DiD", "FPR", "Qini", "qini", "SMD", "KS", "AUC", "AIC", "ROI",
    "BLP", "ABC", "CLV", "CRM", "BG", "NBD", "Pareto", "Gamma", "P", "alive", "A", "B",
    "Welch", "Newcombe", "Wilson", "Holm", "Bonferroni", "Benjamini", "Hochberg", "Fader", "Hardie", "Lee", "Batislam", "Austin",
    "Künzel", "Chernozhukov", "Radcliffe", "Kolmogorov", "Smirnov", "Jaskowski", "Jaroszewicz", "Schmittlein", "UCI", "DuckDB", "Spark", "JupyterLab",
    "learner", "cuped", "plain", "trigger", "segment", "Bank", "Marketing", "Online", "Retail", "CDNOW", "Hillstrom",
    "MineThatData", "bgnbd", "mbgnbd", "alpha", "beta", "holm",
})
_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9_]*")
#: Library names written in Latin, taken out before the words are counted.
NAMES = ("scikit-uplift", "scikit-learn")


def visible_text(page: str) -> str:
    """What a reader sees of an HTML report: no head, style, script, the parameters table (names and values
    as given), the provenance foot (paths, versions) or code spans (a parameter, a column, a file as typed)."""
    page = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    page = re.sub(r'<table class="cx-table cx-parameters".*?</table>', " ", page, flags=re.DOTALL)
    page = re.sub(r"<footer.*?</footer>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.DOTALL)  # code spans: parameters, columns, files as typed
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def codes(catalog, data: Path) -> set[str]:
    """Words that are codes or data: every word of the cards' ids, names, rules, arms and campaign ids, of
    the data's column names and text values."""
    words: set[str] = set()

    def add(text: object) -> None:
        words.update(_WORD.findall(str(text)))

    for group in (catalog.metrics, catalog.triggers, catalog.segments, catalog.hypotheses, catalog.campaigns,
                  getattr(catalog, "policies", {})):
        for name, card in group.items():
            add(name)
            for field in ("rule", "filter", "target_line", "product_line", "trigger", "population", "channel",
                          "campaign_ids", "arms", "control_arm", "covariate", "segments", "score_column",
                          "competing_campaigns", "features", "new_clients", "owner"):
                value = getattr(card, field, None)
                if value:
                    add(value if not hasattr(value, "model_dump") else value.model_dump())
    from cxlab.runner.params import list_notebooks

    for nb in list_notebooks():  # parameter defaults as typed (a salt: demo-launch-1)
        add(" ".join(str(p.default) for p in nb.parameters.values()))
    for path in sorted(data.glob("*.parquet")):
        frame = pd.read_parquet(path)
        add(f"{path.stem} {' '.join(frame.columns)}")
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_datetime64_any_dtype(frame[col]):
                add(" ".join(map(str, frame[col].dropna().unique()[:1000])))
    return words


def latin_words(page: str, allowed: set[str], strip: tuple[str, ...] = ()) -> list[str]:
    """The Latin words of ``page``'s visible text that are neither in ``allowed`` nor in :data:`ALLOWED`
    (nor a code: a word with a digit or an underscore); the strings in ``strip`` (paths) removed first."""
    text = visible_text(page)
    for s in (*strip, *NAMES):
        text = text.replace(s, " ")
    text = re.sub(r"[\w.-]+=[\w.-]+", " ", text)  # a parameter as typed: write=true
    return [w for w in _WORD.findall(text)
            if w not in ALLOWED and w not in allowed and not re.search(r"[\d_]", w) and len(w) > 1]
