"""What the monitor says, and where: a no-op ``optimizer.lr = x`` on Keras 3 at once, with or
without ``expected``; one warning per mismatch episode plus its summary, pointing at the user's
line; weights that stop being finite said once, raised under on_mismatch="raise"."""

import warnings

import numpy as np
import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips
import keras  # noqa: E402

from bench import watch  # noqa: E402


def _fit(callbacks, opt, steps=6, **compile_kwargs):
    rng = np.random.default_rng(0)
    x, y = rng.random((16 * steps, 5), dtype=np.float32), rng.random((16 * steps, 1), dtype=np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(opt, "mse", **compile_kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)
    return history, [w for w in caught if issubclass(w.category, watch.LRWatchWarning)]


class Call(keras.callbacks.Callback):
    """Runs ``fn(optimizer)`` before step ``at``."""

    def __init__(self, at, fn):
        super().__init__()
        self.at, self.fn = at, fn

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.at:
            self.fn(self.model.optimizer)


def _set_lr(opt):
    opt.lr = 0.001  # tf.keras 2's alias; a new attribute on a Keras 3 optimizer


def test_lr_attribute_write_is_said_at_once_without_expected():
    monitor = watch.EffectiveLRMonitor()
    history, said = _fit([Call(2, _set_lr), monitor], keras.optimizers.SGD(0.1))
    assert len(history.history["loss"]) == 1
    assert len(said) == 1 and said[0].category is watch.LRMismatchWarning
    assert str(said[0].message).startswith("optimizer.lr = 0.001 set an attribute that Keras 3 optimizers do not have")
    assert said[0].filename == __file__  # the user's line, not the library's
    assert [round(r["lr_effective"], 6) for r in monitor.records] == [0.1] * 6  # and indeed nothing changed


def test_lr_attribute_write_raises_under_raise():
    with pytest.raises(watch.LRMismatchError, match=r"^optimizer\.lr = 0\.001 "):
        _fit([Call(2, _set_lr), watch.EffectiveLRMonitor(on_mismatch="raise")], keras.optimizers.SGD(0.1))


def _swap(opt):
    opt.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.001, decay_steps=1, decay_rate=0.5)


def test_a_mismatch_is_one_episode_warned_where_it_starts_and_summarised_at_the_end():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    monitor = watch.EffectiveLRMonitor()
    _, said = _fit([Call(2, _swap), monitor], keras.optimizers.SGD(schedule), steps=8)
    assert len(monitor.records) == 8
    assert [w.category for w in said] == [watch.LRMismatchWarning] * 2
    start, summary = (str(w.message) for w in said)
    assert start.startswith("step 2: the effective learning rate 0.081 ")
    assert start.endswith("further mismatches are summarised when they stop")
    assert summary.startswith("steps 2-7: the effective learning rate differed at 6 measured step(s): effective "
                              f"{0.1 * 0.9**7:.6g} to 0.081, reported {0.001 * 0.5**7:.6g} to 0.00025")
    assert summary.endswith("training ended")
    assert all(w.filename == __file__ for w in said)


def test_warnings_can_be_filtered_by_class():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=watch.LRMismatchWarning)
        with pytest.raises(watch.LRMismatchWarning):
            _fit_plain([Call(2, _swap), watch.EffectiveLRMonitor()], keras.optimizers.SGD(schedule))


def _fit_plain(callbacks, opt):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(opt, "mse")
    model.fit(rng.random((64, 5), dtype=np.float32), rng.random((64, 1), dtype=np.float32), batch_size=16,
              shuffle=False, verbose=0, callbacks=callbacks)


def _nan_lr(opt):
    opt.learning_rate.assign(float("nan"))


def test_weights_that_stop_being_finite_are_said_once_and_training_goes_on():
    monitor = watch.EffectiveLRMonitor()
    history, said = _fit([Call(2, _nan_lr), monitor], keras.optimizers.SGD(0.1))
    assert len(history.history["loss"]) == 1
    assert [str(w.message) for w in said] == [
        "not measurable: step 2: the weights are no longer all finite (NaN or inf) after the update; the learning "
        "rate cannot be measured from here on"]
    assert [r["step"] for r in monitor.records] == [0, 1, 2] and np.isnan(monitor.records[-1]["lr_effective"])


def test_weights_that_stop_being_finite_raise_under_raise():
    with pytest.raises(watch.LRMismatchError, match=r"^step 2: the weights are no longer all finite"):
        _fit([Call(2, _nan_lr), watch.EffectiveLRMonitor(on_mismatch="raise")], keras.optimizers.SGD(0.1))
