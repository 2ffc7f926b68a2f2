"""Notebooks and their parameters: discovered from ``notebooks/NN-slug.ipynb`` and the cell tagged
``parameters``: one ``name: type = value  # help`` line each (read here with the standard library, so that
listing the notebooks, or answering a run from the cache, imports neither papermill nor nbformat)."""

from __future__ import annotations

import ast
import difflib
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cxlab.errors import ParameterError
from cxlab.paths import notebooks_dir as _notebooks_dir

_NAME = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")
_TYPES = ("str", "int", "float", "bool", "list")
#: The Python values each type hint accepts as they are (an int for a float too).
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
                                              "list": (list,)}
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
            if isinstance(value, _PYTHON_TYPES[self.type]) and not (self.type in ("int", "float") and isinstance(value, bool)):
                return float(value) if isinstance(value, (int, float)) and self.type == "float" else value
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


_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>\w+)\s*=\s*(?P<rest>.+)$")


def _parameters_cell(path: Path) -> str:
    """The source of the cell tagged ``parameters``."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParameterError(f"{path.name}: cannot read the notebook: {e}") from None
    cell = next((c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ParameterError(f"{path.name}: no cell is tagged 'parameters'.")
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _value_and_help(rest: str) -> tuple[str, str]:
    """``value  # help`` split where the comment starts (a ``#`` inside a string is part of the value)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(rest).readline):
            if tok.type == tokenize.COMMENT:
                return rest[: tok.start[1]].strip(), tok.string[1:].strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return rest.strip(), ""


def read_notebook(path: Path) -> Notebook:
    """Read one notebook's parameters (every one must have a type hint from str/int/float/bool/list)."""
    params: dict[str, Parameter] = {}
    for line in _parameters_cell(path).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if match is None:
            start = re.match(r"^([A-Za-z_]\w*)\s*[:=]", line.strip())
            raise ParameterError(f"{path.name}: parameter line for {start.group(1) if start else repr(line)} cannot be "
                                 "read; write `name: type = value  # help`, one parameter per line.")
        name, kind = match["name"], match["type"]
        if kind not in _TYPES:
            raise ParameterError(f"{path.name}: parameter '{name}' needs a type hint, one of {', '.join(_TYPES)} (got {kind}).")
        value, help_text = _value_and_help(match["rest"])
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ParameterError(f"{path.name}: default of parameter '{name}' is not a literal: {value}") from None
        params[name] = Parameter(name, kind, default, help_text)
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
