"""What EffectiveLRMonitor costs in model.fit, as a ratio to the same fit without it.

Run with the other benchmarks (``tox -e bench``, or ``pytest tests/benchmarks --benchmark-only
-k watch``). Two steps: the bench's dense model (784 -> 10 -> 10, Adam) and a small transformer
block (self-attention, feed-forward, layer norms; Adam with the transformer tutorial's warm-up
schedule), each at ``every=10`` and ``every=1``. A round fits the same model once bare and once
monitored, in alternating order, and takes the ratio of their mean steady step times (the clock
reads between batch ends after warm-up, so a measured step counts in full); the figure is the
median of the rounds' paired ratios with its IQR. It is printed in the run's summary and saved in
``extra_info``; there is no timing assertion, as timings on a shared machine are no pass/fail
matter. Targets: at most +5 % at ``every=10``, at most +25 % at ``every=1``.

``test_first_fit_cost`` prints what the monitor adds to a first ``fit`` call, apart from the steady
steps: its hooked train step traces and compiles more than the bare one.

``test_single_replay_share`` prints how many measured steps one replay at the reported LR settled
(the cheap path), per optimizer and compile mode, on the dense model.
"""

import os
import time

import numpy as np
import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips
import keras  # noqa: E402

from bench.watch import EffectiveLRMonitor  # noqa: E402

# Many short rounds: on a shared machine the load moves between two fits by more than the
# monitor costs, and only pairing many of them brings the median ratio out of that noise.
WARMUP = 10
ROUNDS = {"dense": 25, "transformer": 11}
STEPS = {"dense": 100, "transformer": 40}


class StepClock(keras.callbacks.Callback):
    """Mean seconds per step after warm-up, between batch ends; with a monitor (which runs
    before it), also which steps the monitor measured."""

    def __init__(self, monitor=None):
        super().__init__()
        self.monitor = monitor

    def on_train_begin(self, logs=None):
        self.ends, self.measured = [], []
        self._records = len(self.monitor.records) if self.monitor is not None else 0

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())
        if self.monitor is not None:
            self.measured.append(len(self.monitor.records) > self._records)
            self._records = len(self.monitor.records)

    def split_s(self):
        """Median seconds of the measured steps and of the others, after warm-up."""
        d = np.diff(self.ends)[WARMUP:]
        m = np.array(self.measured[1:])[WARMUP:]
        return float(np.median(d[m])) if m.any() else float("nan"), float(np.median(d[~m]))

    def mean_step_s(self):
        return (self.ends[-1] - self.ends[WARMUP]) / (len(self.ends) - 1 - WARMUP)


class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """The transformer tutorial's schedule: d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)."""

    def __init__(self, d_model, warmup_steps=4000):
        super().__init__()
        self.d_model, self.warmup_steps = float(d_model), warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32) + 1.0
        return self.d_model ** -0.5 * tf.minimum(tf.math.rsqrt(step), step * self.warmup_steps ** -1.5)


