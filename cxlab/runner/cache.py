"""The run cache: a notebook whose inputs are unchanged since an earlier run into the same reports folder is
reused from that run instead of executed again.

A notebook's key hashes everything its report is computed from: the notebook file, its parameters after
defaults are resolved, the data fingerprint, the whole catalogue folder (any card changed, added or removed
changes every notebook's key: the notebooks choose cards from the whole catalogue), and the cxlab code (its
version and every file of the package, so an edited analysis is never answered from the cache). The key is
stored with each notebook in the run's manifest; an earlier run's notebook with the same key that finished
``ok`` or ``skipped`` and whose files are still there is reused: its files are linked (or copied) into the
new run folder and the manifest records ``reused_from``. A notebook asked to write files (``write`` or
``score_out`` set) always runs: its side effect is the point.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import cxlab
from cxlab.runner.index import manifests, safe_run_id

#: Parameters that make a notebook write files outside its run folder: such a run is never reused.
WRITES = ("write", "score_out")
#: The files a reused notebook brings along from its run.
FILES = ("html", "notebook", "results")


def _tree(folder: Path, h: Any) -> None:
    """Feed every file under ``folder`` (relative name and bytes, in sorted order) into ``h``."""
    if not folder.is_dir():
        h.update(b"<missing>")
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")


@cache
def code_hash() -> str:
    """The cxlab version and a hash of the package's files."""
    h = hashlib.sha256(cxlab.__version__.encode())
    _tree(Path(cxlab.__file__).parent, h)
    return h.hexdigest()[:16]


def folder_hash(folder: Path) -> str:
    """A hash of a folder's files (the catalogue)."""
    h = hashlib.sha256()
    _tree(folder, h)
    return h.hexdigest()[:16]


def key(notebook: Path, parameters: dict[str, Any], fingerprint: str, catalog: str) -> str:
    """The cache key of one notebook run (see the module docstring)."""
    payload = {"notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(), "parameters": parameters,
               "data": fingerprint, "catalog": catalog, "code": code_hash()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cacheable(parameters: dict[str, Any]) -> bool:
    """False for a notebook asked to write files (see :data:`WRITES`)."""
    return not any(parameters.get(name) for name in WRITES)


def earlier(out: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Key → (run id, notebook entry) of every reusable notebook in ``out``, the newest run winning."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, manifest in manifests(out):
        run_id = manifest.get("run_id")
        if not safe_run_id(run_id) or path.parent.name != run_id:
            continue
        for entry in manifest.get("notebooks") or []:
            if not isinstance(entry, dict) or entry.get("status") not in ("ok", "skipped") or not entry.get("key"):
                continue
            files = [entry.get(f) for f in FILES if entry.get(f)]
            if not all(isinstance(f, str) and (path.parent / f).is_file() for f in files):
                continue
            stamp = str(manifest.get("started_at", ""))
            if entry["key"] not in found or found[entry["key"]][0] < stamp:
                found[entry["key"]] = (stamp, str(run_id), entry)
    return {k: (run, entry) for k, (_, run, entry) in found.items()}


def bring(entry: dict[str, Any], source: Path, folder: Path) -> None:
    """Put a reused notebook's files into the new run ``folder``: a hard link, or a copy across devices."""
    for name in (entry.get(f) for f in FILES):
        if not name:
            continue
        target = folder / name
        try:
            os.link(source / name, target)
        except OSError:
            tmp = folder / f".{name}.tmp"
            shutil.copy2(source / name, tmp)
            os.replace(tmp, target)
