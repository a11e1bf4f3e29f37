"""Maps raw matching scores to a confidence in [0, 1] that is 0.5 at the tuned threshold."""

from __future__ import annotations

import math


def calibrate(raw: float, *, threshold: float, scale: float) -> float:
    z = (raw - threshold) / scale
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def coverage(token_idf: dict[str, float], present: set[str]) -> float:
    """IDF-weighted share of the query's tokens that the candidate contains."""
    total = sum(token_idf.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in token_idf.items() if t in present) / total
