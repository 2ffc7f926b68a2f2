"""The benchmarked computations by name, and the libraries each implementation imports before the clock."""

from __future__ import annotations

from types import ModuleType

from benchmarks import retro, segments, trigger

COMPUTATIONS: dict[str, ModuleType] = {"trigger": trigger, "segments": segments, "retro": retro}
IMPLEMENTATIONS = ("cxlab", "sql", "pandas")
#: Imported before the clock starts, so start-up cost is not timed (each child imports only its own).
PRELOAD = {"cxlab": ("ibis", "ibis.backends.duckdb", "duckdb", "pandas", "cxlab.compute.triggers", "cxlab.compute.segments",
                     "cxlab.compute.retro", "cxlab.data", "pyarrow.dataset"),
           "sql": ("duckdb",),
           "pandas": ("numpy", "pandas", "pyarrow.parquet")}
