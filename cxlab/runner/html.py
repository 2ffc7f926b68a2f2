"""Executed notebook → one self-contained HTML report: inputs hidden, figures embedded, no network
requests, a table of contents, the parameters at the top and the run's provenance at the foot."""

from __future__ import annotations

import html
import re
import threading
from importlib import resources
from typing import Any

import nbformat
from nbconvert import HTMLExporter

from cxlab.report import glossary, markup
from cxlab.report.context import RESULTS_MIMETYPE, jsonable
from cxlab.report.format import format_value
from cxlab.report.i18n import t

_HEADING = re.compile(r'<h([12])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_TAGS = re.compile(r"<[^>]+>")
_EXPORTERS = threading.local()


def take_results(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Remove the headline-results outputs from ``nb`` and return their merged payload."""
    results: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if RESULTS_MIMETYPE in data:
                results.update(data[RESULTS_MIMETYPE])
            else:
                kept.append(out)
        cell["outputs"] = kept
    return results


def _parameters_table(parameters: dict[str, Any], lang: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_show(v, lang))}</td></tr>" for k, v in parameters.items()
    )
    return (
        f'<table class="cx-table cx-parameters"><caption>{t("common.parameters", lang)}</caption>'
        f"<thead><tr><th>{t('common.parameter', lang)}</th><th>{t('common.value', lang)}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _show(value: Any, lang: str) -> str:
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        return format_value(value, "int" if isinstance(value, int) else "number", lang)
    return str(jsonable(value))


def _toc(body: str, lang: str) -> str:
    items = [
        f'<li><a href="#{html.escape(anchor, quote=True)}">{html.escape(html.unescape(_TAGS.sub("", text)).replace("¶", "").strip())}</a></li>'
        for level, anchor, text in _HEADING.findall(body)
        if level == "2"
    ]
    if not items:
        return ""
    return f'<nav class="cx-toc"><strong>{t("common.contents", lang)}</strong><ul>{"".join(items)}</ul></nav>'


def _exporter() -> HTMLExporter:
    """This thread's exporter: a new one compiles its Jinja templates again (about 0.2 s a report)."""
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        exporter = _EXPORTERS.html = HTMLExporter(
            template_name="cxlab",
            extra_template_basedirs=[str(resources.files("cxlab.report") / "templates")],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return exporter


def to_html(nb: nbformat.NotebookNode, parameters: dict[str, Any], provenance: dict[str, str], lang: str) -> str:
    """Render ``nb`` (already executed, results taken out) as the report's HTML text."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)  # widget state would pull the widget manager from a CDN
    css = (resources.files("cxlab.report") / "report.css").read_text(encoding="utf-8")
    body, _ = _exporter().from_notebook_node(nb, resources={"cxlab_css": css, "language_code": lang})
    body = re.sub(r'<html lang="[^"]*"', f'<html lang="{lang}"', glossary.add(body, lang), count=1)
    head = _toc(body, lang) + _parameters_table(parameters, lang)
    first_h1 = re.search(r"</h1>", body)
    if first_h1:
        body = body[: first_h1.end()] + head + body[first_h1.end() :]
    else:
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + head, body, count=1)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    if h1:  # the page title is the report's own heading, not nbconvert's "Notebook"
        title = html.unescape(_TAGS.sub("", h1.group(1))).replace("¶", "").strip()
        body = re.sub(r"<title>.*?</title>", lambda m: f"<title>{html.escape(title)} — cxlab</title>", body, count=1, flags=re.S)
    foot = f'<footer class="cx-provenance">{html.escape(t("common.provenance", lang, **provenance))}</footer>'
    return body.replace("</body>", foot + ui_words(lang) + markup.script_element() + "</body>", 1)


def ui_words(lang: str) -> str:
    """The words the report's script shows (sort, filter, fold), for it to read: hidden, empty."""
    words = " ".join(f'data-{name}="{html.escape(t(f"common.ui_{name}", lang), quote=True)}"'
                     for name in ("sort", "filter", "fold", "unfold"))
    return f'<div id="cx-ui" hidden {words}></div>'

