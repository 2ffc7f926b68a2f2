"""The CRM's side of the loop on the demo: send a launched campaign and plant its effect.

:func:`simulate_send` reads an audience file written by ``cxlab audience`` and writes a copy of a demo
folder in which the CRM did what the file says: one communication per person of every arm (``group``
control for the control arm, treatment otherwise) on the send day, and, for treated people, an extra
contract of the target product line opened 3–27 days later with probability ``uplift`` — so the true
effect on "opened a contract of the line in the window" is ``uplift × (1 − p)``, p the rate without the
campaign, recorded in ``simulated.json`` with the control arm's measured p. The default demo is never
changed: this is a separate step writing a new folder (atomically).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxlab.data.demo.plan import DAY, HOUR, LINE_VALUE, PRODUCTS
from cxlab.data.write import atomic_folder
from cxlab.errors import DataError, ParameterError


def _append(src: Path, dst: Path, table: str, rows: pd.DataFrame) -> None:
    """Copy ``table`` from ``src`` to ``dst`` with ``rows`` added: a file is rewritten with them, a folder
    of parts gets one more part. Types follow the existing file's schema."""
    one = src / f"{table}.parquet"
    if one.exists():
        old = pq.read_table(one)
        new = pa.Table.from_pandas(rows[old.schema.names], preserve_index=False).cast(old.schema)
        pq.write_table(pa.concat_tables([old, new]), dst / one.name, compression="zstd")
        return
    folder = src / table
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not parts:
        raise DataError(f"{src}: no {table} table (expected {table}.parquet or {table}/part-*.parquet)")
    shutil.copytree(folder, dst / table)
    schema = pq.read_schema(parts[0])
    new = pa.Table.from_pandas(rows[schema.names], preserve_index=False).cast(schema)
    pq.write_table(new, dst / table / "part-simulated.parquet", compression="zstd")


def simulate_send(data: Path, audience: Path, out: Path, uplift: float, seed: int = 1, sent_at: str = "",
                  product_line: str = "") -> dict[str, Any]:
    """Write ``out``: the demo ``data`` after the CRM sent the campaign of ``audience`` (its sidecar JSON
    beside it names the campaign, channel, control arm, send day and product line)."""
    data, audience, out = Path(data), Path(audience), Path(out)
    if not 0 <= uplift < 1:
        raise ParameterError(f"--uplift is an absolute chance of an extra contract, between 0 and 1, got {uplift}")
    if out.resolve() == data.resolve():
        raise ParameterError("--out must be a new folder: the demo the audience came from is not changed")
    sidecar = audience.with_suffix(".json")
    if not audience.exists() or not sidecar.exists():
        raise DataError(f"{audience}: the audience file and its sidecar {sidecar.name} must both exist")
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    line = product_line or meta.get("product_line", "")
    if line not in PRODUCTS:
        raise ParameterError(f"product line {line!r} is not a demo line ({', '.join(PRODUCTS)})")
    people = pd.read_parquet(audience, columns=["client_id", "arm", "channel"])
    rng = np.random.default_rng(seed)
    day = np.datetime64(sent_at or meta.get("launch_date") or meta["snapshot"])
    control = meta["control_arm"]
    treated = (people.arm != control).to_numpy()
    sent = np.full(len(people), day + 9 * HOUR, "datetime64[ms]")
    comms = pd.DataFrame({"client_id": people.client_id.to_numpy(np.int64), "campaign_id": meta["campaign"],
                          "channel": people.channel.to_numpy(), "sent_at": sent,
                          "group": np.where(treated, "treatment", "control"), "arm": people.arm.to_numpy(),
                          "score": np.nan})
    extra = treated & (rng.random(len(people)) < uplift)
    who = people.client_id.to_numpy(np.int64)[extra]
    opened = (day + rng.integers(3, 28, len(who)) * DAY + 10 * HOUR).astype("datetime64[ms]")
    products = rng.choice(PRODUCTS[line], len(who))
    value = np.round(rng.lognormal(np.log(LINE_VALUE[line]), 0.5, len(who)), 2)
    holdings = pd.DataFrame({"client_id": who, "product_id": products, "opened_at": opened,
                             "closed_at": pd.Series(np.full(len(who), np.datetime64("NaT"), "datetime64[ms]")),
                             "value": value})
    truth = {"campaign": meta["campaign"], "audience": str(audience), "sent_at": str(day), "product_line": line,
             "uplift_param": uplift, "seed": seed, "people": people.arm.value_counts().sort_index().to_dict(),
             "extra_contracts": int(extra.sum()),
             "expected_uplift": "uplift_param × (1 − the control arm's rate of the line in the window)"}
    with atomic_folder(out) as tmp:
        for p in sorted(data.iterdir()):
            if p.name.startswith(".") or p.stem in ("communications", "holdings") or p.name == "communications" or p.name == "holdings":
                continue
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, tmp / p.name)
        _append(data, tmp, "communications", comms)
        _append(data, tmp, "holdings", holdings)
        (tmp / "simulated.json").write_text(json.dumps(truth, indent=2, default=str) + "\n", encoding="utf-8")
    return truth
