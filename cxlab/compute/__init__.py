"""Compute layer: Ibis expressions that run in the engine and return small frames of sums."""
