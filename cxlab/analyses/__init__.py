"""Analyses: compute (engine sums) + statistics, assembled into what a report shows."""
