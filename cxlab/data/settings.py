"""Settings a data folder declares about itself in ``cxlab.yml``: the currency of its amounts, what
``holdings.value`` means per product line, and which lines are not products to offer.

```yaml
currency: GBP                 # printed beside every amount
value:                        # what holdings.value is, per product line ("*": every other line)
  "*": revenue                # revenue | balance | fee | none
  deposit: balance
not_offered: [service]        # lines that are not cross-sell offers (postage, fees, an account every client has)
```

The adapters write one for each real dataset; a folder without it gets the defaults (no currency,
value undeclared, every line offered), and the reports say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxlab.errors import DataError

FILE = "cxlab.yml"
ValueKind = Literal["revenue", "balance", "fee", "none"]


class DataSettings(BaseModel):
    """What a data folder declares about its values (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field("", max_length=8, description="ISO code or symbol printed beside amounts")
    value: dict[str, ValueKind] = Field(default_factory=dict, description="what holdings.value is, per product line")
    not_offered: list[str] = Field(default_factory=list, description="product lines that are not cross-sell offers")
    declared: bool = Field(False, exclude=True)

    def value_of(self, line: str) -> str:
        """``revenue``, ``balance``, ``fee``, ``none`` — or ``undeclared``."""
        return self.value.get(line, self.value.get("*", "undeclared"))

    def offered(self, lines: list[str]) -> list[str]:
        """The lines that are products to offer (cross-sell candidates)."""
        return [line for line in lines if line not in self.not_offered]


def read_settings(source: str | Path) -> DataSettings:
    """The ``cxlab.yml`` of a data folder, or the defaults (for a folder without one, a file or a URL)."""
    text = str(source)
    path = Path(text).expanduser() / FILE if "://" not in text else None
    if path is None or not path.is_file():
        return DataSettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return DataSettings.model_validate({**data, "declared": True})
    except yaml.YAMLError as e:
        raise DataError(f"{path}: YAML syntax error: {getattr(e, 'problem', e)}") from None
    except ValidationError as e:
        problems = "; ".join(f"field '{'.'.join(map(str, err['loc']))}': {err['msg']}" for err in e.errors())
        raise DataError(f"{path}: {problems} (fields: currency, value, not_offered)") from None


def settings_text(currency: str, value: dict[str, str], not_offered: Sequence[str] = (), note: str = "") -> str:
    """A ``cxlab.yml`` for an adapter to write beside its tables."""
    head = f"# {note}\n" if note else ""
    return head + yaml.safe_dump({"currency": currency, "value": dict(value), "not_offered": list(not_offered)},
                                 sort_keys=False, allow_unicode=True)
