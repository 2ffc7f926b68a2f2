"""Benchmarks of cxlab's heavy computations against hand-written DuckDB SQL and plain pandas (`make bench`)."""
