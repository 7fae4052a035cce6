"""EffectiveLRMonitor and watch_lr on Keras 3: they recover LRs set step by step, catch a schedule
swap that a traced step ignores, and pass a change that takes effect.

The references are independent of the code under test: LRs assigned before each step, and
schedules evaluated in NumPy.
"""

import numpy as np
import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips
import keras  # noqa: E402

from bench import watch  # noqa: E402

LRS = [0.01, 0.02, 0.005, 0.03]
OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.01),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
    "sgd_nesterov_decay": lambda: keras.optimizers.SGD(0.01, momentum=0.5, nesterov=True, weight_decay=0.2),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
}


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(10, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))


def _data(steps=4, batch=32):
    rng = np.random.default_rng(1)
    x = rng.random((steps * batch, 784), dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[np.arange(steps * batch) % 10]


def _compiled(opt, mode):
    model = _model()
    model.compile(opt, "categorical_crossentropy", run_eagerly=mode == "eager", jit_compile=mode == "xla")
    return model


class SetLR(keras.callbacks.Callback):
    """Assigns LRS[step] before each step: the trajectory the monitor must find in the weights."""

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        opt.learning_rate.assign(LRS[int(opt.iterations.numpy()) % len(LRS)])


class Swap(keras.callbacks.Callback):
    """Replaces the optimizer's schedule by another before step `at`."""

    def __init__(self, at, schedule):
        super().__init__()
        self.at, self.schedule = at, schedule

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.at:
            self.model.optimizer.learning_rate = self.schedule


def _decay(initial, rate):
    return keras.optimizers.schedules.ExponentialDecay(initial, decay_steps=1, decay_rate=rate)


@pytest.mark.parametrize("mode,opt", [("function", o) for o in OPTIMIZERS]
                         + [("eager", "sgd_nesterov_decay"), ("xla", "adamw")])
def test_monitor_recovers_assigned_lr(mode, opt):
    x, y = _data()
    model = _compiled(OPTIMIZERS[opt](), mode)
    monitor = watch.EffectiveLRMonitor(expected=lambda step: LRS[step], on_mismatch="raise")
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[SetLR(), monitor])
    assert [r["step"] for r in monitor.records] == [0, 1, 2, 3]
    np.testing.assert_allclose([r["lr_effective"] for r in monitor.records], LRS, rtol=1e-4)


@pytest.mark.parametrize("mode", ["function", "xla"])
def test_schedule_swap_in_traced_fit_raises_naming_the_step(mode):
    x, y = _data()
    model = _compiled(keras.optimizers.SGD(_decay(0.1, 0.9)), mode)
    monitor = watch.EffectiveLRMonitor(on_mismatch="raise")
    with pytest.raises(watch.LRMismatchError) as err:
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0,
                  callbacks=[Swap(2, _decay(0.001, 0.5)), monitor])
    msg = str(err.value)
    # The traced step kept the old schedule: its value at step 2 is what the weights show.
    assert msg.startswith("step 2: ")
    assert f"{0.1 * 0.9**2:.6g}" in msg and f"reports {0.001 * 0.5**2:.6g}" in msg
    assert monitor.records[-1]["lr_effective"] == pytest.approx(0.1 * 0.9**2, rel=1e-5)


@pytest.mark.parametrize("off", [False, True])
@pytest.mark.parametrize("mode", ["function", "xla"])
def test_a_step_reproduced_at_the_reported_lr_skips_the_solve_and_one_that_is_not_is_solved(mode, off, monkeypatch):
    # After the first step (solved in full, which shows Adam's update affine in its LR), a measured
    # step replays the update at the LR the traced step evaluates first: where the weights agree bit
    # for bit, no second replay and no solve are needed. With that LR read 0.1 % off (as if the
    # optimizer applied another than it reports), the replay misses and every step is solved in full.
    from bench.watch import optimizers, watcher

    exact = []
    solved = watcher._solved
    monkeypatch.setattr(watcher, "_solved", lambda values, opt: exact.append(solved(values, opt).exact) or
                        solved(values, opt))
    if off:
        lr_tensor = optimizers.lr_tensor
        monkeypatch.setattr(optimizers, "lr_tensor",
                            lambda opt: None if lr_tensor(opt) is None else lr_tensor(opt) * 1.001)
    x, y = _data(steps=6)
    model = _compiled(keras.optimizers.Adam(_decay(0.01, 0.9)), mode)
    monitor = watch.EffectiveLRMonitor(on_mismatch=None)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    assert len(exact) == 6 and exact[0] is False
    if off:
        assert not any(exact)
    else:
        assert sum(exact) >= 3  # rounding may make the replay miss now and then; those are solved in full
    # Either way the LR is the one the weights show: the schedule, evaluated in NumPy.
    np.testing.assert_allclose([r["lr_effective"] for r in monitor.records], 0.01 * 0.9 ** np.arange(6), rtol=1e-5)


