"""The launch: from a trigger or a sized segment to the audience the CRM sends, split at random with a
salt, checked for balance, written by the engine, and pre-registered as the campaign card 04 reads.

One entry function per question: :func:`audience` (who, and in which arm — nothing written),
:func:`launch` (the same, then the files and the card, atomically, or nothing at all when anything is
wrong), :func:`recompute_arms` (what the registered salt says each person's arm was: 04's check).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import ibis
import pandas as pd
import yaml
from scipy import stats as sps

from cxlab import stats as cs
from cxlab.analyses.result import Result
from cxlab.catalog.cards import Campaign, ContactPolicy, Metric, Registration
from cxlab.catalog.load import Catalog
from cxlab.compute import base, split
from cxlab.compute import segments as sg
from cxlab.compute.audience import (  # noqa: F401
    STEPS,
    Target,
    check_applies,
    flags,
    keep,
    memo,
    planned_target,
    product_line_of,
    target_of,
    waterfall,
)
from cxlab.data.connect import Source
from cxlab.errors import CardError, DataError, ParameterError
from cxlab.stats.balance import SMD_THRESHOLD, smd

#: The audience file's columns, in order.
COLUMNS = ("client_id", "segment", "priority", "channel", "reason", "arm")
#: Below this p-value the realised split does not match the plan (the SRM convention).
SRM_ALPHA = 0.001


def _stratified(src: Source, t: ibis.Table, stratify: str, target: Target, metric: Metric | None, snapshot: date,
                pre_days: int, salt: str) -> tuple[ibis.Table, str | None]:
    """``t`` with a ``stratum`` column for ``stratify`` ('', segment, deciles, column:NAME)."""
    if not stratify:
        return t, None
    if stratify == "segment":
        return t.mutate(stratum=ibis.literal(target.name)), "stratum"
    if stratify == "deciles":
        if metric is None or metric.type not in ("proportion", "mean") or not metric.source:
            raise ParameterError("stratify=deciles needs a primary metric of type proportion or mean")
        return split.deciles(src, t, metric, snapshot, pre_days, salt), "stratum"
    if stratify.startswith("column:"):
        col = stratify.removeprefix("column:")
        clients = src.table("clients")
        if col not in clients.columns:
            raise DataError(f"stratify: clients has no column '{col}'; columns: {', '.join(clients.columns)}")
        j = t.left_join(clients.select("client_id", stratum=clients[col].cast("string").fill_null("∅")), "client_id")
        return j.drop("client_id_right") if "client_id_right" in j.columns else j, "stratum"
    raise ParameterError(f"stratify must be '', segment, deciles or column:NAME, got {stratify!r}")


@dataclass(frozen=True)
class Audience(Result):
    """Who a launch contacts and in which arm, with the checks made before anything is written."""

    title: ClassVar[str] = "Campaign audience"

    campaign: str
    target: Target
    snapshot: date
    channel: str
    arms: dict[str, float]
    control_arm: str
    salt: str
    stratify: str
    table: ibis.Table
    waterfall: pd.DataFrame
    split: pd.DataFrame
    srm: cs.SRMResult
    balance: pd.DataFrame
    filters_skipped: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(self.split[self.split.arm != split.GLOBAL_CONTROL].people.sum())

    @property
    def balance_flagged(self) -> pd.DataFrame:
        return self.balance[self.balance.flagged]

    def file_rows(self) -> ibis.Table:
        """The audience file's rows (global control left out: never contacted), ordered by client."""
        t = self.table.filter(self.table.arm != split.GLOBAL_CONTROL)
        return t.select(client_id=t.client_id, segment=ibis.literal(self.target.name), priority=ibis.literal(self.target.priority),
                        channel=ibis.literal(self.channel), reason=ibis.literal(self.target.reason), arm=t.arm).order_by("client_id")

    def facts(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "target": self.target.label, "snapshot": self.snapshot.isoformat(),
                "channel": self.channel, "size": self.size, "salt": self.salt, "stratify": self.stratify or "none",
                "srm_p": self.srm.p_value, "balance_flagged": int(len(self.balance_flagged))}


