"""Notebooks and their parameters: discovered from ``notebooks/NN-slug.ipynb`` and the cell tagged
``parameters`` (names, type hints, defaults and ``# help`` comments, read by papermill)."""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import papermill
import yaml

from cxlab.errors import ParameterError
from cxlab.paths import notebooks_dir as _notebooks_dir

_NAME = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")
_TYPES = ("str", "int", "float", "bool", "list")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter as declared in its ``parameters`` cell."""

    name: str
    type: str
    default: Any
    help: str

    def coerce(self, value: Any, notebook: str) -> Any:
        """``value`` (often text from ``-p name=value``) converted to this parameter's type."""
        if not isinstance(value, str):
            ok = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list}[self.type]
            if isinstance(value, ok) and not (self.type in ("int", "float") and isinstance(value, bool)):
                return float(value) if self.type == "float" else value
            raise self._wrong(value, notebook)
        text = value.strip()
        try:
            if self.type == "str":
                return value
            if self.type == "int":
                return int(text)
            if self.type == "float":
                return float(text)
            if self.type == "bool":
                if text.lower() in _TRUE | _FALSE:
                    return text.lower() in _TRUE
                raise ValueError(text)
            parsed = yaml.safe_load(text) if text.startswith("[") else [s.strip() for s in text.split(",") if s.strip()]
            if not isinstance(parsed, list):
                raise ValueError(text)
            return parsed
        except (ValueError, yaml.YAMLError):
            raise self._wrong(value, notebook) from None

    def _wrong(self, value: Any, notebook: str) -> ParameterError:
        return ParameterError(
            f"{notebook}: parameter '{self.name}' must be {self.type} ({self.help}); got {value!r}."
        )


@dataclass(frozen=True)
class Notebook:
    """A report notebook: its file, its short name (``00-data-overview``) and its parameters."""

    path: Path
    parameters: dict[str, Parameter]

    @property
    def name(self) -> str:
        return self.path.stem

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values this notebook accepts, checked and converted; unknown names are an error."""
        bound = {}
        for key, value in values.items():
            if key not in self.parameters:
                close = difflib.get_close_matches(key, self.parameters, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise ParameterError(
                    f"{self.name}: unknown parameter '{key}'.{hint} Known: {', '.join(self.parameters)}."
                )
            bound[key] = self.parameters[key].coerce(value, self.name)
        return bound


def _default(text: str | None, notebook: str, name: str) -> Any:
    try:
        return ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError):
        raise ParameterError(f"{notebook}: default of parameter '{name}' is not a literal: {text}") from None


def _declared_names(path: Path) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` (papermill skips lines it cannot parse)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ParameterError(f"{path.name}: no cell is tagged 'parameters'.")
    return re.findall(r"^([A-Za-z_]\w*)\s*[:=]", cell.source, flags=re.M)


def read_notebook(path: Path) -> Notebook:
    """Read one notebook's parameters (every one must have a type hint from str/int/float/bool/list)."""
    params: dict[str, Parameter] = {}
    found = papermill.inspect_notebook(str(path))
    declared = _declared_names(path)
    unparsed = [name for name in declared if name not in found]
    if unparsed:
        raise ParameterError(f"{path.name}: parameter line(s) for {', '.join(unparsed)} cannot be read; "
                             "write `name: type = value  # help` with no quotes in the comment.")
    for name, info in found.items():
        kind = info["inferred_type_name"]
        if kind not in _TYPES:
            raise ParameterError(f"{path.name}: parameter '{name}' needs a type hint, one of {', '.join(_TYPES)} (got {kind}).")
        params[name] = Parameter(name, kind, _default(info["default"], path.name, name), info["help"] or "")
    return Notebook(path, params)


def notebooks_dir() -> Path:
    """The project's own ``notebooks/`` folder, or the notebooks packaged with cxlab when it has none."""
    return _notebooks_dir()


def list_notebooks(folder: Path | None = None) -> list[Notebook]:
    """Every ``NN-slug.ipynb`` report notebook, in order."""
    folder = folder or notebooks_dir()
    return [read_notebook(p) for p in sorted(folder.glob("*.ipynb")) if _NAME.match(p.name)]


def find_notebooks(names: list[str], folder: Path | None = None) -> list[Notebook]:
    """The notebooks ``names`` refer to (``00``, ``00-data-overview`` or the file name); all if empty."""
    available = list_notebooks(folder)
    if not names:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = [nb for nb in available if nb.name == stem or nb.name.split("-", 1)[0] == stem]
        if not match:
            known = ", ".join(nb.name for nb in available)
            raise ParameterError(f"unknown notebook '{name}'. Available: {known}.")
        chosen.append(match[0])
    return chosen
