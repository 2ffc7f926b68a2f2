"""The catalogue: typed YAML cards (metrics, triggers, hypotheses, segments, campaigns) and the rule
language they use, parsed by sqlglot and compiled to Ibis — never evaluated by Python."""

from cxlab.catalog.cards import Campaign, Hypothesis, Metric, Segment, Trigger
from cxlab.catalog.functions import CLIENT_FUNCTIONS, ROW_FUNCTIONS
from cxlab.catalog.load import Catalog, check_catalog, list_hypotheses, load_card, load_catalog, load_metrics
from cxlab.catalog.rules import Rule, compile_filter, evaluate_rules, parse_rule

__all__ = [
    "CLIENT_FUNCTIONS", "ROW_FUNCTIONS", "Campaign", "Catalog", "Hypothesis", "Metric", "Rule", "Segment",
    "Trigger", "check_catalog", "compile_filter", "evaluate_rules", "list_hypotheses", "load_card",
    "load_catalog", "load_metrics", "parse_rule",
]