def balance(src: Source, t: ibis.Table, arms: Mapping[str, float], control_arm: str, metrics: Sequence[Metric],
            snapshot: date, pre_days: int) -> tuple[cs.SRMResult, pd.DataFrame]:
    """SRM of planned vs realised people (global control left out) and the standardised mean difference
    of each pre-period metric, each treatment arm against control (warning past 0.1)."""
    g = t.filter(t.arm != split.GLOBAL_CONTROL)
    usable = [m for m in metrics if m.type in ("proportion", "mean") and m.source]
    sums = split.balance_sums(src, g, usable, snapshot, pre_days).set_index("arm")
    observed = {a: int(sums.n.get(a, 0)) for a in arms}
    srm = cs.srm_check(observed, arms, alpha=SRM_ALPHA)
    rows = []
    if control_arm in sums.index and pre_days > 0:
        c = sums.loc[control_arm]
        for arm in (a for a in arms if a != control_arm and a in sums.index):
            tr = sums.loc[arm]
            for i, m in enumerate(usable):
                if min(int(tr.n), int(c.n)) < 2:
                    continue
                r = smd(cs.SampleMeanStats(int(tr.n), float(tr[f"pre_sum_{i}"]), float(tr[f"pre_sum_sq_{i}"])),
                        cs.SampleMeanStats(int(c.n), float(c[f"pre_sum_{i}"]), float(c[f"pre_sum_sq_{i}"])))
                rows.append({"metric": m.name, "arm": arm, **r.to_dict()})
    cols = ["metric", "arm", "smd", "mean_t", "mean_c", "threshold", "flagged", "false_alarm_rate"]
    return srm, pd.DataFrame(rows, columns=cols)


def _metric_set(catalog: Catalog, target: Target, hypothesis: str, primary: str) -> tuple[str, list[str], list[str]]:
    """Primary, secondary and guardrail metric names: from the hypothesis card, or ``primary``, or the
    outcome a scored audience's model learned, or the catalogue's proportion metric counting contracts of
    the target's product line."""
    if hypothesis:
        h = catalog.get("hypotheses", hypothesis)
        return h.metrics.primary, list(h.metrics.secondary), list(h.metrics.guardrails)
    if primary:
        catalog.get("metrics", primary)
        return primary, [], []
    if target.scored is not None and target.scored.metric in catalog.metrics:
        return target.scored.metric, [], []
    for m in catalog.metrics.values():
        if target.product_line and product_line_of(m) == target.product_line:
            return m.name, [], []
    raise ParameterError(f"no metric in metrics.yml counts openings of '{target.product_line}': give a hypothesis "
                         "or a primary metric (--primary NAME)")


def audience(src: Source, catalog: Catalog, campaign: str, *, segment: str = "", trigger: str = "", lookalike: str = "",
             scored: str | Path = "", snapshot: date, arms: Mapping[str, float], salt: str, control_arm: str = "control",
             channel: str = "email", stratify: str = "", hypothesis: str = "", primary: str = "",
             pre_period_days: int = 90, cap_messages: int = 2, cap_days: int = 30,
             within: ibis.Table | None = None) -> Audience:
    """The audience of ``campaign``: the target's clients at ``snapshot`` after consent, contact cap,
    global control and holding the line, split into ``arms`` by ``salt`` (optionally stratified), with
    the SRM and balance checks. Nothing is written."""
    try:
        arms = split.check_arms(arms)
    except ValueError as e:
        raise ParameterError(f"campaign '{campaign}': field 'arms': {e}") from None
    if control_arm not in arms:
        raise ParameterError(f"campaign '{campaign}': field 'control_arm': '{control_arm}' is not among arms {list(arms)}")
    if not salt:
        raise ParameterError(f"campaign '{campaign}': field 'salt': a launch needs a salt (any text, new per campaign)")
    target = target_of(catalog, segment, trigger, lookalike, scored)
    check_applies(src, target)
    names = _metric_set(catalog, target, hypothesis, primary)
    metrics = [catalog.get("metrics", n) for n in [names[0], *names[1]]]
    filters = sg.Filters.of(src)
    f = flags(src, catalog, target, snapshot, channel, cap_messages, cap_days)
    steps = waterfall(src, f, filters)
    _, passing = keep(f, filters)
    gc = f.control if filters.control else ibis.literal(False)
    held = f.filter(passing & gc).select("client_id", arm=ibis.literal(split.GLOBAL_CONTROL))
    if within is not None:  # a contact policy's survivors for this campaign (see arbitrate)
        passing = passing & f.client_id.isin(within.client_id)
        left = int(src.con.execute(f.filter(passing & ~gc).count()))
        steps = pd.concat([steps.iloc[:-1], pd.DataFrame({"step": ["policy"], "people": [left]}), steps.iloc[-1:]],
                          ignore_index=True)
    t = f.filter(passing & ~gc).select("client_id")  # strata and blocks among the randomised only (04 redoes them)
    t, stratum = _stratified(src, t, stratify, target, metrics[0], snapshot, pre_period_days, salt)
    t = src.cache(split.assign(t, arms, salt, stratum).select("client_id", "arm").union(held))
    counts = split.realised(src, t)
    got = dict(zip(counts.arm, counts.people.astype(int), strict=True))
    table = pd.DataFrame({"arm": [*arms, split.GLOBAL_CONTROL],
                          "planned": [*arms.values(), math.nan],
                          "people": [got.get(a, 0) for a in [*arms, split.GLOBAL_CONTROL]]})
    n = int(table.people.iloc[:-1].sum())
    table["share"] = [p / n if n and a != split.GLOBAL_CONTROL else math.nan for a, p in zip(table.arm, table.people, strict=True)]
    if n == 0:
        raise DataError(f"campaign '{campaign}': the audience of {target.label} at {snapshot} is empty after the policy "
                        f"(waterfall: {dict(zip(steps.step, steps.people, strict=True))}); nothing written")
    srm, bal = balance(src, t, arms, control_arm, metrics, snapshot, pre_period_days)
    warnings = []
    if target.scored is not None and target.scored.snapshot != snapshot.isoformat():
        warnings.append(f"the scored audience was scored at {target.scored.snapshot}, the launch is evaluated at "
                        f"{snapshot}: its predictions use the features of {target.scored.snapshot}")
    if srm.flagged:
        warnings.append(f"the realised split differs from the planned shares (SRM p = {srm.p_value:.2g})")
    for r in bal[bal.flagged].itertuples():
        warnings.append(f"arm '{r.arm}' differs from control on pre-period '{r.metric}' (SMD {r.smd:+.3f}, past {SMD_THRESHOLD}; "
                        f"a fair split of this size does so {r.false_alarm_rate:.1%} of the time)")
    return Audience(campaign, target, snapshot, channel, arms, control_arm, salt, stratify, t, steps, table, srm, bal,
                    filters.skipped(), warnings)


