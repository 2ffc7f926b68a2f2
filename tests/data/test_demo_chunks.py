"""A demo generated in chunks: parts per table with contiguous client ids, byte-identical for a seed and a
chunk size, a truth combined from the chunks that equals pandas on all the rows, and an interruption that
leaves nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.data.demo import chunk_sizes, generate
from cxlab.errors import ParameterError
from tests.signals import as_from_a_terminal

ROOT = Path(__file__).resolve().parents[2]
CHUNKED = ("clients", "holdings", "events", "communications", "consents")


def parts(folder: Path, name: str) -> list[Path]:
    return sorted((folder / name).glob("*.parquet"))


def table(folder: Path, name: str) -> pd.DataFrame:
    """All rows of a chunked table, parts in order."""
    return pd.concat([pd.read_parquet(p) for p in parts(folder, name)], ignore_index=True)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_chunk_sizes_are_as_few_and_as_equal_as_the_bound_allows():
    assert chunk_sizes(50_000, 250_000) == [50_000]
    assert chunk_sizes(6000, 2000) == [2000, 2000, 2000]
    sizes = chunk_sizes(1_000_001, 250_000)
    assert len(sizes) == 5 and sum(sizes) == 1_000_001 and max(sizes) - min(sizes) == 1 and max(sizes) <= 250_000


def test_parts_per_table_with_contiguous_unique_client_ids(chunked_demo, chunked_truth):
    assert sorted(p.name for p in chunked_demo.iterdir()) == sorted([*CHUNKED, "products.parquet", "truth.json"])
    for name in CHUNKED:
        assert [p.name for p in parts(chunked_demo, name)] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    ids = [pd.read_parquet(p).client_id.to_numpy() for p in parts(chunked_demo, "clients")]
    assert np.array_equal(np.concatenate(ids), np.arange(1, chunked_truth["n_clients"] + 1))  # unique, 1…n, in order
    for name in ("holdings", "events", "communications", "consents"):  # every row sits in its client's chunk
        for chunk, path in zip(ids, parts(chunked_demo, name), strict=True):
            rows = pd.read_parquet(path, columns=["client_id"]).client_id
            assert rows.between(chunk[0], chunk[-1]).all(), (name, path.name)


def test_chunks_are_written_with_the_one_file_types(chunked_demo, small_demo):
    import pyarrow.parquet as pq

    for name in CHUNKED:
        one = pq.read_schema(small_demo / f"{name}.parquet")
        for path in parts(chunked_demo, name):
            assert pq.read_schema(path) == one, (name, path.name)  # int64 ids and plain strings, as before


def test_same_seed_and_chunk_size_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, clients=1500, seed=3, chunk_clients=500)
    generate(b, clients=1500, seed=3, chunk_clients=500)
    generate(c, clients=1500, seed=4, chunk_clients=500)
    assert files(a) == files(b)
    assert len(files(a)) == 5 * 3 + 2
    assert files(a)["events/part-00001.parquet"] != files(c)["events/part-00001.parquet"]
    # each chunk has its own stream: the second chunk is not the first one shifted by 500 ids
    first, second = (pd.read_parquet(p) for p in parts(a, "clients")[:2])
    assert not np.array_equal(first.age.to_numpy(), second.age.to_numpy())


def test_truth_combined_from_chunks_equals_pandas_on_all_rows(chunked_demo, chunked_truth):
    t = {name: table(chunked_demo, name) for name in CHUNKED}
    products = pd.read_parquet(chunked_demo / "products.parquet")
    truth = chunked_truth
    assert truth["rows"] == {**{k: len(v) for k, v in t.items()}, "products": len(products)}
    # value shape from one turnover per client over all chunks (Gini by the rank formula, not the library's)
    h = t["holdings"]
    in_2025 = (h.opened_at < pd.Timestamp("2026-01-01")) & (h.closed_at.isna() | (h.closed_at >= pd.Timestamp("2025-01-01")))
    per_client = h[in_2025].groupby("client_id").value.sum().reindex(t["clients"].client_id, fill_value=0.0)
    v = np.sort(per_client.to_numpy())
    n, total = len(v), v.sum()
    gini = np.sum((2 * np.arange(1, n + 1) - n - 1) * v) / (n * total)
    top = v[::-1].cumsum() / total
    assert truth["value"]["gini"] == pytest.approx(gini, abs=1e-12)
    assert truth["value"]["turnover_total"] == pytest.approx(total, abs=0.005)
    assert truth["value"]["top_20pct_share"] == pytest.approx(top[int(np.ceil(0.2 * n)) - 1], abs=1e-12)
    assert truth["value"]["top_1pct_share"] == pytest.approx(top[int(np.ceil(0.01 * n)) - 1], abs=1e-12)
    a = int((top < 0.80).sum()) + 1
    assert truth["value"]["abc_sizes"] == {"A": a, "B": int((top < 0.95).sum()) + 1 - a, "C": n - int((top < 0.95).sum()) - 1}
    # white space and contact at the segment snapshot
    s = pd.Timestamp("2025-12-01")
    existing = t["clients"][t["clients"].joined_at <= s].client_id
    held = h.merge(products, on="product_id")
    held = held[(held.opened_at < s) & (held.closed_at.isna() | (held.closed_at >= s)) & held.client_id.isin(existing)]
    share = {line: held[held.product_line == line].client_id.nunique() / len(existing) for line in truth["white_space"]["share_holding"]}
    assert truth["white_space"]["share_holding"] == pytest.approx(share, abs=1e-15)
    c = t["communications"]
    recent = c[(c.group == "treatment") & (c.sent_at >= s - pd.Timedelta(days=30)) & (c.sent_at < s)].client_id.value_counts()
    assert truth["contact"]["clients_with_3plus_communications_in_30_days"] == int((recent >= 3).sum())
    assert truth["contact"]["opt_in_rate"] == pytest.approx(t["consents"].groupby("channel").opted_in.mean().to_dict(), abs=1e-15)
    assert truth["contact"]["global_control"] == int(t["clients"].global_control.sum())
    # the campaign: people per arm and the pre/post spend correlation over every targeted person
    camp = c[c.campaign_id == "cc_spring_2025"]
    assert truth["campaign"]["people"] == camp.groupby("arm").client_id.nunique().to_dict()
    assert truth["campaign"]["rows"] == len(camp)
    e = t["events"][t["events"].event_type == "card_spend"]
    send, people = pd.Timestamp("2025-04-01"), camp.client_id.unique()
    post = e[(e.ts > send) & (e.ts <= send + pd.Timedelta(days=30))].groupby("client_id").value.sum().reindex(people, fill_value=0.0)
    pre = e[(e.ts >= send - pd.Timedelta(days=90)) & (e.ts < send)].groupby("client_id").value.sum().reindex(people, fill_value=0.0)
    assert truth["campaign"]["pre_post_spend_correlation"] == pytest.approx(pre.corr(post), abs=1e-12)


def test_chunk_size_too_small_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="chunk-clients must be at least 500"):
        generate(tmp_path / "x", clients=1000, chunk_clients=10)


def test_a_failure_in_a_later_chunk_leaves_the_earlier_demo_and_no_partial_folder(tmp_path, monkeypatch):
    import cxlab.data.demo as demo

    out = tmp_path / "demo"
    generate(out, clients=600, seed=1)
    before = files(out)
    real, calls = demo.write_parquet, []

    def fail_in_chunk_two(frame, path, schema=None):
        calls.append(path)
        if len(calls) == 7:  # five tables per chunk: the second table of the second chunk
            raise OSError("disk full")
        real(frame, path, schema)

    monkeypatch.setattr(demo, "write_parquet", fail_in_chunk_two)
    with pytest.raises(OSError, match="disk full"):
        generate(out, clients=1500, seed=1, chunk_clients=500)
    assert calls[-1].parent.name == "holdings" and calls[-1].name == "part-00001.parquet"
    assert files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # the temporary copy is gone


def test_ctrl_c_leaves_no_demo_folder(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cxlab", "demo-data", "--out", str(out), "--clients", "12000",
                             "--chunk-clients", "1000", "--quiet"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            preexec_fn=as_from_a_terminal)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".demo.*/events/part-00000.parquet")):
        time.sleep(0.02)
    assert proc.poll() is None, "the demo finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: no demo folder was written" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_cli_default_chunk_is_the_library_default():
    from cxlab.cli import parser
    from cxlab.data.demo import CHUNK_CLIENTS

    assert parser().parse_args(["demo-data"]).chunk_clients == CHUNK_CLIENTS


def test_rows_are_written_in_pandas_stable_sort_order():
    # the generator sorts with np.lexsort on codes instead of DataFrame.sort_values: same order, ties kept
    from cxlab.data.demo.generator import _Rows

    rng = np.random.default_rng(0)
    rows, pieces = _Rows.of("ts", "client_id", "event_type", "value"), []
    for kind in ("login", "card_spend", "app", "login"):
        n = 500
        piece = {"ts": np.datetime64("2024-01-01", "s") + rng.integers(0, 5, n) * np.timedelta64(1, "h"),
                 "client_id": rng.integers(1, 6, n).astype(np.int32), "value": rng.random(n)}
        rows.add(event_type=kind, **piece)
        pieces.append(pd.DataFrame({**piece, "event_type": kind}))
    got = rows.frame(("ts", "client_id", "event_type"))
    expected = pd.concat(pieces, ignore_index=True).sort_values(["ts", "client_id", "event_type"], kind="stable",
                                                                ignore_index=True)
    assert got.event_type.cat.categories.tolist() == ["app", "card_spend", "login"]
    pd.testing.assert_frame_equal(got.astype({"event_type": str}), expected[got.columns].astype({"event_type": str}))


PEAK_RSS = """
import sys
from pathlib import Path
from cxlab.data.demo import generate
generate(Path(sys.argv[1]), clients=int(sys.argv[2]), chunk_clients=50_000)
print(next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:")))
"""


@pytest.mark.slow
def test_peak_memory_is_bounded_by_the_chunk_not_by_the_clients(tmp_path):
    def peak_kib(clients: int) -> int:
        out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(tmp_path / str(clients)), str(clients)],
                             capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])

    one, five = peak_kib(50_000), peak_kib(250_000)  # one chunk, five chunks of the same size
    assert five < 1.2 * one, (one, five)
