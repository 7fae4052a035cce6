"""pytest fixtures that check a user's own training code: does the LR change take effect, and does
the train step stay traced once.

Registered through the ``pytest11`` entry point, so installing lr-bench makes them available to
any test suite. TensorFlow is imported only when a test asks for a fixture: collecting a suite
that never uses them stays free of it.

    def test_lr_change_takes_effect(effective_lr):
        model, opt, step = build()           # step: the user's train step, not yet called
        opt.learning_rate.assign(0.01)
        assert effective_lr(model, opt, step, (x, y)) == pytest.approx(0.01, rel=1e-3)

    def test_step_does_not_retrace(max_traces):
        step = max_traces(1)(train_step)     # raises RetraceError at a second trace
        for x, y in batches:
            step(x, y)
"""

from __future__ import annotations

import pytest


@pytest.fixture
def effective_lr():
    """``effective_lr(model, optimizer, step_fn, batch) -> float``: runs ``step_fn(*batch)`` once
    and returns the learning rate that step applied, solved by replaying it (any optimizer whose
    update is affine in its LR; the model and optimizer may be unbuilt). Call it before ``step_fn``
    is first traced: the replay is added by a hook on the optimizer call inside the step. Raises
    ``RuntimeError`` naming why when the step cannot be measured."""
    from bench.watch import measure_step

    return measure_step


@pytest.fixture
def max_traces():
    """``bench.watch.max_traces``: ``max_traces(n)(fn)`` guards a function or ``tf.function``;
    ``with max_traces(n, fn):`` checks the traces made in the block."""
    from bench.watch import max_traces as guard

    return guard


@pytest.fixture
def lr_monitor():
    """``lr_monitor(expected=None, **kwargs)``: an ``EffectiveLRMonitor`` that raises on a mismatch,
    to pass to ``model.fit(callbacks=[...])``."""
    from bench.watch import EffectiveLRMonitor

    def make(expected=None, **kwargs):
        kwargs.setdefault("on_mismatch", "raise")
        return EffectiveLRMonitor(expected, **kwargs)

    return make