# --- writing -----------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def paths(out: Path, campaign: str) -> dict[str, Path]:
    """Where a campaign's audience files go: ``NAME.parquet``, ``NAME.csv`` and the sidecar ``NAME.json``."""
    return {kind: Path(out) / f"{campaign}.{kind}" for kind in ("parquet", "csv", "json")}


def _write_rows(src: Source, rows: ibis.Table, parquet: Path, csv: Path) -> None:
    """The engine writes the files (DuckDB's COPY; other engines stream arrow batches): no pandas."""
    if src.con.name == "duckdb":
        src.con.to_parquet(rows, parquet, compression="zstd")
        src.con.to_csv(rows, csv)
    else:
        rows.to_parquet(parquet)
        rows.to_csv(csv)


def _exclusive_clash(out: Path, campaign: str, parquet: Path, catalog: Catalog, start: date, end: date) -> list[str]:
    """Other registered exclusive campaigns whose window overlaps [start, end] and whose audience file in
    ``out`` shares clients with the new one (checked by DuckDB on the files)."""
    clashes = []
    for other in catalog.campaigns.values():
        reg = other.registration
        if other.name == campaign or reg is None or not reg.exclusive:
            continue
        file = paths(out, other.name)["parquet"]
        o_end = reg.launch_date + timedelta(days=other.window_days)
        if not file.exists() or o_end < start or reg.launch_date > end:
            continue
        con = ibis.duckdb.connect()
        a, b = con.read_parquet(str(parquet)), con.read_parquet(str(file))
        both = int(con.execute(a.select("client_id").join(b.select("client_id"), "client_id").count()))
        if both:
            clashes.append(f"{both} client(s) are also in exclusive campaign '{other.name}' ({file})")
    return clashes


@dataclass(frozen=True)
class Launch(Result):
    """A launched campaign: its audience and checks, the files written and the registered card."""

    title: ClassVar[str] = "Campaign launch"

    audience: Audience
    files: dict[str, Path]
    card: Path
    campaign: Campaign
    sidecar: dict[str, Any]

    @property
    def registration(self) -> Registration:
        assert self.campaign.registration is not None
        return self.campaign.registration

    def facts(self) -> dict[str, Any]:
        return self.audience.facts() | {"card": str(self.card), "files": {k: str(v) for k, v in self.files.items()},
                                        "mde": self.registration.mde, "baseline": self.registration.baseline,
                                        "signed_off_by": self.registration.sign_off.by}