def test_schedule_swap_in_eager_fit_takes_effect():
    x, y = _data()
    model = _compiled(keras.optimizers.SGD(_decay(0.1, 0.9)), "eager")
    monitor = watch.EffectiveLRMonitor(on_mismatch="raise")
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[Swap(2, _decay(0.001, 0.5)), monitor])
    want = [0.1, 0.1 * 0.9, 0.001 * 0.5**2, 0.001 * 0.5**3]
    np.testing.assert_allclose([r["lr_effective"] for r in monitor.records], want, rtol=1e-4)


def test_assign_completes_and_history_holds_the_measurements():
    x, y = _data()
    model = _compiled(keras.optimizers.SGD(0.1, momentum=0.9), "function")

    class Assign(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 2:
                self.model.optimizer.learning_rate.assign(0.02)

    monitor = watch.EffectiveLRMonitor(expected=lambda s: 0.1 if s < 2 else 0.02, on_mismatch="raise")
    history = model.fit(x, y, batch_size=32, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0,
                        callbacks=[Assign(), monitor])
    np.testing.assert_allclose(history.history["lr_effective"], [0.1, 0.02], rtol=1e-4)
    np.testing.assert_allclose(history.history["lr_reported"], [0.1, 0.02], rtol=1e-6)
    np.testing.assert_allclose(history.history["lr_expected"], [0.1, 0.02])


def test_expected_mismatch_warns_with_every_value_and_every_n_steps(tmp_path):
    x, y = _data()
    model = _compiled(keras.optimizers.Adam(0.01), "function")
    monitor = watch.EffectiveLRMonitor(expected=lambda s: 0.02, every=2, log_dir=tmp_path)
    with pytest.warns(watch.LRMismatchWarning) as caught:
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    assert [r["step"] for r in monitor.records] == [0, 2]
    msgs = [str(w.message) for w in caught if issubclass(w.category, watch.LRMismatchWarning)]
    assert msgs[0].startswith("step 0: the effective learning rate ")
    assert float(msgs[0].split()[6]) == pytest.approx(0.01, rel=1e-4)
    assert "does not match the expected one" in msgs[0] and "reports 0.01, expected 0.02" in msgs[0]

    # TensorBoard: the same numbers, read back from the event file.
    scalars = {}
    for path in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    assert scalars["lr_effective"] == [(r["step"], pytest.approx(r["lr_effective"], rel=1e-6)) for r in monitor.records]
    assert [v for _, v in scalars["lr_expected"]] == pytest.approx([0.02, 0.02], rel=1e-6)


@pytest.mark.parametrize("kwargs,bad", [
    (dict(every=0), "every=0"), (dict(rtol=-1.0), "rtol=-1.0"), (dict(on_mismatch="ignore"), "on_mismatch='ignore'"),
    (dict(expected=0.01), "expected=0.01"),
])
def test_bad_arguments_name_the_value(kwargs, bad):
    with pytest.raises(ValueError, match="^" + bad.replace("(", r"\(")):
        watch.EffectiveLRMonitor(**kwargs)


def test_steps_per_execution_is_named_and_training_goes_on():
    x, y = _data()
    model = _model()
    model.compile(keras.optimizers.SGD(0.01), "categorical_crossentropy", steps_per_execution=2)
    monitor = watch.EffectiveLRMonitor()
    with pytest.warns(watch.LRWatchWarning, match="not measurable: steps_per_execution=2"):
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 2 and monitor.records == []


def _loop(model, opt, mode):
    loss_fn = keras.losses.CategoricalCrossentropy()

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    return step if mode == "eager" else tf.function(step, jit_compile=mode == "xla")


@pytest.mark.parametrize("mode,opt", [("function", "sgd_momentum"), ("function", "adam"), ("eager", "adam"),
                                      ("xla", "sgd_momentum")])
def test_watch_lr_in_a_custom_loop(mode, opt):
    x, y = _data()
    model, optimizer = _model(), OPTIMIZERS[opt]()
    with watch.watch_lr(model, optimizer, expected=lambda s: LRS[s], on_mismatch="raise") as w:
        step = w.wrap(_loop(model, optimizer, mode))
        for i, lr in enumerate(LRS):
            optimizer.learning_rate.assign(lr)
            step(x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32])
    np.testing.assert_allclose([r["lr_effective"] for r in w.records], LRS, rtol=1e-4)


