"""Paired-ratio statistics (bench.core.timing): steps that one call of fit's train function ran
together are one pair, not several, and a ratio resting on too few pairs is flagged noisy."""

import math

from bench.core import timing


def _cell(per_call: int, calls: int, ratio_of_call, seconds=0.004):
    """One repeat as the recorder writes it: each step of a call gets an equal share of the call's
    time, the call's reference step and its order."""
    steps, refs, orders = [], [], []
    for c in range(calls):
        for _ in range(per_call):
            steps.append(seconds * ratio_of_call(c) / per_call)
            refs.append(seconds / per_call)
            orders.append(c % 2 == 0)
    return steps, refs, orders


def test_steps_of_one_call_count_as_one_pair():
    steps, refs, orders = _cell(4, 12, lambda c: 1.0 + 0.1 * (c % 3))
    out = timing.summarise([steps], [[0] * len(steps)], 2, [refs], [orders])
    # 48 steps; the first call's first step and two warm-up steps dropped, and with them the rest
    # of call 0, which began in the warm-up: each of calls 1-11 is one pair
    assert out["step_ratio_n"] == 11
    assert math.isclose(out["step_ratio"], 1.1, rel_tol=0.05)


def test_single_steps_are_each_a_pair():
    ratios = [1.0, 1.2, 0.9, 1.1, 1.0, 1.05, 0.95, 1.1, 1.0, 1.0]
    steps, refs, orders = _cell(1, 10, lambda c: ratios[c])
    out = timing.summarise([steps], [[0] * 10], 2, [refs], [orders])
    assert out["step_ratio_n"] == 7 and not out["noisy"]


def test_too_few_pairs_are_flagged_noisy_whatever_their_spread():
    # the quick profile's steps_per_execution cell: 10 steps, four per call: three calls, all alike
    steps, refs, orders = _cell(4, 3, lambda c: 1.0)
    steps, refs, orders = steps[:10], refs[:10], orders[:10]
    out = timing.summarise([steps], [[0] * 10], 2, [refs], [orders])
    assert out["step_ratio_n"] == 2 < timing.MIN_PAIRS
    assert out["step_ratio_iqr"] == 0.0 and out["noisy"]  # no spread measured is not "no spread"


def test_a_call_that_began_in_the_warm_up_does_not_set_the_ratio():
    # steps_per_execution=4 under the quick profile's warm-up of 2: the first call (steps 0-3)
    # carries the XLA compile, and its last step lies past the warm-up; counting it as a pair read
    # a steady ratio of 1 as x4 and more
    steps, refs, orders = _cell(4, 6, lambda c: 60.0 if c == 0 else 1.0)
    out = timing.summarise([steps], [[0] * len(steps)], 2, [refs], [orders])
    assert out["step_ratio_n"] == 5
    assert math.isclose(out["step_ratio"], 1.0, rel_tol=1e-9)
