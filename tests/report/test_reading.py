"""Reports a manager can read: Russian cards and messages, the glossary, localised figure numbers."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from cxlab.catalog import load_catalog
from cxlab.report import glossary, markup
from cxlab.report.format import format_value, localise_numbers
from cxlab.report.i18n import catalogue
from tests.report.latin import latin_words

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[2]


def test_an_english_word_in_a_russian_page_is_found():
    """The check the Russian end-to-end test relies on fails on one English header left in a table."""
    page = "<html><body><table><thead><tr><th>Клиентов</th><th>{}</th></tr></thead></table><p>CUPED, {}</p></body></html>"
    assert latin_words(page.format("Клиенты", "`cc_conversion`"), set()) == []
    assert latin_words(page.format("Holdout error", "ветка email"), {"email"}) == ["Holdout", "error"]


def test_every_russian_column_label_and_glossary_entry_is_russian():
    ru = catalogue("ru")
    for key, text in ru.items():
        if key.startswith("columns.") or (key.startswith("glossary.") and not key.endswith(".match")):
            assert latin_words(f"<p>{text}</p>", set()) == [], (key, text)


def test_cards_give_their_russian_variant_and_old_cards_stay_valid():
    cat = load_catalog(ROOT / "catalog")
    h = cat.hypotheses["cc_salary"]
    assert h.in_lang("title", "ru").startswith("Предложение карты") and h.in_lang("title", "en") == h.title
    assert h.in_lang("risks", "ru")[0].startswith("Закредитованность")
    assert h.communication_check.in_lang("why", "ru").startswith("Регулярная")
    assert cat.metrics["cc_conversion"].in_lang("excludes", "ru").startswith("карты")
    inflow = cat.hypotheses["inflow_deposit"]  # a card without variants reads as written in every language
    assert inflow.in_lang("title", "ru") == inflow.title
    assert set(cat.triggers["salary_no_card"].model_dump()) >= {"title_ru", "description_ru"}


def test_glossary_links_the_first_use_only_outside_headings_and_tables():
    body = ("<html><head><title>MDE</title><style>p{}</style></head><body><h2>CUPED and MDE</h2>"
            "<table><tr><td>CUPED</td></tr></table><p>With CUPED the MDE falls; CUPED again.</p>"
            "<p>The &lt;b&gt;MDE&lt;/b&gt; stays.</p></body></html>")
    page = glossary.add(body, "en")
    assert page.count('href="#cx-term-cuped"') == 1 and page.count('href="#cx-term-mde"') == 1
    assert '<p>With <a class="cx-term" href="#cx-term-cuped">CUPED</a> the <a class="cx-term" href="#cx-term-mde">MDE</a>' in page
    assert '<h2>CUPED and MDE</h2>' in page and "<td>CUPED</td>" in page and "<title>MDE</title>" in page
    assert max(page.index('id="cx-term-cuped"'), page.index('id="cx-term-mde"')) < page.index('id="cx-term-qini"')  # used first
    assert markup.active_content(page) == []
    plain = glossary.add("<html><body><p>nothing</p></body></html>", "en")
    assert 'class="cx-term"' not in plain and plain.count("<dt ") == len(glossary.terms("en"))  # every report has it
    ru = glossary.add("<html><body><p>Аплифт и 95% ДИ.</p></body></html>", "ru")
    assert 'href="#cx-term-uplift">Аплифт</a>' in ru and 'href="#cx-term-ci">ДИ</a>' in ru and "Глоссарий" in ru


def test_glossary_has_the_same_terms_in_both_languages_and_each_matches_its_own_name():
    assert glossary.terms("en") == glossary.terms("ru")
    assert {"mde", "cuped", "rho2", "qini", "fpr", "srm", "did", "uplift", "lift", "ci", "p_value", "holdout",
            "global_control", "p_alive", "clv", "bgnbd"} <= set(glossary.terms("en"))
    for lang in ("en", "ru"):
        for key in glossary.terms(lang):
            term = catalogue(lang)[f"glossary.{key}.term"].split(" (")[0]
            assert markup.term_pattern(catalogue(lang)[f"glossary.{key}.match"]).search(term), (lang, key, term)


@pytest.mark.parametrize(("text", "ru"), [("1,250.5", "1\u00a0250,5"), ("12.5%", "12,5%"), ("−0.25", "−0,25"),
                                          ("+1.2 п.п.", "+1,2 п.п."), ("2025-04", "2025-04"), ("v", "v")])
def test_tick_labels_read_like_the_text(text, ru):
    assert localise_numbers(text, "ru") == ru and localise_numbers(text, "en") == text
    assert localise_numbers("1,234.5", "ru") == format_value(1234.5, "number", "ru", 1)


def test_figures_in_russian_have_decimal_commas():
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from cxlab.report import figures

    fig, ax = plt.subplots()
    ax.plot([0, 1.5], [0, 0.125])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.text(0.5, 0.05, "12.5% of 1,234")
    figures.localise(fig, "ru")
    fig.canvas.draw()
    assert "0,4" in [t.get_text() for t in ax.get_xticklabels()]
    assert "2,0%" in [t.get_text() for t in ax.get_yticklabels()] and ax.texts[0].get_text() == "12,5% of 1\u00a0234"
    plt.close(fig)


@pytest.mark.slow
def test_every_russian_report_is_in_russian(small_demo, tmp_path):
    """All ten reports with ``--lang ru`` on the small demo: no Latin word left outside codes, data values,
    card ids and the names :data:`tests.report.latin.ALLOWED` lists; each has the glossary and the script."""
    from cxlab.runner import run
    from tests.report.latin import codes

    result = run([], data=small_demo, out=tmp_path, run_id="ru", progress=False, lang="ru",
                 params={"model_sample": "3000"})
    assert result.ok, [(nb.name, nb.error) for nb in result.notebooks]
    import json

    allowed = codes(load_catalog(ROOT / "catalog"), small_demo)
    manifest = json.loads((tmp_path / "ru" / "manifest.json").read_text(encoding="utf-8"))
    given = {str(v) for nb in manifest["notebooks"] for v in nb.get("parameters", {}).values()
             if len(str(v)) > 2 and any(c.isalpha() for c in str(v))}  # parameter values as given (a salt)
    pages = sorted((tmp_path / "ru").glob("*.html"))
    assert len(pages) == len(list((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")))
    left = {}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert '<html lang="ru"' in text and 'id="cx-glossary"' in text and markup.script_element() in text, page.name
        words = latin_words(text, allowed, (str(small_demo), *sorted(given, key=len, reverse=True)))
        if words:
            left[page.name] = sorted(set(words))
    assert not left, left
