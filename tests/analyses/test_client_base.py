"""05's look-alikes on a profile table computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlab.analyses.client_base import lookalikes


def test_lookalikes_by_hand():
    cells = pd.DataFrame({"a": [True, True, False, False], "b": [True, False, True, False], "n": [30, 10, 20, 40]})
    looks = lookalikes(cells, ["a", "b"], min_cell=1).set_index("product_line")
    # line a: profile b=True → 30/50 hold; b=False → 10/50. Holders' median score: 0.6 (30 of 40 holders).
    # Look-alikes: non-holders with score ≥ 0.6: the 20 in profile b=True; expected = 20 · 0.6.
    assert looks.loc["a", "threshold"] == pytest.approx(0.6)
    assert looks.loc["a", "lookalikes"] == 20
    assert looks.loc["a", "expected"] == pytest.approx(12.0)
