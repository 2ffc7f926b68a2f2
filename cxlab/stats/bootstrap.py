"""Bootstrap intervals for statistics without a closed form (a median spend, a trimmed mean).

The one place in ``cxlab.stats`` that takes values rather than sums: pass a bounded sample. Delegates to
``scipy.stats.bootstrap`` (vectorised, seeded); ``bca`` corrects bias and skew (Efron 1987).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

from cxlab.stats.results import Estimate, check_alpha

METHODS = {"percentile": "percentile", "bca": "BCa", "basic": "basic"}


def bootstrap_ci(samples: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], method: str = "bca",
                 n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0) -> Estimate:
    """Interval for ``statistic(*samples, axis=-1)`` (groups resampled independently), seeded."""
    check_alpha(alpha)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    arrays = [np.asarray(s, dtype=float) for s in samples]
    for i, a in enumerate(arrays):
        if a.size < 2 or not np.all(np.isfinite(a)):
            raise ValueError(f"sample {i} needs at least 2 finite values")
    res = sps.bootstrap(arrays, statistic, vectorized=True, paired=False, n_resamples=n_resamples,
                        confidence_level=1 - alpha, method=METHODS[method], rng=np.random.default_rng(seed))
    est = float(statistic(*arrays, axis=-1))
    return Estimate(est, float(res.confidence_interval.low), float(res.confidence_interval.high),
                    f"bootstrap ({method}, {n_resamples} resamples, seed {seed})", alpha,
                    extra={"standard_error": float(res.standard_error)})
