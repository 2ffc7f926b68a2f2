"""Provenance of a run: what ran, on which data, with which code and library versions, and how it went."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import cxlab
from cxlab.data.write import current_umask

#: The libraries whose versions decide the numbers in a report.
PACKAGES = (
    "ibis-framework", "duckdb", "sqlglot", "pandas", "numpy", "scipy", "statsmodels",
    "scikit-learn", "matplotlib", "seaborn", "papermill", "nbconvert", "pydantic",
)


def now() -> str:
    """The current UTC time as ISO text (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def git_commit(folder: Path) -> str:
    """The commit the project is at, with ``+dirty`` when it has uncommitted changes; ``unknown`` outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=folder, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment(folder: Path) -> dict[str, Any]:
    """Python, platform, cxlab and library versions, and the git commit."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cxlab": cxlab.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": git_commit(folder),
    }


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (a temp file in the same folder, then rename), keys sorted for stable bytes."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write text atomically: readers see the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes it private; reports are shared like the .ipynb
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # a full disk fails here, before the rename, not later in the page cache
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
