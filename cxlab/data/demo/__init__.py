"""Demo data: a plausible bank-like client base with effects planted on purpose, and their truth.

``generate`` writes it in chunks of at most ``chunk_clients`` clients (ids contiguous across chunks), each
chunk from its own random stream spawned from the seed, straight to parquet: memory is bounded by the chunk,
not by the number of clients. A demo of one chunk is written as one file per table (``events.parquet``)
from the seed's own stream; a larger one as a folder of parts per table (``events/part-00000.parquet``),
with ``products.parquet`` once. ``truth.json`` records every planted effect both as the parameter used and
as the expected value the analyses should recover, exact for the whole data set (see ``truth.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from cxlab.data.demo import truth as tr
from cxlab.data.demo.generator import TABLE_TYPES, ChunkGenerator, products
from cxlab.data.write import atomic_folder, plain_schema, write_parquet
from cxlab.errors import ParameterError

#: Clients per chunk by default: about 1 GB peak memory (250,000: 1.9 GB, and no faster; measured at 1M
#: clients). Demos up to this size are one file per table, as the benchmarks expect.
CHUNK_CLIENTS = 100_000
MIN_CLIENTS = 500  # fewer, and the planted effects have too few people to exist


def chunk_sizes(clients: int, chunk_clients: int) -> list[int]:
    """Sizes of the chunks: as few as ``chunk_clients`` allows, as equal as possible."""
    k = -(-clients // chunk_clients)
    return [clients // k + (i < clients % k) for i in range(k)]


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    write_parquet(frame, path, plain_schema(frame, **{c: t for c, t in TABLE_TYPES.items() if c in frame}))


def generate(out: Path, clients: int = 50_000, seed: int = 7, chunk_clients: int = CHUNK_CLIENTS,
             progress: bool = False) -> dict[str, Any]:
    """Write the demo tables and ``truth.json`` into ``out``; returns the truth.

    Same seed and chunk size → byte-identical files. The folder appears whole or not at all (written
    beside, then renamed; a failure or Ctrl-C removes the partial copy); an existing demo in ``out`` is
    replaced.
    """
    if clients < MIN_CLIENTS:
        raise ParameterError(f"--clients must be at least {MIN_CLIENTS} for the planted effects to exist, got {clients}")
    if chunk_clients < MIN_CLIENTS:
        raise ParameterError(f"--chunk-clients must be at least {MIN_CLIENTS}, got {chunk_clients}")
    sizes = chunk_sizes(clients, chunk_clients)
    streams = [np.random.SeedSequence(seed)] if len(sizes) == 1 else np.random.SeedSequence(seed).spawn(len(sizes))
    product_table = products()
    turnover = np.empty(clients)
    sums: tr.Sums | None = None
    with atomic_folder(Path(out)) as tmp:
        first = 1
        for i, (n, stream) in enumerate(tqdm(list(zip(sizes, streams, strict=True)), desc="demo chunks", unit="chunk",
                                             disable=not progress)):
            g = ChunkGenerator(first, n, np.random.default_rng(stream))
            tables = g.run()
            part = tr.chunk_sums({**tables, "products": product_table}, g)
            sums = part if sums is None else tr.add(sums, part)
            turnover[first - 1: first - 1 + n] = tr.client_turnover(tables)
            for name, frame in tables.items():
                _write(frame, tmp / f"{name}.parquet" if len(sizes) == 1 else tmp / name / f"part-{i:05d}.parquet")
            del g, tables  # before the next chunk is made, or two chunks would be in memory at once
            first += n
        _write(product_table, tmp / "products.parquet")
        assert sums is not None  # sizes has at least one chunk
        result = tr.truth(sums, turnover, product_table, seed)
        (tmp / "truth.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result
