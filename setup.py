"""The wheel carries the report notebooks and the starter catalogue as package data.

They stay where the repository keeps them (``notebooks/`` and ``catalog/``, edited and tested in place);
building copies them into the package as ``cxlab/_bundle/notebooks`` and ``cxlab/_bundle/catalog``, where
:func:`cxlab.paths.bundled` finds them in an installed cxlab. An editable install needs no copy: it finds
them in the checkout. Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: folder in the repository → what to copy from it (notebooks without outputs, catalogue cards)
BUNDLE = {"notebooks": ("[0-9][0-9]-*.ipynb",), "catalog": ("*.yml", "*.yaml", "*.md")}


class BuildWithBundle(build_py):
    """build_py, then the notebooks and the catalogue copied under ``cxlab/_bundle/`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "cxlab" / "_bundle"
        shutil.rmtree(target, ignore_errors=True)
        for folder, patterns in BUNDLE.items():
            for pattern in patterns:
                for path in sorted((HERE / folder).rglob(pattern)):
                    if any(part.startswith(".") for part in path.relative_to(HERE).parts):
                        continue
                    dest = target / path.relative_to(HERE)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)


setup(cmdclass={"build_py": BuildWithBundle})
