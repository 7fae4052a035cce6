"""Verdicts from measured LR trajectories (NumPy only).

After the change step, the effective LR is compared with the intended trajectory and with the
baseline (what it would have been had nothing changed), at every step, to ``RTOL``:

- ``effective``: matches the intended trajectory at every step;
- ``ignored``: nothing was raised and it matches the baseline instead;
- ``wrong``: it matches neither;
- ``raises``: the change statement raised (training went on; the message is kept);
- ``diverged``: under a strategy, replicas (or workers) applied different LRs at some step: the
  copies of the model no longer agree, whatever each one did.

``reported_ok``: the reported LR matched the effective LR at every step after the change.
"""

from __future__ import annotations

import numpy as np

from bench.config import RTOL


def close(a, b, rtol: float = RTOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(a.size) and bool(np.all(np.abs(a - b) <= rtol * np.abs(b)))


def spread(values) -> float:
    """The largest distance of any value from the first, relative to the first (0 for one value):
    how far replicas' effective LRs of one step are apart."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(values - values[0])) / abs(values[0])) if len(values) > 1 else 0.0


def verdict(effective, intended, baseline, raised: bool, spread=None) -> str:
    """Verdict over the steps from the change on (arrays of equal length); ``spread`` is the
    relative spread of the effective LR across replicas at each step (None: one replica)."""
    if spread is not None and np.any(np.asarray(spread, dtype=np.float64) > RTOL):  # NaN compares False
        return "diverged"
    if raised:
        return "raises"
    if close(effective, intended):
        return "effective"
    if close(effective, baseline):
        return "ignored"
    return "wrong"


def reported_ok(reported, effective) -> bool:
    return close(reported, effective)
