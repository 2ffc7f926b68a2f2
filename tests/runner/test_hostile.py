"""Hostile strings everywhere a report takes text from — every card field, every string column of every
table, every string parameter, the data and catalogue paths — reach the HTML as text, never as markup.

The pages of the shared tiny run (``tests/tiny.py``: one run of every notebook on a small demo that is
hostile and small-celled at once) are parsed and searched for any element or attribute that could run code
or fetch something. The same pages open in headless Chromium in ``test_browser.py``.
"""

from __future__ import annotations

import json
import re
import typing
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from cxlab.catalog import load_catalog
from cxlab.report import markup
from cxlab.runner.index import write_index
from tests.runner.hostile import PAYLOADS, UNCHANGED

#: the modules reading the shared tiny run share a worker, so no other worker waits while it is built
pytestmark = pytest.mark.xdist_group("tiny_run")

MARKERS = [f"alert({i})" for i in range(1, len(PAYLOADS) + 1)]


@pytest.fixture(scope="module")
def hostile_run(tiny_run):
    """(data folder, catalogue folder) of the shared hostile run of every notebook."""
    return tiny_run.data, tiny_run.catalog


class _Elements(HTMLParser):
    """Every element and attribute of a page, and its visible text (an independent check of the tripwire)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._skip += tag == "style"

    def handle_endtag(self, tag):
        self._skip -= tag == "style"

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


LIVE_TAGS = {"script", "svg", "math", "iframe", "frame", "object", "embed", "details", "form", "base", "link", "b"}


RUN_LINK = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*/\d\d-[a-z0-9-]+(\.failed)?\.(html|ipynb)")


def live_markup(page: str) -> list[str]:
    """Elements or attributes of ``page`` that a payload would have created had it been markup."""
    p = _Elements()
    p.feed(page.replace(markup.script_element(), "", 1))  # cxlab's own script (sorting, folding) is not a payload
    # cxlab's own folding (Report.details) is a <details> with exactly class="cx-details"; the payload's has none
    found = [f"<{tag}>" for tag, attrs in p.tags if tag in LIVE_TAGS and not (tag == "details" and attrs == {"class": "cx-details"})]
    for tag, attrs in p.tags:
        for name, value in attrs.items():
            v = value.strip().lower()
            if name.startswith("on") or name == "xlink:href" or v.startswith(("javascript:", "vbscript:")):
                found.append(f"<{tag} {name}={value[:40]!r}>")
            if tag == "img" and not v.startswith("data:image/png;base64,") and name == "src":
                found.append(f"<img src={value[:40]!r}>")
            if tag == "a" and name == "href" and value and not (value.startswith("#") or RUN_LINK.fullmatch(value)):
                found.append(f"<a href={value[:40]!r}>")  # in-page anchors, and the index's links to run files
    return found


def visible_text(page: str) -> str:
    p = _Elements()
    p.feed(page)
    return "".join(p.text)


def _closed(annotation) -> bool:
    """A closed vocabulary: ``Literal[...]``, alone or ``| None``."""
    return typing.get_origin(annotation) is typing.Literal or any(
        typing.get_origin(a) is typing.Literal for a in typing.get_args(annotation))


def test_every_card_field_carries_a_payload(hostile_run):
    """The hostile catalogue is complete: every string a card holds (walked through the pydantic models)
    carries a payload, except the fields listed in UNCHANGED and closed vocabularies (Literal types)."""
    _, catalog = hostile_run
    cat = load_catalog(catalog)
    seen: list[str] = []

    def walk(model: BaseModel, where: str) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if name in UNCHANGED or _closed(info.annotation):
                continue
            # a dict's keys are names (arms, feature names): its values are what the report shows as text
            strings = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(
                value, list) else [v for v in value.values() if isinstance(v, str)] or list(value) if isinstance(value, dict) else []
            for s in strings:
                if name in ("rule", "filter", "population", "new_clients", "expressions", "pool") and "'" not in s:
                    continue  # a rule with no string literal (hillstrom's "newbie = 1"): nothing to carry text
                seen.append(f"{where}.{name}")
                assert any(m in s for m in MARKERS), f"{where}.{name} = {s!r} carries no payload"
            if isinstance(value, BaseModel):
                walk(value, f"{where}.{name}")

    for kind in ("metrics", "triggers", "hypotheses", "segments", "campaigns"):
        for card_name, card in getattr(cat, kind).items():
            walk(card, f"{kind}[{card_name[:20]}]")
    assert len(set(seen)) > 40, sorted(set(seen))


def test_every_string_column_carries_a_payload(hostile_run):
    data, _ = hostile_run
    columns = 0
    for path in sorted(data.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for col in frame.columns:
            if pd.api.types.is_string_dtype(frame[col]) and (path.stem, col) != ("communications", "group"):
                columns += 1
                assert frame[col].dropna().map(lambda v: any(m in v for m in MARKERS)).all(), (path.name, col)
    assert columns >= 10


def test_no_payload_becomes_markup_in_any_report_or_the_index(tiny_run):
    pages = tiny_run.pages() + [tiny_run.reports / "index.html"]
    assert len(pages) == len(list(Path("notebooks").glob("[0-9][0-9]-*.ipynb"))) + 1  # every report and the index
    reached = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not live_markup(text), (page.name, live_markup(text)[:5])
        shown = visible_text(text)
        here = {m for m in MARKERS if m in shown}
        assert here, f"{page.name}: no payload reached the page, so the test proves nothing there"
        reached |= here
    assert reached == set(MARKERS), set(MARKERS) - reached  # every payload was shown somewhere, as text


def test_payloads_are_shown_as_written(tiny_run):
    """Escaped once, not twice, and not interpreted as Markdown: the reader sees the card's text."""
    shown = visible_text(tiny_run.file("01-hypothesis.html").read_text(encoding="utf-8"))
    assert "Card offer to salary clients without a card<script>alert(1)</script>" in shown \
        or any(f"without a card{p}" in shown for p in PAYLOADS)
    assert "&lt;" not in shown.replace("&lt;script&gt;alert(7)&lt;/script&gt;", "")  # no double escaping