def test_watch_lr_catches_a_swap_the_traced_loop_ignores():
    x, y = _data()
    model, optimizer = _model(), keras.optimizers.SGD(_decay(0.1, 0.9))
    with watch.watch_lr(model, optimizer, on_mismatch="raise") as w:
        step = _loop(model, optimizer, "function")
        step(x[:32], y[:32])
        with w.step():
            step(x[32:64], y[32:64])
        optimizer.learning_rate = _decay(0.001, 0.5)
        with pytest.raises(watch.LRMismatchError, match=r"^step 2: the effective learning rate 0\.081 "):
            with w.step():
                step(x[64:96], y[64:96])


def test_watch_lr_says_when_the_step_was_traced_before_the_watch():
    x, y = _data()
    model, optimizer = _model(), keras.optimizers.SGD(0.01)
    step = _loop(model, optimizer, "function")
    step(x[:32], y[:32])
    with watch.watch_lr(model, optimizer, on_mismatch="raise") as w:
        with pytest.raises(RuntimeError, match="traced before the watch began"):
            with w.step():
                step(x[32:64], y[32:64])
    with watch.watch_lr(model, optimizer) as w:  # warn: named once, and the loop goes on
        with pytest.warns(watch.LRWatchWarning, match="traced before the watch began"):
            for i in range(2, 4):
                with w.step():
                    step(x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)])
    assert w.records == [] and len(w.notes) == 1


# The pytest plugin, used as any installed suite would: fixtures by name, no import.

def test_plugin_is_registered_by_entry_point(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("lr_bench")
    assert plugin is not None and plugin.__name__ == "bench.watch.pytest_plugin"
    dists = {dist.project_name for _, dist in pytestconfig.pluginmanager.list_plugin_distinfo()}
    assert "lr-bench" in dists


@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adamw"])
def test_effective_lr_fixture(effective_lr, opt):
    x, y = _data(1)
    model, optimizer = _model(), OPTIMIZERS[opt]()
    optimizer.learning_rate.assign(0.0123)
    got = effective_lr(model, optimizer, _loop(model, optimizer, "function"), (x, y))
    assert got == pytest.approx(0.0123, rel=1e-4)


def test_lr_monitor_fixture_raises_on_a_swap(lr_monitor):
    x, y = _data()
    model = _compiled(keras.optimizers.Adam(_decay(0.01, 0.9)), "function")
    with pytest.raises(watch.LRMismatchError, match="^step 1: "):
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0,
                  callbacks=[Swap(1, _decay(0.5, 0.5)), lr_monitor()])


def test_max_traces_fixture_catches_a_python_float(max_traces):
    model, optimizer = _model(), keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    x, y = _data(2)
    loss_fn = keras.losses.CategoricalCrossentropy()

    @max_traces(1)
    def step(x, y, lr):
        optimizer.learning_rate.assign(lr)
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    step(x[:32], y[:32], 0.01)
    with pytest.raises(watch.RetraceError, match=r"traced 2 times .* lr=0\.005 \(Python float\)"):
        step(x[32:], y[32:], 0.005)


def test_effective_lr_fixture_on_an_unbuilt_model(effective_lr):
    x, y = _data(1)
    keras.utils.set_random_seed(0)
    model, optimizer = keras.Sequential([keras.layers.Dense(10, activation="softmax")]), keras.optimizers.Adam(0.0123)
    got = effective_lr(model, optimizer, _loop(model, optimizer, "function"), (x, y))
    assert got == pytest.approx(0.0123, rel=1e-4)
    assert model.built and optimizer.built  # built by the step itself, as without the fixture


def test_fit_called_again_with_the_same_monitor_does_not_retrace():
    # A monitored fit traces its train step once, with the hook; a second fit call with the same
    # monitor reuses it (before, every fit call traced again) and still measures every step.
    traces = []

    class Counting(keras.Model):
        def train_step(self, data):
            traces.append(1)  # Python: runs once per trace
            return super().train_step(data)

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(10, activation="relu")(inputs)
    model = Counting(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile(keras.optimizers.SGD(0.01), "categorical_crossentropy")
    x, y = _data(steps=3)
    monitor = watch.EffectiveLRMonitor(lambda step: 0.01, on_mismatch="raise")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False, callbacks=[monitor])
    first = len(traces)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False, callbacks=[monitor])
    assert first >= 1 and len(traces) == first
    assert [r["step"] for r in monitor.records] == list(range(6))
    assert all(r["lr_effective"] == pytest.approx(0.01, rel=1e-4) for r in monitor.records)
    # after training the hook is disarmed: a fit without the monitor copies nothing
    count = int(monitor.watcher.snaps.count.numpy())
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    assert int(monitor.watcher.snaps.count.numpy()) == count
