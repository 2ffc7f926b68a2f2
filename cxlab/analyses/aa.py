"""A/A validation of the whole retrospective pipeline on history.

The campaign's people are re-randomised into fake arms (with the planned control share) ``runs`` times;
each fake split goes through the same engine sums and the same tests as the 04 report. With no real
difference between fake arms, p-values should be uniform and about α of them significant. A higher rate
means the pipeline is broken: a wrong unit of analysis, a leaky window, a mis-specified variance.
All fake splits of a metric are computed in one grouped query.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats as sps
from tqdm.auto import tqdm

from cxlab import stats as cs
from cxlab.analyses.result import Result
from cxlab.catalog.cards import Campaign, Metric
from cxlab.catalog.load import Catalog
from cxlab.compute import retro
from cxlab.data.connect import Source
from cxlab.errors import ParameterError
from cxlab.metrics import kind


@dataclass
class AAResult(Result):
    """Per metric: the false-positive rate with its binomial interval, and the p-values' uniformity."""

    title: ClassVar[str] = "A/A check"

    campaign: str
    runs: int
    alpha: float
    table: pd.DataFrame
    pvalues: dict[str, np.ndarray]


def status(low: float, high: float, alpha: float) -> str:
    """``inflated`` when the false-positive rate is surely above α (the pipeline or the test is wrong for
    this data), ``conservative`` when surely below (usual for rare events: little power), else ``ok``."""
    return "inflated" if low > alpha else "conservative" if high < alpha else "ok"


def _by_run(sums: pd.DataFrame) -> dict[int, dict[str, dict[str, Any]]]:
    """The rows of ``sums`` (run, fake, sums…) as plain dicts, by run and fake arm (a pandas lookup per
    split cost more than the tests)."""
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    for row in sums.to_dict("records"):
        runs.setdefault(int(row["run"]), {})[str(row["fake"])] = row
    return runs


def aa(src: Source, catalog: Catalog, campaign_name: str, runs: int = 1000, alpha: float = 0.05, seed: int = 1,
       progress: bool = True, exclude_competing: bool = False) -> AAResult:
    """Run ``runs`` A/A splits for every metric of the campaign card, with the 04 report's people and
    per-person values (winsorisation included); quantile metrics are skipped (a bootstrap per split)."""
    if runs < 20:
        raise ParameterError(f"--runs must be at least 20 for a false-positive rate to mean anything, got {runs}")
    campaign = catalog.get("campaigns", campaign_name)
    metrics = catalog.metrics_for(campaign.metrics.names)
    people = retro.persons(src, campaign, retro.people(src, campaign, exclude_competing), metrics)
    return aa_on(src, campaign, people, metrics, runs, alpha, seed, progress)


def aa_on(src: Source, campaign: Campaign, people: retro.Persons, metrics: Mapping[str, Metric], runs: int,
          alpha: float, seed: int, progress: bool) -> AAResult:
    """:func:`aa` on the per-person table the 04 report has already built (``people``, of ``metrics``)."""
    names = campaign.metrics.names
    share = campaign.arms[campaign.control_arm]
    tested = [retro.values(src, people, metrics[n]) for n in names if kind(metrics[n]).on_sums]
    all_sums = retro.fake_split_sums(src, tested, runs, share, seed)
    rows: list[dict[str, Any]] = []
    pvalues: dict[str, np.ndarray] = {}
    for name in tqdm(list(all_sums), desc="A/A tests", disable=not progress):
        sums, test = all_sums[name], kind(metrics[name]).test
        found: list[float | None] = []
        for arms in _by_run(sums).values():
            if {"control", "treatment"} - arms.keys():
                continue
            try:
                found.append(test(arms["treatment"], arms["control"], alpha).p_value)
            except ValueError:  # no variation in this split
                continue
        p = np.array(found, dtype=float)
        pvalues[name] = p
        k = int((p < alpha).sum())
        rate = cs.proportion_ci(cs.ProportionStats(len(p), k), alpha=alpha)
        ks = sps.kstest(p, "uniform").pvalue if len(p) else math.nan
        rows.append({"metric": name, "runs": len(p), "false_positive_rate": rate.estimate, "fpr_low": rate.ci_low,
                     "fpr_high": rate.ci_high, "uniformity_p": ks, "status": status(rate.ci_low, rate.ci_high, alpha)})
    return AAResult(campaign.name, runs, alpha, pd.DataFrame(rows), pvalues)
