"""Where the real datasets are: ``CXLAB_DATASETS``, else ``../shared/datasets`` beside the project."""

from __future__ import annotations

import os
from pathlib import Path

from cxlab.errors import CxlabError
from cxlab.paths import project_root


def datasets_dir() -> Path | None:
    """The folder holding the real datasets, or None when it is not on this machine.

    ``CXLAB_DATASETS`` decides when set (None if it names no folder); otherwise the folder
    ``shared/datasets`` beside the project root (:func:`cxlab.paths.project_root`). Looked up at each call.
    """
    if os.environ.get("CXLAB_DATASETS"):
        folder = Path(os.environ["CXLAB_DATASETS"]).expanduser()
    else:
        try:
            folder = project_root().parent / "shared" / "datasets"
        except CxlabError:  # outside a project: only the environment variable can say
            return None
    return folder if folder.is_dir() else None
