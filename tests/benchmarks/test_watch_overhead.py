"""What EffectiveLRMonitor costs in model.fit: mean seconds per step with and without it.

Run with the other benchmarks (``pytest tests/benchmarks --benchmark-only``). The figure is
printed in the run's summary and saved in ``extra_info``; there is no timing assertion, as
timings on a shared machine are no pass/fail matter. Bare and monitored fits alternate within a
round, each going first in every other round, so drifts in machine load hit both alike. The
time spent inside the monitor's callbacks is also summed: the overhead seen from inside, which a
loaded machine blurs less than the difference of two fits.
"""

import time

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from bench.watch import EffectiveLRMonitor  # noqa: E402

STEPS, WARMUP, ROUNDS = 300, 20, 5


class StepClock(keras.callbacks.Callback):
    """Mean seconds per step after warm-up, between batch ends: the monitor's measured steps
    count in full (a median would hide them)."""

    def on_train_begin(self, logs=None):
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())

    def mean_step_s(self):
        return (self.ends[-1] - self.ends[WARMUP]) / (len(self.ends) - 1 - WARMUP)


class TimedMonitor(EffectiveLRMonitor):
    """The monitor, with the wall time spent in its batch callbacks summed: the overhead seen
    from inside, free of the load drifts that blur the difference of two fits."""

    spent = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        t0 = time.perf_counter()
        super().on_train_batch_begin(batch, logs)
        self.spent += time.perf_counter() - t0

    def on_train_batch_end(self, batch, logs=None):
        t0 = time.perf_counter()
        super().on_train_batch_end(batch, logs)
        self.spent += time.perf_counter() - t0


def _model(opt):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(10, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile(opt, "categorical_crossentropy")
    return model


@pytest.mark.parametrize("opt", ["sgd_momentum", "adam"])
@pytest.mark.parametrize("every", [10, 1])
def test_monitor_overhead(benchmark, figures, opt, every):
    rng = np.random.default_rng(0)
    x = rng.random((32 * STEPS, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(32 * STEPS) % 10]
    model = _model(keras.optimizers.SGD(0.01, momentum=0.9) if opt == "sgd_momentum" else keras.optimizers.Adam(1e-3))
    times = {"bare": [], "monitor": []}
    monitor, inside = TimedMonitor(every=every), []

    def one_round():
        order = list(times) if len(times["bare"]) % 2 == 0 else list(times)[::-1]  # neither always goes first
        for kind in order:
            clock = StepClock()
            monitor.spent = 0.0
            extra = [monitor] if kind == "monitor" else []
            model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[*extra, clock])
            times[kind].append(clock.mean_step_s())
            if kind == "monitor":  # its own share of the fit after the first round's tracing
                inside.append(monitor.spent / (clock.ends[-1] - clock.ends[0]))

    benchmark.group = "watch overhead"
    benchmark.pedantic(one_round, rounds=ROUNDS)
    bare, monitored = float(np.median(times["bare"])), float(np.median(times["monitor"]))
    overhead = monitored / bare - 1.0
    share = float(np.median(inside[1:]))
    benchmark.extra_info.update(opt=opt, every=every, bare_step_s=times["bare"], monitor_step_s=times["monitor"],
                                overhead=overhead, share_in_monitor=inside)
    figures.append(f"EffectiveLRMonitor every={every}, keras3 fit function {opt}: bare {bare * 1e3:.3f} ms/step, "
                   f"monitored {monitored * 1e3:.3f} ms/step, overhead {overhead:+.1%}; time inside the monitor "
                   f"{share:.1%} of the fit (medians of {ROUNDS} rounds)")