def _dense(steps):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(10, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((32 * steps, 784), dtype=np.float32)
    return model, x, np.eye(10, dtype=np.float32)[np.arange(32 * steps) % 10]


def _transformer(steps, seq=32, d_model=64, heads=4, vocab=500):
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(seq,), dtype="int32")
    h = keras.layers.Embedding(vocab, d_model)(tokens)
    attended = keras.layers.MultiHeadAttention(heads, d_model // heads, dropout=0.1)(h, h)
    h = keras.layers.LayerNormalization()(h + keras.layers.Dropout(0.1)(attended))
    ff = keras.layers.Dense(d_model, )(keras.layers.Dense(4 * d_model, activation="relu")(h))
    h = keras.layers.LayerNormalization()(h + keras.layers.Dropout(0.1)(ff))
    model = keras.Model(tokens, keras.layers.Dense(vocab)(h))
    model.compile(keras.optimizers.Adam(WarmUp(d_model), beta_1=0.9, beta_2=0.98, epsilon=1e-9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab, (32 * steps, seq)).astype("int32")
    return model, x, np.roll(x, -1, axis=1)


def _label() -> str:
    # The benchmark's own process keeps about one core busy: beyond that, something else ran beside it.
    load = os.getloadavg()[0]
    return f"measured under load (1-min load average {load:.1f} on {os.cpu_count()} cores)" if load > 1.5 else ""


@pytest.mark.parametrize("every", [10, 1])
@pytest.mark.parametrize("step", ["dense", "transformer"])
def test_monitor_overhead(benchmark, figures, step, every):
    model, x, y = (_dense if step == "dense" else _transformer)(STEPS[step])
    monitor = EffectiveLRMonitor(every=every)
    times = {"bare": [], "monitor": []}
    split = []  # per monitored fit: median measured step, median other step

    def fit(kind):
        clock = StepClock(monitor if kind == "monitor" else None)
        extra = [monitor] if kind == "monitor" else []
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[*extra, clock])
        if kind == "monitor":
            split.append(clock.split_s())
        else:
            split_bare.append(float(np.median(np.diff(clock.ends)[WARMUP:])))
        return clock.mean_step_s()

    split_bare = []

    fit("bare"), fit("monitor")  # tracing, off the clock
    split.clear(), split_bare.clear()

    def one_round():
        order = ["bare", "monitor"] if len(times["bare"]) % 2 == 0 else ["monitor", "bare"]
        for kind in order:
            times[kind].append(fit(kind))

    benchmark.group = "watch overhead"
    benchmark.pedantic(one_round, rounds=ROUNDS[step])
    ratios = np.array(times["monitor"]) / np.array(times["bare"])
    q1, median, q3 = (float(q) for q in np.percentile(ratios, [25, 50, 75]))
    measured = len(monitor.records)
    # Inside the monitored fits: a measured step and an unmeasured one, each against the bare fit's
    # median step of the same round (less exposed to load drifts between fits than the means).
    bare_med = np.array(split_bare)
    on = float(np.nanmedian(np.array([m for m, _ in split]) / bare_med))
    off = float(np.nanmedian(np.array([o for _, o in split]) / bare_med)) if every > 1 else float("nan")
    benchmark.extra_info.update(step=step, every=every, bare_step_s=times["bare"], monitor_step_s=times["monitor"],
                                ratios=ratios.tolist(), median_ratio=median, iqr=[q1, q3], records=measured,
                                measured_step_ratio=on, unmeasured_step_ratio=off)
    figures.append(f"EffectiveLRMonitor every={every}, {step} step (keras3 fit): bare "
                   f"{np.median(times['bare']) * 1e3:.2f} ms/step, overhead {median - 1:+.1%} (IQR {q1 - 1:+.1%} to "
                   f"{q3 - 1:+.1%}, median of {ROUNDS[step]} paired rounds; {measured} steps measured); median step against bare: measured {on - 1:+.0%}, "
                   f"unmeasured {'n/a' if every == 1 else format(off - 1, '+.1%')} {_label()}".rstrip())


FIRST_FIT_ROUNDS = 5


@pytest.mark.parametrize("mode", ["function", "xla"])
def test_first_fit_cost(benchmark, figures, mode):
    # A fresh model per fit, so each call traces (and under XLA compiles) its train step anew; bare
    # and monitored alternate in order, round after round, and each round gives one difference.
    seconds = {"bare": [], "monitor": []}

    def first_fit(kind):
        model, x, y = _dense(6)
        model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", jit_compile=mode == "xla")
        callbacks = [EffectiveLRMonitor()] if kind == "monitor" else []
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)
        seconds[kind].append(time.perf_counter() - t0)

    def one_round():
        order = ["bare", "monitor"] if len(seconds["bare"]) % 2 == 0 else ["monitor", "bare"]
        for kind in order:
            first_fit(kind)

    one_round()  # Keras's and the monitor's own first imports and caches, off the record
    seconds["bare"].clear(), seconds["monitor"].clear()
    benchmark.group = "watch first fit"
    benchmark.pedantic(one_round, rounds=FIRST_FIT_ROUNDS)
    extra = np.array(seconds["monitor"]) - np.array(seconds["bare"])
    q1, median, q3 = (float(q) for q in np.percentile(extra, [25, 50, 75]))
    benchmark.extra_info.update(mode=mode, bare_s=seconds["bare"], monitor_s=seconds["monitor"], extra_s=extra.tolist())
    figures.append(f"EffectiveLRMonitor {mode} (keras3 fit, dense, Adam, 6 steps, a fresh model each): first fit call "
                   f"{np.median(seconds['bare']):.2f} s bare, {median:+.2f} s with the monitor (IQR {q1:+.2f} to {q3:+.2f} s, "
                   f"{FIRST_FIT_ROUNDS} paired rounds) {_label()}".rstrip())


SHARE_OPTIMIZERS = {
    "SGD(momentum=0.9)": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
    "Adam": lambda: keras.optimizers.Adam(1e-3),
    "AdamW": lambda: keras.optimizers.AdamW(1e-3),
    "RMSprop": lambda: keras.optimizers.RMSprop(1e-3),
    "Adam(ExponentialDecay)": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, 3, 0.9)),
}


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_single_replay_share(benchmark, figures, mode):
    shares = {}

    def run():
        for name, make in SHARE_OPTIMIZERS.items():
            model, x, y = _dense(30)
            model.compile(make(), "categorical_crossentropy", run_eagerly=mode == "eager", jit_compile=mode == "xla")
            monitor = EffectiveLRMonitor(every=1)
            model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
            solves = monitor.watcher.solves
            shares[name] = (solves["single"], solves["single"] + solves["full"])

    benchmark.group = "watch single replay"
    benchmark.pedantic(run, rounds=1)
    benchmark.extra_info.update(mode=mode, shares=shares)
    figures.append(f"EffectiveLRMonitor {mode} (keras3 fit, dense, every=1): steps settled by one replay: "
                   + ", ".join(f"{name} {one}/{n}" for name, (one, n) in shares.items()))
