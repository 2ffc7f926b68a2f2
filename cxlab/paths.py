"""Where the project's folders are, found at call time (never at import) from the working directory.

A project is a folder holding ``notebooks/`` (this repository) or a ``cxlab-project.yml`` (made by
``cxlab init``, see :mod:`cxlab.project`). Its notebooks are its own ``notebooks/`` when it has report
notebooks there, else the ones packaged with cxlab (:func:`bundled`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cxlab.errors import CxlabError

#: The file ``cxlab init`` writes at a project's root; its presence marks the project.
PROJECT_FILE = "cxlab-project.yml"
_REPORT = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``notebooks/`` or ``cxlab-project.yml``.

    ``CXLAB_HOME`` overrides the search. Notebooks opened in JupyterLab run from ``notebooks/``; this
    lets them and the CLI resolve ``data/demo`` or ``catalog`` the same way.
    """
    if os.environ.get("CXLAB_HOME"):
        return Path(os.environ["CXLAB_HOME"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file() or (folder / "notebooks").is_dir():
            return folder
    raise CxlabError(f"no cxlab project (a folder with {PROJECT_FILE} or notebooks/) at or above {here}; "
                     "make one with `cxlab init DIR`, or set CXLAB_HOME.")


def bundled(kind: str) -> Path:
    """The ``notebooks`` or ``catalog`` folder that ships with cxlab.

    In a wheel they are package data under ``cxlab/_bundle/`` (setup.py copies them at build time); in a
    checkout (an editable install) they are the repository's own folders beside the package.
    """
    if kind not in ("notebooks", "catalog"):
        raise ValueError(f"bundled(): kind is 'notebooks' or 'catalog', got {kind!r}")
    package = Path(__file__).resolve().parent
    packaged = package / "_bundle" / kind
    if packaged.is_dir():
        return packaged
    checkout = package.parent / kind
    if checkout.is_dir() and (package.parent / "pyproject.toml").is_file():
        return checkout
    raise CxlabError(f"this cxlab install carries no {kind} (looked in {packaged} and {checkout}); reinstall it "
                     "from a wheel built with `pip wheel .` in the repository.")


def has_reports(folder: Path) -> bool:
    """Whether ``folder`` holds at least one report notebook (``NN-slug.ipynb``)."""
    return folder.is_dir() and any(_REPORT.match(p.name) for p in folder.iterdir())


def notebooks_dir() -> Path:
    """The project's own ``notebooks/`` when it holds report notebooks, else the packaged ones."""
    try:
        own = project_root() / "notebooks"
    except CxlabError:
        return bundled("notebooks")
    return own if has_reports(own) else bundled("notebooks")


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
