"""Verdicts from measured LR trajectories (NumPy only).

After the change step, the effective LR is compared with the intended trajectory and with the
baseline (what it would have been had nothing changed), at every step, to ``RTOL``:

- ``effective``: matches the intended trajectory at every step;
- ``ignored``: nothing was raised and it matches the baseline instead;
- ``wrong``: it matches neither;
- ``raises``: the change statement raised (training went on; the message is kept).

``reported_ok``: the reported LR matched the effective LR at every step after the change.
"""

from __future__ import annotations

import numpy as np

from bench.config import RTOL


def close(a, b, rtol: float = RTOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(a.size) and bool(np.all(np.abs(a - b) <= rtol * np.abs(b)))


def verdict(effective, intended, baseline, raised: bool) -> str:
    """Verdict over the steps from the change on (arrays of equal length)."""
    if raised:
        return "raises"
    if close(effective, intended):
        return "effective"
    if close(effective, baseline):
        return "ignored"
    return "wrong"


def reported_ok(reported, effective) -> bool:
    return close(reported, effective)
