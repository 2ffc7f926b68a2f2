"""The public API: one call per step of the analyst's loop, each returning a typed result that shows
itself in JupyterLab and offers ``facts()``.

>>> import cxlab
>>> src = cxlab.open("data/demo")                      # doctest: +SKIP
>>> cxlab.retro(src, "cc_spring_2025")                  # doctest: +SKIP

``catalog`` is a folder of cards or a loaded :class:`~cxlab.catalog.load.Catalog`; by default the
project's ``catalog/``. Heavy modules are imported on first call, so ``import cxlab`` stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cxlab.analyses.aa import AAResult
    from cxlab.analyses.client_base import ClientBase
    from cxlab.analyses.client_value import ClientValue
    from cxlab.analyses.global_control import GlobalControlResult
    from cxlab.analyses.hypothesis import Plan
    from cxlab.analyses.launch import Audience, Launch
    from cxlab.analyses.overview import Overview
    from cxlab.analyses.retro import Retro
    from cxlab.analyses.segments import SegmentSizing
    from cxlab.analyses.triggers import Backtest
    from cxlab.analyses.uplift import Uplift
    from cxlab.catalog.load import Catalog
    from cxlab.data.connect import Source


def open(source: str | Path) -> Source:  # noqa: A001 — cxlab.open reads like the builtin on purpose
    """Open a data source: a folder of parquet/csv files, a ``.duckdb`` file, ``spark:PATH`` or an Ibis
    URL (``postgres://…``); relative paths resolve from the project root."""
    from cxlab.data.connect import connect
    from cxlab.paths import resolve_source
    return connect(resolve_source(source))


def load_catalog(path: str | Path | Catalog | None = None) -> Catalog:
    """The catalogue of cards at ``path`` (default: the project's ``catalog/``), loaded and checked."""
    from cxlab.catalog.load import Catalog
    from cxlab.catalog.load import load_catalog as load
    from cxlab.paths import resolve
    if isinstance(path, Catalog):
        return path
    return load(resolve(path or "catalog"))


def overview(src: Source, as_of: date | None = None) -> Overview:
    """00 — what the data holds and whether it keeps the contract (:func:`cxlab.analyses.overview.overview`)."""
    from cxlab.analyses.overview import overview as run
    return run(src, as_of)


def plan(src: Source, hypothesis: str, catalog: str | Path | Catalog | None = None, months_of_history: int = 6) -> Plan:
    """01 — baseline, sample size, duration and the other metrics' MDE of a hypothesis card
    (:func:`cxlab.analyses.hypothesis.plan`)."""
    from cxlab.analyses.hypothesis import plan as run
    return run(src, _catalog(catalog), hypothesis, months_of_history)


def backtest(src: Source, trigger: str, catalog: str | Path | Catalog | None = None, **options) -> Backtest:
    """02 — a trigger card on history: lift with intervals, month by month, against a model
    (:func:`cxlab.analyses.triggers.backtest`; ``options`` are its keyword arguments)."""
    from cxlab.analyses.triggers import backtest as run
    return run(src, _catalog(catalog), trigger, **options)


def segments(src: Source, names: Sequence[str] = (), catalog: str | Path | Catalog | None = None, **options) -> SegmentSizing:
    """03 — segment cards sized at a snapshot: assignment, overlaps, reach, base rates, plan
    (:func:`cxlab.analyses.segments.sizing`; ``options`` are its keyword arguments)."""
    from cxlab.analyses.segments import sizing
    return sizing(src, _catalog(catalog), names, **options)


def retro(src: Source, campaign: str, catalog: str | Path | Catalog | None = None, **options) -> Retro:
    """04 — a campaign card's retrospective: per-person uplift with intervals, SRM, CUPED, DiD, guardrails,
    the best arms head to head, in typed parts (:func:`cxlab.analyses.retro.analyse`; ``options`` are its
    keyword arguments)."""
    from cxlab.analyses.retro import analyse
    return analyse(src, _catalog(catalog), campaign, **options)


def aa(src: Source, campaign: str, catalog: str | Path | Catalog | None = None, runs: int = 1000, **options) -> AAResult:
    """The A/A check of 04's pipeline on a campaign's people (:func:`cxlab.analyses.aa.aa`)."""
    from cxlab.analyses.aa import aa as run
    return run(src, _catalog(catalog), campaign, runs=runs, progress=False, **options)


def client_base(src: Source, **options) -> ClientBase:
    """05 — the shape of the base: concentration, ABC, funnel, flows, white space, next line
    (:func:`cxlab.analyses.client_base.client_base`; ``options`` are its keyword arguments)."""
    from cxlab.analyses.client_base import client_base as run
    return run(src, **options)


def audience(src: Source, campaign: str, catalog: str | Path | Catalog | None = None, **options) -> Audience:
    """06 — the audience of a campaign (trigger, segment or look-alikes) after the reach waterfall, split into
    arms by a salt, with its SRM and balance checks; nothing written (:func:`cxlab.analyses.launch.audience`)."""
    from cxlab.analyses.launch import audience as run
    return run(src, _catalog(catalog), campaign, **options)


def launch(src: Source, campaign: str, out: str | Path = "audiences", catalog: str | Path | Catalog | None = None,
           **options) -> Launch:
    """06 — launch a campaign: its audience files and the pre-registered campaign card, written atomically
    after sign-off (:func:`cxlab.analyses.launch.launch`)."""
    from cxlab.analyses.launch import launch as run
    return run(src, _catalog(catalog), campaign, out=out, **options)


def uplift(src: Source, campaign: str, catalog: str | Path | Catalog | None = None, **options) -> Uplift:
    """07 — uplift models learned from a randomised campaign: who responds because of the contact, whom
    not to contact (:func:`cxlab.analyses.uplift.analyse`)."""
    from cxlab.analyses.uplift import analyse
    return analyse(src, _catalog(catalog), campaign, **options)


def client_value(src: Source, **options) -> ClientValue:
    """08 — who is still a client and what each is worth: BG/NBD, Pareto/NBD and Gamma-Gamma fitted on the
    engine's RFM summary (:func:`cxlab.analyses.client_value.client_value`)."""
    from cxlab.analyses.client_value import client_value as run
    return run(src, **options)


def global_control(src: Source, **options) -> GlobalControlResult:
    """09 — what all communications together add against the global control group; leakage, size, drift
    (:func:`cxlab.analyses.global_control.global_control`)."""
    from cxlab.analyses.global_control import global_control as run
    return run(src, **options)


def _catalog(c: str | Path | Catalog | None) -> Catalog:
    return load_catalog(c)