def hypothesis_baseline(src: Source, catalog: Catalog, hypothesis: str, months_of_history: int = 6) -> float:
    """01's baseline (:func:`cxlab.analyses.hypothesis.plan`): the conversion of the clients the trigger
    (and the card's population) fired for at the last ``months_of_history`` monthly snapshots, without
    the rest of 01's plan (the other metrics' history, which a launch does not need)."""
    from cxlab.compute import triggers as ct

    h = catalog.get("hypotheses", hypothesis)
    trigger = catalog.get("triggers", h.trigger)
    snaps = ct.monthly_snapshots(src, "", "", trigger.snapshot_day, trigger.window_days)[-months_of_history:]
    got = ct.counts(src, ct.panel(src, trigger, snaps, h.population or ""))
    fired = got[got.fired.astype(bool)]
    n = int(fired.n.sum())
    return float(fired.x_sum.sum()) / n if n else math.nan


def _segment_rates(src: Source, catalog: Catalog, snapshot: date) -> pd.Series:
    """03's historical base rate of every applicable segment at ``snapshot``, by segment (once per source)."""
    def compute() -> pd.Series:
        kept, _ = sg.applicable(list(catalog.segments.values()), base.product_lines(src))
        return sg.base_rates(src, kept, snapshot)[0].set_index("segment").rate
    return memo(src, ("segment_rates", snapshot, str(catalog.path)), compute)


def plan_size(src: Source, catalog: Catalog, a: Audience, hypothesis: str, alpha: float, power: float) -> tuple[float | None, float | None]:
    """The baseline (01's plan for a hypothesis, else 03's base rate of the segment) and the MDE of the
    launched split: smallest treatment arm against control, at ``alpha`` and ``power``."""
    p0 = None
    if hypothesis:
        p0 = memo(src, ("baseline", hypothesis, str(catalog.path)), lambda: hypothesis_baseline(src, catalog, hypothesis))
    elif a.target.kind == "segment":
        p0 = float(_segment_rates(src, catalog, a.snapshot).get(a.target.name, math.nan))
    people = dict(zip(a.split.arm, a.split.people, strict=True))
    n_c = people.get(a.control_arm, 0)
    n_t = min(people.get(x, 0) for x in a.arms if x != a.control_arm)
    if p0 is None or not 0 < p0 < 1 or n_t < 2 or n_c < 2:
        return p0, None
    return p0, cs.mde_proportions(p0, n_t, n_c / n_t, alpha, power)


