"""What a run's preflight established about its data, handed to every notebook of the run.

``cxlab run`` opens, validates and fingerprints the source once; it writes a :class:`RunContext` into the
run folder and names the file in ``CXLAB_RUN_CONTEXT`` for the notebooks' kernels. A notebook asking for
the source's validation (:func:`validation`) gets the preflight's report when the context is for this
source and the data still has the fingerprint the run started on; otherwise (a notebook run on its own in
JupyterLab, another source, changed data) it validates the data itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxlab.data.connect import Source
from cxlab.data.settings import DataSettings
from cxlab.data.validate import Failure, TableChecked, ValidationReport, validate

#: The environment variable that names the run's context file.
ENV = "CXLAB_RUN_CONTEXT"


@dataclass(frozen=True)
class RunContext:
    """The source a run reads (as resolved), its fingerprint, its settings file and the validation report."""

    source: str
    fingerprint: str
    settings: dict[str, Any]
    validation: ValidationReport

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"source": self.source, "fingerprint": self.fingerprint, "settings": self.settings,
                                    "validation": dataclasses.asdict(self.validation)}), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunContext:
        data = json.loads(path.read_text(encoding="utf-8"))
        v = data["validation"]
        report = ValidationReport([Failure(**f) for f in v["failures"]], [TableChecked(**t) for t in v["tables"]])
        return cls(data["source"], data["fingerprint"], data["settings"], report)

    @classmethod
    def of(cls, source: str, src: Source, settings: DataSettings, report: ValidationReport) -> RunContext:
        return cls(source, src.fingerprint(), settings.model_dump(mode="json"), report)


def current() -> RunContext | None:
    """The context of the run this process belongs to, or None outside a run."""
    path = os.environ.get(ENV)
    return RunContext.read(Path(path)) if path and Path(path).is_file() else None


def handed_over(src: Source) -> RunContext | None:
    """The run's context when it is for ``src`` (same source, same fingerprint), else None."""
    ctx = current()
    if ctx is None or ctx.source != src.origin or ctx.fingerprint != src.fingerprint():
        return None
    return ctx


def validation(src: Source) -> ValidationReport:
    """``src`` checked against the contract: the run preflight's report when it was handed over, else now."""
    ctx = handed_over(src)
    return ctx.validation if ctx is not None else validate(src)
