import numpy as np
import pytest

from bench.core import timing, verdicts


def test_verdicts():
    intended, baseline = np.array([0.1, 0.1]), np.array([0.01, 0.01])
    assert verdicts.verdict(intended * (1 + 5e-4), intended, baseline, raised=False) == "effective"
    assert verdicts.verdict(baseline, intended, baseline, raised=False) == "ignored"
    assert verdicts.verdict(np.array([0.1, 0.05]), intended, baseline, raised=False) == "wrong"
    assert verdicts.verdict(intended * 1.002, intended, baseline, raised=False) == "wrong"
    assert verdicts.verdict(intended, intended, baseline, raised=True) == "raises"
    assert verdicts.verdict(np.array([np.nan, 0.1]), intended, baseline, raised=False) == "wrong"


def test_reported_ok_needs_every_step():
    eff = np.array([0.1, 0.1, 0.1])
    assert verdicts.reported_ok(eff, eff)
    assert not verdicts.reported_ok(np.array([0.1, 0.01, 0.1]), eff)
    assert not verdicts.reported_ok(np.array([np.nan] * 3), eff)


def test_timing_summary_separates_first_call_and_retraces():
    times = [[1.0, 0.02, 0.01, 0.01, 0.05, 0.01, 0.01]]
    traces = [[1, 1, 1, 1, 2, 2, 2]]
    s = timing.summarise(times, traces, warmup=1)
    assert s["first_call_s"] == 1.0
    assert s["step_s_median"] == pytest.approx(0.01)
    assert s["step_s_iqr"] == pytest.approx(0.0)
    assert s["retrace_s"] == pytest.approx(0.04)


def test_retrace_cost_is_measured_against_steps_that_did_not_retrace():
    # every step after the change retraces: the overall median is itself a retrace
    times = [[1.0, 0.01, 0.01, 0.5, 0.5, 0.5, 0.5], [1.0, 0.01, 0.01, 0.3, 0.3, 0.3, 0.3]]
    traces = [[1, 1, 1, 2, 3, 4, 5], [1, 1, 1, 2, 3, 4, 5]]
    s = timing.summarise(times, traces, warmup=0)
    assert s["step_s_median"] == pytest.approx(0.3)
    assert s["retrace_s"] == pytest.approx((4 * 0.49 + 4 * 0.29) / 2)


def test_errors_become_one_line_with_the_real_message():
    from bench.measure.cells import one_line

    traced = ValueError("in user code:\n\n    File \"x.py\", line 3, in step\n        f()\n\n    ValueError: shapes differ")
    assert one_line(traced) == "ValueError: shapes differ"
    assert one_line(RuntimeError("boom\nsecond line")) == "RuntimeError: boom"
    assert one_line(KeyError()) == "KeyError"
