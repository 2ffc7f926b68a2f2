"""``cxlab diff RUN_A RUN_B``: which headline figures (each notebook's ``results.json``) moved between two
runs, by how much, and whether beyond their intervals.

Every number in ``results.json`` is a headline figure (``rep.record``). A figure is named by its path:
dict keys joined by ``.``, and a list row by its text fields (``base_rates[segment=savers,
product_line=deposit].rate``), else by its position. A figure *has an interval* when its dict holds one:
``ci_low``/``ci_high`` go with ``estimate`` (else the first of ``uplift``, ``did``, ``rate``,
``odds_ratio``, ``effect``, ``difference``, ``mean`` present), and ``X_low``/``X_high`` go with ``X``.

The rule for *beyond the interval*: the new estimate lies outside the old run's interval, or the two
intervals do not overlap. It is a screening rule, not a test: two runs on overlapping data are not
independent samples, so "within" means "no news", and "beyond" means "look at this one first".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxlab.errors import CxlabError
from cxlab.report.i18n import t

_CI_ESTIMATES = ("estimate", "uplift", "did", "rate", "odds_ratio", "effect", "difference", "mean")
_SUFFIX = ".results.json"
#: Relative change below which two numbers are the same figure (results.json keeps 12 significant digits).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Figure:
    """One number of a results.json, with its interval when it has one."""

    value: float
    low: float | None = None
    high: float | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        """``(low, high)`` when the figure has both ends, else ``None``."""
        return (self.low, self.high) if self.low is not None and self.high is not None else None


@dataclass(frozen=True)
class Change:
    """A figure that differs between run A and run B (``None`` on the side where it is absent)."""

    notebook: str
    figure: str
    old: float | str | None
    new: float | str | None
    old_interval: tuple[float, float] | None = None
    new_interval: tuple[float, float] | None = None

    @property
    def delta(self) -> float | None:
        if isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)):
            return self.new - self.old
        return None

    @property
    def relative(self) -> float | None:
        d, old = self.delta, self.old
        return d / abs(old) if d is not None and isinstance(old, (int, float)) and old else None

    @property
    def beyond(self) -> bool | None:
        """The rule (module docstring): new estimate outside the old interval, or the intervals apart.
        ``None`` when either side has no interval."""
        if self.old_interval is None or self.new_interval is None or not isinstance(self.new, (int, float)):
            return None
        (lo_a, hi_a), (lo_b, hi_b) = self.old_interval, self.new_interval
        return not (lo_a <= self.new <= hi_a) or hi_b < lo_a or lo_b > hi_a


@dataclass(frozen=True)
class RunDiff:
    """Every change between two runs, and the notebooks only one of them has."""

    run_a: Path
    run_b: Path
    changes: list[Change] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def beyond(self) -> list[Change]:
        return [c for c in self.changes if c.beyond]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _row_label(row: dict[str, Any], i: int) -> str:
    keys = [f"{k}={v}" for k, v in row.items() if isinstance(v, str)]
    return f"[{', '.join(keys)}]" if keys else f"[{i}]"


def _interval_of(d: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Which keys of ``d`` carry an interval, and the interval."""
    out: dict[str, tuple[float, float]] = {}
    if _number(d.get("ci_low")) and _number(d.get("ci_high")):
        est = next((k for k in _CI_ESTIMATES if _number(d.get(k))), None)
        if est:
            out[est] = (d["ci_low"], d["ci_high"])
    for key in d:
        if key.endswith("_low") and key != "ci_low":
            base = key[: -len("_low")]
            if _number(d.get(base)) and _number(d[key]) and _number(d.get(f"{base}_high")):
                out[base] = (d[key], d[f"{base}_high"])
    return out


def flatten(results: Any, prefix: str = "") -> dict[str, Figure | str | bool | None]:
    """Every leaf of a results.json by path; numbers become Figures (with their interval if any)."""
    out: dict[str, Figure | str | bool | None] = {}
    if isinstance(results, dict):
        intervals = _interval_of(results)
        for key, value in results.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)):
                out.update(flatten(value, path))
            elif _number(value):
                low, high = intervals.get(key, (None, None))
                out[path] = Figure(float(value), low, high)
            else:
                out[path] = value
    elif isinstance(results, list):
        seen: dict[str, int] = {}
        for i, row in enumerate(results):
            label = _row_label(row, i) if isinstance(row, dict) else f"[{i}]"
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:  # two rows with the same text fields: keep both, by position
                label = f"{label}#{seen[label]}"
            out.update(flatten(row, prefix + label) if isinstance(row, (dict, list)) else
                       {prefix + label: Figure(float(row), None, None) if _number(row) else row})
    return out