def test_the_index_links_only_validated_names(tmp_path):
    """Manifests are files anyone can edit: the index links a run only through a safe id and file name."""
    for i, (run_id, target) in enumerate([("javascript:alert(1)//", "x.html"), ("ok", "javascript:alert(2)"),
                                          ('"><svg onload=alert(3)>', "00-data-overview.html"),
                                          ("good", "00-data-overview.html")]):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({
            "run_id": run_id, "started_at": f"2026-01-0{i + 1}<script>alert(4)</script>", "status": "<b>ok</b>",
            "data": {"source": "<img src=x onerror=alert(5)>"},
            "notebooks": [{"name": "<script>alert(6)</script>", "status": "ok", "html": target}]}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_bytes(b"\xff\xfe not json")
    page = write_index(tmp_path).read_text(encoding="utf-8")
    assert not live_markup(page), live_markup(page)
    assert page.count("<a ") == 1 and 'href="good/00-data-overview.html"' in page
    assert all(f"alert({i})" in visible_text(page) for i in (1, 3, 4, 5, 6))


@pytest.mark.parametrize("run_id", ["../up", ".hidden", "a/b", "a\\b", "javascript:alert(1)", '"><svg onload=1>',
                                    "x" * 101, "", "sp ace", "é", "a\nb"])
def test_an_unsafe_run_id_is_refused_before_anything_is_written(run_id, small_demo, tmp_path, capsys):
    from cxlab.cli import main

    assert main(["run", "00", "--data", str(small_demo), "--out", str(tmp_path / "r"), "--run-id", run_id, "--quiet"]) == 2
    assert "--run-id" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("run_id", ["2026-01-01", "a.b_c-d", "x" * 100, "_x", "-x"])
def test_safe_run_ids_are_accepted(run_id):
    from cxlab.runner.execute import check_run_id

    check_run_id(run_id)


def test_report_values_are_text_and_card_markdown_cannot_run():
    """The boundary itself: values in messages are text; Markdown from a card renders without HTML,
    images or unsafe links."""
    for payload in PAYLOADS:
        for page in (markup.markdown("**Rule:** `{rule}` → {line}", {"rule": payload, "line": payload}),
                     markup.inline("Trigger: {t}", {"t": payload}), markup.markdown(payload),
                     markup.markdown(markup.escape_md(payload)), markup.markdown(f"- {payload}\n- [a]({payload})")):
            assert not markup.active_content(page) and not live_markup(page), (payload, page)
    assert markup.markdown("x {v}", {"v": "[x](javascript:alert(1))"}) == "<p>x [x](javascript:alert(1))</p>\n"
    assert "<a" not in markup.markdown("[x](javascript:alert(1)) [y](data:text/html,1) [z](file:///etc/passwd)")
    assert markup.markdown("![i](http://example.com/t.png)").count("<img") == 0  # no request from a report
    assert markup.markdown("{v}", {"v": "\ue0000\ue001"}) == "<p>0</p>\n"  # a forged token is only text
    assert markup.active_content('<p style="background:url(http://x)">') and markup.active_content("<svg>")


def test_only_cxlab_s_own_script_passes_the_tripwire():
    """The report's script passes once, byte for byte; any other script, a changed copy, a second copy, one
    with attributes or one left open is caught."""
    own = markup.script_element()
    assert markup.active_content(f"<html><body><p>x</p>{own}</body></html>") == []
    for page in (own.replace("use strict", "use  strict"), own + own, own.replace("<script>", '<script src="x.js">'),
                 own.replace("<script>", '<script type="module">'), "<script>alert(1)</script>", "<script>",
                 own.replace("</script>", "") , f"<p>{own.replace('<script>', '<SCRIPT>')}</p><script>alert(1)</script>"):
        assert "element <script>" in " ".join(markup.active_content(page)), page[:80]
