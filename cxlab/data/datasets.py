"""Where the real datasets are: ``CXLAB_DATASETS``, else ``../shared/datasets`` beside the project."""

from __future__ import annotations

import os
from pathlib import Path

from cxlab.paths import project_root


def datasets_dir() -> Path | None:
    """The folder holding the real datasets, or None when it is not on this machine."""
    candidates = [Path(os.environ["CXLAB_DATASETS"])] if os.environ.get("CXLAB_DATASETS") else []
    try:
        candidates.append(project_root().parent / "shared" / "datasets")
    except Exception:  # outside a project: only the environment variable can say
        pass
    return next((c for c in candidates if c.is_dir()), None)
