"""The tiny demo the report-wide checks share, and its one run of every notebook.

One 2,000-client demo that is at once small-celled — a campaign arm of 5 people, a segment of 3 clients
(with a trigger and a hypothesis on them), a product line held by 3 — and hostile: a payload in every card
field, every string value, every string parameter and the folder names (``tests/runner/hostile.py``).
The hostile, privacy and trust tests all read this one run (the ``tiny_run`` fixture, built once per
session whichever xdist worker asks first); only the determinism check runs notebooks again.

07 is the exception: it stops with a ZeroDivisionError on a campaign with an arm of 5 (an empty score bin
in ``cxlab.stats.targeting.uplift_by_percentile``), so it runs on the same hostile demo without the small
cells (``demo-full``), in a run of its own. Every notebook still runs once.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxlab.runner import find_notebooks, run
from tests.runner.hostile import PATH_PAYLOAD, hostile, hostile_catalog, hostile_data

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 2000
#: min_cell_size of the run: cells counting fewer people are hidden
K = 10
#: names in the clean data; the run's data and cards carry them with a payload: ``hostile(SMALL_ARM)``
SMALL_ARM, TINY_REGION, TINY_LINE, TINY_CARD = "email_offer", "islands", "gold", "islanders"
CAMPAIGN = "cc_spring_2025"
RUN_ID = "hostile"
#: the notebooks run on the hostile demo without the small cells (see above), in the run FULL_RUN_ID
FULL, FULL_RUN_ID = ["07"], "hostile-full"


def small_cells(folder: Path, catalog: Path) -> None:
    """Edit the demo in ``folder``: 5 people left in one arm of the campaign, 3 of its clients (1 per arm)
    in a region of their own, 3 clients holding a product line nobody else holds; and write into ``catalog``
    a copy of the catalogue with a segment, a trigger and a hypothesis for that region."""
    comms = pd.read_parquet(folder / "communications.parquet")
    spring = comms.campaign_id == CAMPAIGN
    arm = comms[spring & (comms.arm == SMALL_ARM)]
    keep = set(sorted(arm.client_id.unique())[:5])
    comms = comms[~(spring & (comms.arm == SMALL_ARM)) | comms.client_id.isin(keep)]
    comms.to_parquet(folder / "communications.parquet", index=False)
    spring = comms.campaign_id == CAMPAIGN
    clients = pd.read_parquet(folder / "clients.parquet")
    holdings = pd.read_parquet(folder / "holdings.parquet")
    products = pd.read_parquet(folder / "products.parquet")
    cards = set(holdings[holdings.product_id.isin(products[products.product_line == "credit_card"].product_id)].client_id)
    chosen = [sorted(set(comms[spring & (comms.arm == a)].client_id) - cards)[0] for a in ("control", "email", SMALL_ARM)]
    clients.loc[clients.client_id.isin(chosen), "region"] = TINY_REGION
    clients.to_parquet(folder / "clients.parquet", index=False)
    products = pd.concat([products, pd.DataFrame({"product_id": ["gold_card"], "product_line": [TINY_LINE],
                                                  "name": ["Gold Card"]})], ignore_index=True)
    products.to_parquet(folder / "products.parquet", index=False)
    extra = holdings.head(4).copy()  # the gold line for the three; a card for one of them (a conversion)
    extra["client_id"], extra["product_id"] = [*chosen, chosen[0]], ["gold_card"] * 3 + ["cc_classic"]
    unit = str(holdings.opened_at.dt.unit)
    extra["opened_at"] = [pd.Timestamp(d).as_unit(unit) for d in ("2025-06-02",) * 3 + ("2025-10-10",)]
    extra["closed_at"] = pd.NaT
    pd.concat([holdings, extra], ignore_index=True).to_parquet(folder / "holdings.parquet", index=False)
    shutil.copytree(ROOT / "catalog", catalog)
    rule = f"rule: \"region = '{TINY_REGION}'\"\n"
    (catalog / "segments" / f"{TINY_CARD}.yml").write_text(
        f"name: {TINY_CARD}\ntitle: Islanders\ndescription: Three clients.\n{rule}"
        "priority: 1\nowner: tests\nproduct_line: credit_card\n")
    (catalog / "triggers" / f"{TINY_CARD}.yml").write_text(
        f"name: {TINY_CARD}\ntitle: Islanders\ndescription: Three clients.\n{rule}"
        "target_line: credit_card\nwindow_days: 30\nowner: tests\n")
    card = (catalog / "hypotheses" / "cc_salary.yml").read_text()
    (catalog / "hypotheses" / f"{TINY_CARD}.yml").write_text(
        card.replace("id: cc_salary", f"id: {TINY_CARD}").replace("trigger: salary_no_card", f"trigger: {TINY_CARD}"))


def build(root: Path, clients: int = CLIENTS) -> tuple[Path, Path]:
    """The small-celled, hostile demo and catalogue under ``root``: (data folder, catalogue folder); and
    beside them the hostile demo without the small cells (``demo-full …``)."""
    from cxlab.data.demo import generate

    generate(root / "clean", clients=clients, seed=11, progress=False)
    hostile_data(root / "clean", root / f"demo-full {PATH_PAYLOAD}")
    small_cells(root / "clean", root / "clean-catalog")
    data = hostile_data(root / "clean", root / f"demo {PATH_PAYLOAD}")
    catalog = hostile_catalog(root / "clean-catalog", root / f"catalog {PATH_PAYLOAD}")
    return data, catalog


def params(catalog: Path) -> dict[str, str]:
    """Every string parameter hostile (names that exist in the hostile catalogue); 01 plans a test on the
    tiny segment and 02 backtests it (3 clients fire a month, one converts)."""
    return {"catalog": str(catalog), "min_cell_size": str(K), "hypothesis": hostile(TINY_CARD),
            "trigger": hostile(TINY_CARD), "campaign": hostile(CAMPAIGN), "channel": hostile("email"),
            "period_start": "2024-04-01", "model_sample": "1500", "aa_runs": "20"}


@dataclass(frozen=True)
class TinyRun:
    """Where the shared run is: its data, catalogue, reports folder (with index.html) and run folder."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / f"demo {PATH_PAYLOAD}"

    @property
    def catalog(self) -> Path:
        return self.root / f"catalog {PATH_PAYLOAD}"

    @property
    def full_data(self) -> Path:
        return self.root / f"demo-full {PATH_PAYLOAD}"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def folder(self) -> Path:
        return self.reports / RUN_ID

    @property
    def full_folder(self) -> Path:
        return self.reports / FULL_RUN_ID

    def pages(self) -> list[Path]:
        """Every report of the run, one per notebook (the run's and the full run's), by notebook."""
        return sorted([*self.folder.glob("*.html"), *self.full_folder.glob("*.html")], key=lambda p: p.name)

    def file(self, name: str) -> Path:
        """``name`` (e.g. ``04-campaign-retro.results.json``) in the run folder that holds its notebook."""
        return (self.full_folder if name[:2] in FULL else self.folder) / name

    def failures(self) -> list[list[str]]:
        """(notebook, status, error) of every notebook that did not finish ok or skipped."""
        return json.loads((self.root / "failures.json").read_text())


def build_and_run(root: Path) -> None:
    """Build the tiny demo in ``root`` and run every notebook on it once; failures go to failures.json."""

    _, catalog = build(root)
    shared = TinyRun(root)
    notebooks = []
    for names, data, run_id in (([nb.name for nb in find_notebooks([]) if nb.name[:2] not in FULL], shared.data, RUN_ID),
                                (FULL, shared.full_data, FULL_RUN_ID)):
        notebooks += run(names, data=data, out=shared.reports, run_id=run_id, params=given(params(catalog), names),
                         progress=False).notebooks
    failures = [[nb.name, nb.status, nb.error or ""] for nb in notebooks if nb.status not in ("ok", "skipped")]
    (root / "failures.json").write_text(json.dumps(failures))


def given(values: dict[str, str], names: list[str]) -> dict[str, str]:
    """The parameters in ``values`` that one of the notebooks ``names`` declares."""
    declared = {p for nb in find_notebooks(names) for p in nb.parameters}
    return {k: v for k, v in values.items() if k in declared}