def _bound_key(path: str) -> bool:
    """An interval bound itself (reported with its estimate, not as a figure of its own)."""
    leaf = path.rsplit(".", 1)[-1]
    return leaf in ("ci_low", "ci_high") or leaf.endswith(("_low", "_high"))


def _read_run(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise CxlabError(f"cxlab diff: {folder} is not a run folder (reports/RUN_ID).")
    runs = {}
    for path in sorted(folder.glob(f"*{_SUFFIX}")):
        try:
            runs[path.name[: -len(_SUFFIX)]] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise CxlabError(f"cxlab diff: {path}: not valid JSON ({e.msg} at line {e.lineno}).") from None
    if not runs:
        raise CxlabError(f"cxlab diff: {folder} holds no *{_SUFFIX} (is it a run folder of `cxlab run`?).")
    return runs


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Figure) and isinstance(b, Figure):
        return abs(a.value - b.value) <= TOLERANCE * max(abs(a.value), abs(b.value), 1e-300)
    return a == b


def _plain(x: Any) -> float | str | None:
    if isinstance(x, Figure):
        return x.value
    return None if x is None else str(x).lower() if isinstance(x, bool) else str(x)


def diff_runs(run_a: str | Path, run_b: str | Path, skip: tuple[str, ...] = ("suppressed_cells",)) -> RunDiff:
    """The figures that moved from ``run_a`` (old) to ``run_b`` (new); notebooks are matched by name."""
    a_path, b_path = Path(run_a), Path(run_b)
    a, b = _read_run(a_path), _read_run(b_path)
    changes: list[Change] = []
    unchanged = 0
    both = [name for name in a if name in b]
    for name in both:
        fa, fb = flatten(a[name]), flatten(b[name])
        for path in sorted(set(fa) | set(fb), key=lambda p: (p not in fa, p)):
            if _bound_key(path) or path.split(".")[0].split("[")[0] in skip:
                continue
            old, new = fa.get(path), fb.get(path)
            if _same(old, new):
                unchanged += 1
                continue
            changes.append(Change(name, path, _plain(old), _plain(new), _interval(old), _interval(new)))
    order = {True: 0, False: 1, None: 2}
    changes.sort(key=lambda c: (order[c.beyond], c.notebook, -abs(c.relative or 0)))
    return RunDiff(a_path, b_path, changes, both, sorted(set(a) - set(b)), sorted(set(b) - set(a)), unchanged)


def _interval(f: Figure | str | bool | None) -> tuple[float, float] | None:
    """The interval of a flattened leaf, when it is a Figure that has one."""
    return f.interval if isinstance(f, Figure) else None


def _num(x: float | str | None, lang: str) -> str:
    """Four significant digits (whole numbers above 10,000), in the language's separators."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    text = f"{x:,.0f}" if abs(x) >= 10_000 else f"{x:,.4g}"
    return text.replace(",", "\u00a0").replace(".", ",") if lang == "ru" else text


def render(d: RunDiff, lang: str = "en", limit: int = 40) -> str:
    """The diff as text for the terminal, in ``lang``."""
    lines = [t("diff.title", lang, a=d.run_a.name, b=d.run_b.name)]
    for name in d.only_a:
        lines.append(t("diff.only_in", lang, notebook=name, run=d.run_a.name))
    for name in d.only_b:
        lines.append(t("diff.only_in", lang, notebook=name, run=d.run_b.name))
    if not d.changes:
        lines.append(t("diff.none", lang, n=d.unchanged, notebooks=len(d.compared)))
        return "\n".join(lines)
    lines.append(t("diff.summary", lang, moved=len(d.changes), beyond=len(d.beyond), same=d.unchanged,
                   notebooks=len(d.compared)))
    lines.append(t("diff.rule", lang))
    for c in d.changes[:limit]:
        if c.delta is None:
            text = t("diff.changed_text", lang, old=_num(c.old, lang), new=_num(c.new, lang))
        else:
            rel = f" ({c.relative * 100:+.1f}%)" if c.relative is not None else ""
            text = t("diff.changed", lang, old=_num(c.old, lang), new=_num(c.new, lang),
                     delta=("+" if c.delta > 0 else "") + _num(c.delta, lang) + rel)
        if c.beyond is not None and c.old_interval is not None:
            lo, hi = c.old_interval
            verdict = "diff.beyond" if c.beyond else "diff.within"
            text += "  " + t(verdict, lang, low=_num(lo, lang), high=_num(hi, lang))
        lines.append(f"  {c.notebook}  {c.figure}: {text}")
    if len(d.changes) > limit:
        lines.append(t("diff.more", lang, n=len(d.changes) - limit))
    return "\n".join(lines)
