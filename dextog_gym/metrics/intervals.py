"""95 % intervals for the benchmark's tables: Wilson for rates, a normal approximation for means."""

from __future__ import annotations

import math

import numpy as np

Z_95 = 1.96


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of successes/n (None for n = 0).

    Unlike p ± z·se it stays inside [0, 1] and has width at 0/n and n/n, which is most of our cells.
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n} episodes")
    p, z2 = successes / n, z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))  # rounding must not exclude p


def mean_half_width(values: np.ndarray, z: float = Z_95) -> float:
    """z · s / √n of a sample's mean (nan for fewer than two values)."""
    values = np.asarray(values, float)
    return z * float(np.std(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
