"""Where the project's folders are, found at call time (never at import) from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

from cxlab.errors import CxlabError


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``notebooks/``.

    ``CXLAB_HOME`` overrides the search. Notebooks opened in JupyterLab run from ``notebooks/``; this
    lets them and the CLI resolve ``data/demo`` or ``catalog`` the same way.
    """
    if os.environ.get("CXLAB_HOME"):
        return Path(os.environ["CXLAB_HOME"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir():
            return folder
    raise CxlabError(f"no cxlab project (a folder with notebooks/) at or above {here}; set CXLAB_HOME.")


def resolve(path: str | Path) -> Path:
    """``path`` as given if absolute or existing from cwd, else relative to the project root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p.resolve()
    try:
        return (project_root() / p).resolve()
    except CxlabError:
        return p.resolve()


def resolve_source(source: str | Path) -> str:
    """A data source argument: URLs pass through; paths (also the folder of ``spark:PATH``) are resolved
    like :func:`resolve`."""
    text = str(source)
    if "://" in text:
        return text
    if text.startswith("spark:"):
        return f"spark:{resolve(text[len('spark:'):])}"
    return str(resolve(text))