def launch(src: Source, catalog: Catalog, campaign: str, *, out: str | Path, catalog_dir: str | Path | None = None,
           segment: str = "", trigger: str = "", lookalike: str = "", scored: str | Path = "", snapshot: date,
           arms: Mapping[str, float], salt: str,
           control_arm: str = "control", channel: str = "email", stratify: str = "", hypothesis: str = "",
           primary: str = "", title: str = "", analysis: str = "plain", window_days: int = 0,
           pre_period_days: int = 90, cap_messages: int = 2, cap_days: int = 30, launch_date: date | None = None,
           owner: str = "", approved_by: str = "", approved_at: date | None = None, alpha: float = 0.05,
           power: float = 0.8, exclusive: bool = True, replace: bool = False, within: ibis.Table | None = None,
           prepared: Audience | None = None) -> Launch:
    """Launch ``campaign``: compute its audience (:func:`audience`), refuse anything wrong before writing
    (no sign-off, an existing audience without ``replace``, a client in another exclusive campaign),
    then write ``out/NAME.parquet``, ``.csv`` and ``.json`` and the registered card
    ``catalog/campaigns/NAME.yml`` — all atomically: each file appears whole or not at all."""
    catalog_dir = Path(catalog_dir or catalog.path)
    where = catalog_dir / "campaigns" / f"{campaign}.yml"
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", campaign):
        raise ParameterError(f"campaign name must be letters, digits, _ or -, got {campaign!r}")
    if not approved_by:
        raise ParameterError(f"{where}: field 'registration.sign_off.by': a campaign is launched only after sign-off "
                             "(give --approved-by NAME)")
    if not owner:
        raise ParameterError(f"{where}: field 'registration.owner': name the campaign's owner (--owner NAME)")
    if analysis not in ("plain", "cuped"):
        raise ParameterError(f"{where}: field 'registration.analysis': plain or cuped, got {analysis!r}")
    files = paths(Path(out), campaign)
    existing = [str(p) for p in [*files.values(), where] if p.exists()]
    if existing and not replace:
        raise ParameterError(f"campaign '{campaign}' already has {', '.join(existing)}: refusing to overwrite "
                             "(give --replace to launch it again)")
    if campaign in catalog.campaigns and catalog.campaigns[campaign].registration is None:
        raise CardError(f"{where}: campaign '{campaign}' is an existing card without a registration; choose another name")
    a = prepared or audience(src, catalog, campaign, segment=segment, trigger=trigger, lookalike=lookalike,
                             scored=scored, snapshot=snapshot, arms=arms,
                             salt=salt, control_arm=control_arm, channel=channel, stratify=stratify, hypothesis=hypothesis,
                             primary=primary, pre_period_days=pre_period_days, cap_messages=cap_messages,
                             cap_days=cap_days, within=within)
    warnings = list(a.warnings)
    for other in catalog.campaigns.values():
        if other.registration and other.registration.salt == salt and other.name != campaign:
            warnings.append(f"salt '{salt}' is already registered for campaign '{other.name}' "
                            f"({catalog.files.get(('campaigns', other.name), catalog_dir)}): the two splits are the same")
    launch_date = launch_date or snapshot
    names = _metric_set(catalog, a.target, hypothesis, primary)
    metrics = {n: catalog.get("metrics", n) for n in [names[0], *names[1], *names[2]]}
    window = window_days or (catalog.get("triggers", catalog.get("hypotheses", hypothesis).trigger).window_days
                             if hypothesis else metrics[names[0]].window_days)
    baseline, mde = plan_size(src, catalog, a, hypothesis, alpha, power)
    Path(out).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=f".{campaign}."))
    try:
        parquet, csv = tmp / files["parquet"].name, tmp / files["csv"].name
        _write_rows(src, a.file_rows(), parquet, csv)
        clashes = _exclusive_clash(Path(out), campaign, parquet, catalog, launch_date, launch_date + timedelta(days=window)) if exclusive else []
        if clashes:
            raise DataError(f"{where}: field 'registration.exclusive': " + "; ".join(clashes) + "; nothing written")
        fingerprint = memo(src, ("fingerprint",), src.fingerprint)
        registration = Registration(
            hypothesis=hypothesis or None, audience=a.target.label, snapshot=snapshot, salt=salt, stratify=stratify,
            analysis=analysis, alpha=alpha, power=power,
            margins={n: m.margin for n, m in metrics.items() if n in names[2] and m.margin is not None},
            planned_size=a.size, baseline=baseline, mde=mde, launch_date=launch_date, owner=owner,
            sign_off={"by": approved_by, "at": approved_at or launch_date}, exclusive=exclusive,
            audience_sha256=_sha256(parquet), data_fingerprint=fingerprint)
        card = Campaign(name=campaign, title=title or f"{campaign} ({a.target.label})", campaign_ids=[campaign],
                        control_arm=control_arm, arms=a.arms, channel=channel, send_start=launch_date, send_end=launch_date,
                        metrics={"primary": names[0], "secondary": names[1], "guardrails": names[2]},
                        window_days=window, pre_period_days=pre_period_days, registration=registration)
        sidecar = {"campaign": campaign, "target": a.target.label, "reason": a.target.reason, "product_line": a.target.product_line,
                   "snapshot": snapshot.isoformat(), "launch_date": launch_date.isoformat(),
                   "channel": channel, "arms": a.arms, "control_arm": control_arm, "salt": salt, "stratify": stratify,
                   "people": dict(zip(a.split.arm, a.split.people.astype(int).tolist(), strict=True)),
                   "waterfall": dict(zip(a.waterfall.step, a.waterfall.people.astype(int).tolist(), strict=True)),
                   "filters_skipped": a.filters_skipped, "srm_p": a.srm.p_value,
                   "balance": a.balance.to_dict(orient="records"), "warnings": warnings,
                   "data": {"source": src.description, "fingerprint": fingerprint},
                   "audience_sha256": registration.audience_sha256, "card": str(where)}
        if a.target.scored is not None:  # which file, which model, which rule, on which data
            sidecar["scored"] = a.target.scored.to_dict() | {"rule": a.target.scored.rule}
        (tmp / files["json"].name).write_text(json.dumps(sidecar, indent=2, default=str) + "\n", encoding="utf-8")
        text = yaml.safe_dump(card.model_dump(mode="json", exclude_none=True, exclude_defaults=False), sort_keys=False,
                              allow_unicode=True)
        (tmp / where.name).write_text(f"# registered by cxlab launch; 04 reports against this plan\n{text}", encoding="utf-8")
        where.parent.mkdir(parents=True, exist_ok=True)
        for name in (files["parquet"].name, files["csv"].name, files["json"].name):
            os.replace(tmp / name, Path(out) / name)
        os.replace(tmp / where.name, where)
    finally:
        for p in tmp.iterdir() if tmp.exists() else []:
            p.unlink()
        if tmp.exists():
            tmp.rmdir()
    return Launch(dataclasses.replace(a, warnings=warnings), files, where, card, sidecar)


