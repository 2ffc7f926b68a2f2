"""cxlab: a workbench for CRM / CX analysts growing a client base through cross-sell and upsell."""

__version__ = "0.1.0"
