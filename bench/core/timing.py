"""Step-time statistics: first call apart, median and IQR of the steady steps, and the step's cost
as paired ratios to the bare reference step timed right beside it."""

from __future__ import annotations

import numpy as np

from bench.results.columns import NOISY_IQR

#: Fewer independent pairs than this, and their spread says nothing: the ratio is flagged noisy.
MIN_PAIRS = 4


def _skip(per_repeat: list[list], warmup: int) -> int:
    """How many leading steps of each repeat are not steady: the first call and ``warmup`` more
    (with too few steps for a warm-up, the first call alone)."""
    return 1 + warmup if any(len(t) > 1 + warmup for t in per_repeat) else 1


def _steady(per_repeat: list[list], warmup: int, by_repeat: bool = False) -> list:
    """The steps after the first call and ``warmup`` more, pooled over repeats (with too few steps
    for a warm-up, every step after the first call); ``by_repeat``: one list per repeat."""
    skip = _skip(per_repeat, warmup)
    kept = [list(t[skip:]) for t in per_repeat]
    return kept if by_repeat else [s for t in kept for s in t]


def _median_iqr(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    q75, q25 = np.percentile(values, [75, 25])
    return float(np.median(values)), float(q75 - q25)


def _calls(pairs: list[float], refs: list[float], orders: list[bool]) -> list[int]:
    """Indices of the first step of each timed call: steps that ``fit`` ran in one call of its train
    function (``steps_per_execution``) share that call's time and its reference step, so together
    they are one pair, not several."""
    keep = []
    for i, key in enumerate(zip(pairs, refs, orders)):
        if not keep or key != (pairs[keep[-1]], refs[keep[-1]], orders[keep[-1]]) or not np.isfinite(key[0]):
            keep.append(i)
    return keep


def paired_ratio(ratios: list[float], ref_first: list[bool]) -> tuple[float, float]:
    """The step's cost over its reference from paired ratios (step / the reference step timed right
    beside it), and their spread.

    Of two steps run one after the other, the first is the slower (it comes after other work), so
    the reference is timed before the step at some steps and after it at others: the ratio is the
    geometric mean of the two orders' median ratios, in which that bias cancels. The spread is the
    IQR of every ratio once its order's bias is taken out (in log space), scaled to the ratio."""
    logs = np.log(np.asarray(ratios, dtype=np.float64))
    order = np.asarray(ref_first, dtype=bool)
    ok = np.isfinite(logs)
    groups = [logs[ok & (order == o)] for o in (True, False)]
    groups = [g for g in groups if len(g)]
    if not groups:
        return float("nan"), float("nan")
    centres = [float(np.median(g)) for g in groups]
    centre = float(np.mean(centres))
    residuals = np.concatenate([g - c for g, c in zip(groups, centres)])
    q75, q25 = np.percentile(residuals, [75, 25])
    ratio = float(np.exp(centre))
    return ratio, float(ratio * (np.exp(q75) - np.exp(q25)))


def summarise(step_times: list[list[float]], traces: list[list[int]], warmup: int,
              ref_times: list[list[float]] | None = None, ref_first: list[list[bool]] | None = None,
              pair_times: list[list[float]] | None = None) -> dict:
    """``step_times[r][s]``: seconds of step ``s`` in repeat ``r``; ``traces`` the cumulative counts;
    ``ref_times[r][s]``: seconds of the bare reference step timed right beside that step, before it
    where ``ref_first[r][s]`` and after it elsewhere; ``pair_times[r][s]``: the step on the same clock
    as its reference (CPU time on the CPU, see ``bench.measure.context.cpu_clock``; default ``step_times``).

    The first call of each repeat (trace/compile plus one step) is reported apart; the ``warmup``
    steps after it are dropped; the rest, pooled over repeats, give the median and IQR. The step
    ratio comes from the steady steps' paired ratios (``paired_ratio``), its spread beside it: a
    burst of load hits a step and its reference alike, so the pairs agree where raw step times do
    not. Steps timed as one call (``steps_per_execution``) count as one pair, and ``step_ratio_n``
    says how many independent pairs the ratio rests on. ``noisy`` says the paired ratios disagree
    (spread over ``NOISY_IQR`` of the ratio) or are too few to tell (under ``MIN_PAIRS``); without
    references, that the step times disagree.

    A step during which the tracing count grew, after the first call, is a retrace: its time above
    the median of the steps that did not retrace is its cost, summed per repeat and averaged over
    repeats into ``retrace_s`` (against the overall median the cost would vanish whenever most
    steps retrace).
    """
    first = [t[0] for t in step_times if t]
    median, iqr = _median_iqr(_steady(step_times, warmup))
    retraced = [[s >= 1 and c[s] > c[s - 1] for s in range(len(t))] for t, c in zip(step_times, traces)]
    plain = [x for t, r in zip(step_times, retraced) for x, hit in list(zip(t, r))[1:] if not hit]
    base = float(np.median(plain)) if plain else median
    per_repeat = [sum(max(0.0, x - base) for x, hit in zip(t, r) if hit) for t, r in zip(step_times, retraced)]
    out = dict(
        first_call_s=float(np.median(first)) if first else float("nan"),
        step_s_median=median,
        step_s_iqr=iqr,
        noisy=bool(np.isfinite(iqr)) and iqr > NOISY_IQR * median,
        retrace_s=float(np.mean(per_repeat)) if per_repeat else 0.0,
    )
    if ref_times is not None:
        pairs = pair_times if pair_times is not None else step_times
        orders = ref_first if ref_first is not None else [[True] * len(t) for t in step_times]
        ratios, flags = [], []
        skip = _skip(pairs, warmup)
        for p, rt, o in zip(pairs, ref_times, orders):
            # one pair per timed call, and only calls that start once the warm-up is over: a call
            # of several steps (steps_per_execution) that began in it carries its trace or compile
            calls = [i for i in _calls(p, rt, o) if i >= skip]
            ratios += [p[i] / rt[i] if rt[i] > 0 else float("nan") for i in calls]
            flags += [o[i] for i in calls]
        ratio, ratio_iqr = paired_ratio(ratios, flags)
        n = int(np.isfinite(ratios).sum()) if ratios else 0
        out.update(reference_s=_median_iqr(_steady(ref_times, warmup))[0], step_ratio=ratio, step_ratio_iqr=ratio_iqr,
                   step_ratio_n=n,
                   noisy=n < MIN_PAIRS or (bool(np.isfinite(ratio_iqr)) and ratio_iqr > NOISY_IQR * ratio))
    return out