# --- 04's check of the realised split ---------------------------------------------------------------

def recompute_arms(src: Source, catalog: Catalog, campaign: Campaign, people: ibis.Table) -> ibis.Table:
    """Per person of ``people`` (client_id, arm as sent): ``registered``, the arm the registered salt
    gives — by key alone, or dealt again within the registered strata among these people (a stratified
    split is reproduced exactly when the people sent are the people launched)."""
    reg = campaign.registration
    if reg is None:
        raise ValueError(f"campaign '{campaign.name}' has no registration")
    t = people.select("client_id", sent=people.arm)
    kind, _, name = reg.audience.partition(":")
    target = Target(kind, name, "", 1, "")
    metric = catalog.metrics.get(campaign.metrics.primary)
    t, stratum = _stratified(src, t, reg.stratify, target, metric, reg.snapshot, campaign.pre_period_days, reg.salt)
    return split.assign(t, campaign.arms, reg.salt, stratum).select("client_id", "sent", registered="arm")


def registration_check(src: Source, catalog: Catalog, campaign: Campaign, people: ibis.Table, analysed: int,
                       srm: cs.SRMResult, effects: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """What 04 reports against a registered plan: the registered primary analysis's verdict (CUPED when
    registered), the realised split against the registered salt (arms recomputed from it and compared
    with the communications) and shares, and every deviation from the plan."""
    reg = campaign.registration
    assert reg is not None
    r = recompute_arms(src, catalog, campaign, people)
    got = src.con.execute(r.aggregate(people=r.count(), mismatched=(r.sent != r.registered).sum()))
    checked, mismatched = int(got.people.iloc[0]), int(got.mismatched.iloc[0] or 0)
    sends = src.con.execute(people.aggregate(first=people.t0.min(), last=people.t0.max())).iloc[0]
    first, last = pd.Timestamp(sends["first"]).date(), pd.Timestamp(sends["last"]).date()
    deviations: list[dict[str, Any]] = []

    def deviate(what: str, registered: Any, realised: Any) -> None:
        deviations.append({"what": what, "registered": registered, "realised": realised})

    if srm.flagged:
        deviate("shares", dict(campaign.arms), srm.observed)
    if mismatched:
        deviate("salt", f"{reg.salt}: every arm from the salt", f"{mismatched} of {checked} people in another arm")
    if abs(alpha - reg.alpha) > 1e-12:
        deviate("alpha", reg.alpha, alpha)
    if reg.planned_size and abs(analysed - reg.planned_size) > 0.01 * reg.planned_size:
        deviate("size", reg.planned_size, analysed)
    if first < reg.launch_date or last > campaign.send_end or first > campaign.send_end:
        deviate("send_dates", f"{reg.launch_date} … {campaign.send_end}", f"{first} … {last}")
    for name, margin in reg.margins.items():
        m = catalog.metrics.get(name)
        if m is not None and m.margin != margin:
            deviate(f"margin:{name}", margin, m.margin)
    primary = effects[effects.metric == campaign.metrics.primary]
    method = reg.analysis
    if method == "cuped" and primary.cuped_low.isna().any():
        deviate("analysis", "cuped", "plain (no pre-period variation to adjust on)")
        method = "plain"
    low, high = ("cuped_low", "cuped_high") if method == "cuped" else ("ci_low", "ci_high")
    est = "cuped_uplift" if method == "cuped" else "uplift"
    z = float(sps.norm.ppf(1 - alpha / 2))
    verdicts = {}
    for _, row in primary.iterrows():
        se = (row[high] - row[low]) / (2 * z)  # the interval is normal: its half-width is z standard errors
        p = float(2 * sps.norm.sf(abs(row[est]) / se)) if se > 0 else math.nan
        verdicts[row.arm] = {"uplift": float(row[est]), "ci_low": float(row[low]), "ci_high": float(row[high]),
                             "p_value": p if method == "cuped" else float(row.p_value),
                             "verdict": "significant" if row[low] > 0 or row[high] < 0 else "not_significant"}
    return {"analysis": method, "registered_analysis": reg.analysis, "salt": reg.salt, "stratify": reg.stratify,
            "checked": checked, "mismatched": mismatched, "planned_size": reg.planned_size, "analysed": analysed,
            "mde": reg.mde, "sign_off": {"by": reg.sign_off.by, "at": reg.sign_off.at.isoformat()},
            "primary": verdicts, "deviations": deviations}


# --- arbitration across campaigns -------------------------------------------------------------------

@dataclass(frozen=True)
class Arbitration(Result):
    """A contact policy applied: per campaign the audience before and after, what each rule cost in reach
    and in expected incremental contracts, and who was dropped and why (engine tables, not rows)."""

    title: ClassVar[str] = "Arbitration"

    policy: ContactPolicy
    table: pd.DataFrame
    costs: pd.DataFrame
    kept: ibis.Table
    dropped: ibis.Table

    def survivors(self, name: str) -> ibis.Table:
        k = [c.name for c in self.policy.campaigns].index(name)
        return self.kept.filter(self.kept.k == k).select("client_id")

    def facts(self) -> dict[str, Any]:
        return {"policy": self.policy.name, "campaigns": len(self.policy.campaigns),
                "before": int(self.table.before.sum()), "after": int(self.table.after.sum()),
                "contracts_lost": float(self.costs.contracts.sum()) if len(self.costs) else 0.0}


def _base_rate(src: Source, catalog: Catalog, policy: ContactPolicy) -> dict[str, float]:
    """Each planned campaign's base rate without a campaign: 03's historical segment rate, or the
    trigger's conversion among the clients it fired for one window before the snapshot."""
    from cxlab.compute import triggers as ct

    out: dict[str, float] = {}
    segs = [c for c in policy.campaigns if c.segment]
    if segs:
        by = _segment_rates(src, catalog, policy.snapshot)
        out |= {c.name: float(by.get(c.segment, math.nan)) for c in segs}
    for c in policy.campaigns:
        if not c.trigger:
            continue
        trigger = catalog.get("triggers", c.trigger)
        p = ct.panel(src, trigger, [policy.snapshot - timedelta(days=trigger.window_days)])
        got = ct.counts(src, p)
        fired = got[got.fired]
        out[c.name] = float(fired.x_sum.sum() / fired.n.sum()) if len(fired) and fired.n.sum() else math.nan
    return out


def load_policy(path: str | Path) -> ContactPolicy:
    """A contact policy card (``catalog/policies/NAME.yml``), every error with its file and line."""
    from cxlab.catalog.load import load_card

    return load_card(path, ContactPolicy)


def arbitrate(src: Source, catalog: Catalog, policy: ContactPolicy, cap_messages: int = 2, cap_days: int = 30) -> Arbitration:
    """Apply ``policy`` to its planned campaigns (see :mod:`cxlab.compute.arbitration`)."""
    from cxlab.compute import arbitration as ca

    for c in policy.campaigns:
        target_of(catalog, **planned_target(c))  # unknown cards and unusable scored files fail before any query
    cands = ca.candidates(src, catalog, policy, cap_messages, cap_days)
    kept, dropped = ca.apply(src, policy, cands)
    before, by_rule = ca.counts(src, cands, dropped)
    names = [c.name for c in policy.campaigns]
    rates = _base_rate(src, catalog, policy)
    rows, costs = [], []
    for k, c in enumerate(policy.campaigns):
        n0 = int(before.set_index("k").before.get(k, 0))
        lost = {r: int(by_rule[(by_rule.k == k) & (by_rule.reason == r)].people.sum()) for r in ca.RULES}
        rows.append({"campaign": c.name, "priority": c.priority, "type": c.type, "channel": c.channel, "before": n0,
                     **lost, "after": n0 - sum(lost.values()), "base_rate": rates.get(c.name, math.nan)})
        for r, people in lost.items():
            if people:
                costs.append({"campaign": c.name, "rule": r, "people": people,
                              "contracts": people * rates.get(c.name, math.nan) * c.uplift})
    if policy.exclusive:
        m = kept.join(cands.select("client_id", "k", "type"), ["client_id", "k"])
        m = m.filter(m.type == "marketing")
        twice = src.con.execute(m.group_by("client_id").aggregate(n=m.count()).filter(lambda t: t.n > 1).count())
        if int(twice):
            raise DataError(f"policy '{policy.name}': field 'exclusive': {int(twice)} client(s) left in two exclusive campaigns")
    table = pd.DataFrame(rows)
    empty = table[table.after == 0]
    if len(empty):
        raise DataError(f"policy '{policy.name}': field 'campaigns': the audience of {', '.join(empty.campaign)} is "
                        "empty after the policy; nothing written")
    dropped_named = dropped.mutate(campaign=ibis.cases(*[(dropped.k == k, n) for k, n in enumerate(names)], else_=""))
    return Arbitration(policy, table, pd.DataFrame(costs, columns=["campaign", "rule", "people", "contracts"]), kept,
                       dropped_named.select("client_id", "campaign", "reason"))


def launch_policy(src: Source, catalog: Catalog, policy: ContactPolicy, *, out: str | Path, owner: str,
                  approved_by: str, catalog_dir: str | Path | None = None, replace: bool = False,
                  approved_at: date | None = None, analysis: str = "plain") -> tuple[Arbitration, list[Launch]]:
    """Arbitrate, then launch every campaign on its survivors: one audience file (and registered card)
    per campaign, and ``POLICY.dropped.parquet`` (client_id, campaign, reason). Every audience is
    computed and checked before the first file is written."""
    arb = arbitrate(src, catalog, policy)
    if not approved_by:
        raise ParameterError(f"policy '{policy.name}': field 'sign_off.by': give --approved-by NAME")
    prepared = []
    for c in policy.campaigns:
        salt = c.salt or f"{policy.name}:{c.name}"
        prepared.append(audience(src, catalog, c.name, **planned_target(c), snapshot=policy.snapshot, arms=c.arms, salt=salt,
                                 control_arm=c.control_arm,
                                 channel=c.channel, hypothesis=c.hypothesis, within=arb.survivors(c.name)))
    dropped_file = Path(out) / f"{policy.name}.dropped.parquet"
    if dropped_file.exists() and not replace:
        raise ParameterError(f"{dropped_file} exists: refusing to overwrite (give --replace)")
    launches = [launch(src, catalog, c.name, out=out, catalog_dir=catalog_dir, **planned_target(c), snapshot=policy.snapshot,
                       arms=c.arms, salt=a.salt,
                       control_arm=c.control_arm, channel=c.channel, hypothesis=c.hypothesis, owner=owner,
                       approved_by=approved_by, approved_at=approved_at, analysis=analysis,
                       exclusive=policy.exclusive and c.type == "marketing", replace=replace, prepared=a)
                for c, a in zip(policy.campaigns, prepared, strict=True)]
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{policy.name}.", suffix=".parquet")
    os.close(fd)
    try:
        _write_rows_parquet(src, arb.dropped.order_by(["campaign", "client_id"]), Path(tmp))
        os.replace(tmp, dropped_file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arb, launches


def _write_rows_parquet(src: Source, rows: ibis.Table, path: Path) -> None:
    if src.con.name == "duckdb":
        src.con.to_parquet(rows, path, compression="zstd")
    else:
        rows.to_parquet(path)


def parse_arms(pairs: Sequence[str] | str) -> dict[str, float]:
    """``["control:0.2", "email:0.8"]`` (``=`` works too; or the same comma-separated) → ``{"control": 0.2, "email": 0.8}``."""
    items = pairs.split(",") if isinstance(pairs, str) else list(pairs)
    out = {}
    for item in (str(i).strip() for i in items if str(i).strip()):
        arm, eq, share = item.partition("=") if "=" in item else item.partition(":")
        try:
            out[arm.strip()] = float(share) if eq else math.nan
        except ValueError:
            out[arm.strip()] = math.nan
        if math.isnan(out[arm.strip()]):
            raise ParameterError(f"arms: expected arm:share such as control:0.2, got {item!r}")
    return out


def planned(src: Source, catalog: Catalog, a: Audience, hypothesis: str = "", primary: str = "", analysis: str = "plain",
            alpha: float = 0.05, power: float = 0.8, window_days: int = 0, owner: str = "") -> dict[str, Any]:
    """The plan a launch of ``a`` registers (what a dry run shows): metrics, window, baseline and MDE."""
    names = _metric_set(catalog, a.target, hypothesis, primary)
    window = window_days or (catalog.get("triggers", catalog.get("hypotheses", hypothesis).trigger).window_days
                             if hypothesis else catalog.get("metrics", names[0]).window_days)
    baseline, mde = plan_size(src, catalog, a, hypothesis, alpha, power)
    return {"hypothesis": hypothesis or None, "metrics": names, "window": window, "baseline": baseline, "mde": mde,
            "analysis": analysis, "alpha": alpha, "power": power, "launch_date": a.snapshot.isoformat(), "owner": owner,
            "planned_size": a.size}
