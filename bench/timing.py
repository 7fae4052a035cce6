"""Step-time statistics: first call apart, median and IQR of the steady steps."""

from __future__ import annotations

import numpy as np

from bench.columns import NOISY_IQR


def summarise(step_times: list[list[float]], traces: list[list[int]], warmup: int) -> dict:
    """``step_times[r][s]``: seconds of step ``s`` in repeat ``r``; ``traces`` the cumulative counts.

    The first call of each repeat (trace/compile plus one step) is reported apart; the ``warmup``
    steps after it are dropped; the rest, pooled over repeats, give the median and IQR. A step
    during which the tracing count grew, after the first call, is a retrace: its time above the
    median of the steps that did not retrace is its cost, summed per repeat and averaged over
    repeats into ``retrace_s`` (against the overall median the cost would vanish whenever most
    steps retrace).
    """
    first = [t[0] for t in step_times if t]
    steady = [s for t in step_times for s in t[1 + warmup:]]
    if not steady:  # too few steps for a warm-up: use what there is after the first call
        steady = [s for t in step_times for s in t[1:]]
    median = float(np.median(steady)) if steady else float("nan")
    q75, q25 = np.percentile(steady, [75, 25]) if steady else (np.nan, np.nan)
    retraced = [[s >= 1 and c[s] > c[s - 1] for s in range(len(t))] for t, c in zip(step_times, traces)]
    plain = [x for t, r in zip(step_times, retraced) for x, hit in list(zip(t, r))[1:] if not hit]
    base = float(np.median(plain)) if plain else median
    per_repeat = [sum(max(0.0, x - base) for x, hit in zip(t, r) if hit) for t, r in zip(step_times, retraced)]
    retrace = float(np.mean(per_repeat)) if per_repeat else 0.0
    return dict(
        first_call_s=float(np.median(first)) if first else float("nan"),
        step_s_median=median,
        step_s_iqr=float(q75 - q25),
        noisy=bool(steady) and float(q75 - q25) > NOISY_IQR * median,
        retrace_s=retrace,
    )
