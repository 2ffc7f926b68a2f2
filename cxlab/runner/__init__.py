"""Runner: notebooks and parameters, papermill execution, HTML reports, manifests and the index."""

from cxlab.runner.execute import RunResult, raise_for_failures, run
from cxlab.runner.params import find_notebooks, list_notebooks

__all__ = ["RunResult", "find_notebooks", "list_notebooks", "raise_for_failures", "run"]
