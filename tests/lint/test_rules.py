"""Every lint rule: code it must flag and code it must not, in several import spellings.

Each example is linted with every rule selected, against the Keras 3 evidence shipped with the
package unless the case names another target; a must-flag case checks its rule's code is among
the findings and a must-not-flag case that it is not.
"""

import textwrap

import pytest

from bench.lint import lint_text
from bench.lint.rules import REGISTRY

EVERY = tuple(REGISTRY)


def codes(src, target="keras3", select=EVERY, show_all=False):
    return [f.code for f in lint_text(textwrap.dedent(src), "example.py", target, select, show_all)]


FLAG = {
    "LR001": [
        """
        import keras
        opt = keras.optimizers.SGD(0.01)
        opt.lr = 0.1
        """,
        """
        from tensorflow import keras
        opt = keras.optimizers.Adam()
        opt.lr *= 0.5
        """,
        """
        import tensorflow as tf
        model = tf.keras.Sequential()
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
        opt = model.optimizer
        tf.keras.backend.set_value(opt.lr, 0.01)
        """,
        """
        from tf_keras import backend as K
        def set_lr(optimizer, value):
            K.set_value(optimizer.lr, value)
        """,
        """
        import pytest
        keras = pytest.importorskip("keras")

        def set_lr(opt):
            opt.lr = 0.001
        """,
        """
        import keras
        class Warm(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                print(self.model.optimizer.lr)
        """,
    ],
    "LR002": [
        """
        import keras
        opt = keras.optimizers.SGD(0.01)
        lr = opt.learning_rate
        lr = 0.1
        """,
        """
        import tf_keras as keras
        def halve(model):
            lr = float(model.optimizer.learning_rate)
            lr *= 0.5
        """,
        """
        from tensorflow.keras import backend as K
        from tensorflow.keras.optimizers import Adam
        opt = Adam(1e-3)
        current = K.get_value(opt.learning_rate)
        current = current / 10
        """,
    ],
    "LR003": [
        """
        import tensorflow as tf
        import keras
        sched = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
        opt = keras.optimizers.SGD(learning_rate=sched)

        @tf.function
        def train_step(x):
            opt.apply_gradients([])

        train_step(1)
        opt.learning_rate = keras.optimizers.schedules.CosineDecay(0.05, 100)
        train_step(2)
        """,
        """
        from tensorflow.keras.optimizers.schedules import ExponentialDecay
        from tensorflow.keras.optimizers import Adam
        from tensorflow import keras
        model = keras.Sequential()
        model.compile(optimizer=Adam(ExponentialDecay(1e-3, 100, 0.9)), loss="mse")
        model.fit(x, y)
        model.optimizer.learning_rate = ExponentialDecay(1e-4, 100, 0.9)
        model.fit(x, y)
        """,
        """
        import tensorflow as tf
        import keras
        opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))

        def step_fn():
            opt.apply_gradients([])

        train_step = tf.function(step_fn)
        train_step()
        opt.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
        run(train_step)  # used before the retrace below: still the old schedule
        train_step = tf.function(step_fn)
        """,
    ],
    "LR004": [
        """
        import keras
        opt = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        opt.learning_rate = 0.1
        """,
    ],
    "LR005": [
        """
        import tf_keras as keras
        sched = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
        opt = keras.optimizers.Adam(sched)
        opt.learning_rate.assign(0.5)
        """,
        """
        import tensorflow as tf
        opt = tf.keras.optimizers.SGD(tf.keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        tf.keras.backend.set_value(opt.learning_rate, 0.5)
        """,
    ],
    "LR006": [
        """
        import tensorflow as tf
        lr = 0.01

        @tf.function
        def train_step():
            opt.learning_rate.assign(lr)

        train_step()
        lr = 0.1
        train_step()
        """,
        """
        from tensorflow import function
        base_lr = 0.01

        @function(jit_compile=True)
        def step():
            optimizer.learning_rate.assign(base_lr)

        for epoch in range(3):
            base_lr *= 0.5
            step()
        """,
        """
        import tensorflow as tf
        lr = 1e-3

        def body():
            opt.learning_rate.assign(lr)

        def schedule_lr(epoch):
            global lr
            lr = 1e-3 * 0.9 ** epoch

        step = tf.function(body)
        """,
    ],
    "LR007": [
        """
        import tensorflow as tf

        @tf.function
        def train_step(lr):
            opt.learning_rate.assign(lr)

        for lr in (0.01, 0.02, 0.03):
            train_step(lr)
        train_step(0.04)
        """,
        """
        import tensorflow as tff
        def body(x, lr):
            return x
        step = tff.function(body)
        base = 0.1
        for epoch in range(10):
            base *= 0.9
            step(1, lr=base * 0.5)
        """,
        """
        import tensorflow as tf

        @tf.function
        def scale(x, lr):
            return x * lr

        scale(x, 0.01)
        scale(x, 0.005)
        """,
    ],
    "LR008": [
        """
        import keras
        opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        model = keras.Sequential()
        model.compile(optimizer=opt, loss="mse")
        model.fit(x, y, callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.9)])
        """,
        """
        from tf_keras.callbacks import ReduceLROnPlateau as Plateau
        from tf_keras.optimizers.schedules import CosineDecay
        import tf_keras
        model = tf_keras.Sequential()
        model.compile(tf_keras.optimizers.Adam(CosineDecay(1e-3, 1000)), loss="mse")
        cbs = [Plateau(patience=2)]
        """,
    ],
    "LR009": [
        """
        import keras

        class Warmup(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 6:
                    self.model.optimizer.learning_rate = 0.1

        model = keras.Sequential()
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
        model.fit(x, y, callbacks=[Warmup()])
        """,
        """
        from tensorflow import keras
        from tensorflow.keras import backend as K
        SPE = 8
        model = keras.Sequential()
        model.compile(optimizer="adam", loss="mse", steps_per_execution=SPE)
        cb = keras.callbacks.LambdaCallback(on_batch_begin=lambda b, logs: K.set_value(model.optimizer.learning_rate, 0.1))
        """,
    ],
    "LR010": [
        "import keras\nopt = keras.optimizers.Adam(lr=0.1)\n",
        "import tensorflow as tf\nopt = tf.keras.optimizers.legacy.SGD(lr=0.1, momentum=0.9)\n",
        "from tf_keras.optimizers import RMSprop\nopt = RMSprop(lr=1e-3)\n",
    ],
    "LR011": [
        "import keras\nopt = keras.optimizers.SGD(learning_rate=0.1, decay=1e-4)\n",
        "from tensorflow.keras.optimizers import Adam\nopt = Adam(1e-3, decay=0.01)\n",
    ],
    "LR012": [
        """
        import keras
        opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        opt.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
        """,
    ],
    "LR013": [
        """
        import tensorflow as tf
        opt = tf.keras.optimizers.Adam(1e-3)
        ckpt = tf.train.Checkpoint(optimizer=opt)
        opt.learning_rate = 1e-4
        ckpt.restore(path)
        """,
        """
        import keras
        def resume(model, path):
            model.optimizer.learning_rate.assign(1e-4)
            model.load_weights(path)
        """,
    ],
    "LR014": [
        """
        import keras
        model = keras.Sequential()
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
        """
        import keras
        model = keras.Sequential()
        model.load_weights(path)
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
        """
        import keras
        model = keras.Sequential()
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        model.load_weights(path)
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
    ],
    "LR015": [
        """
        import keras
        model = keras.Sequential()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(x, y, epochs=5)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        model.fit(x, y, epochs=5)
        """,
    ],
    "LR016": [
        """
        import keras

        class Swap(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 5:
                    self.model.optimizer = keras.optimizers.Adam(1e-4)
        """,
    ],
    "LR017": [
        """
        from tensorflow import keras
        opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, 1000))
        opt.iterations.assign(0)
        """,
    ],
}

CLEAN = {
    "LR001": [
        "import keras\nopt = keras.optimizers.SGD(0.01)\nopt.learning_rate = 0.1\n",
        "args.lr = 0.1\nprint(config.lr)\n",  # not an optimizer
        # `opt` is taken for an optimizer only in code that imports TF or Keras
        "def describe(node, opt):\n    return opt.lr == 'schedule'\n",
        "import keras\nopt = keras.optimizers.SGD(0.01)\nx = opt.learning_rate\n",
    ],
    "LR002": [
        "import keras\nopt = keras.optimizers.SGD(0.01)\nlr = opt.learning_rate\nlr.assign(0.1)\n",
        "import keras\nopt = keras.optimizers.SGD(0.01)\nlr = float(opt.learning_rate)\nlr *= 0.5\nopt.learning_rate = lr\n",
        "import keras\nopt = keras.optimizers.SGD(0.01)\nlr = float(opt.learning_rate)\nlr = lr / 2\nopt.learning_rate.assign(lr)\n",
        "lr = 0.1\nlr = 0.2\n",
        # converting the value read is not a rebind
        "def reported(optimizer):\n    value = optimizer.learning_rate\n"
        "    value = value.numpy() if hasattr(value, 'numpy') else value\n    return float(value)\n",
    ],
    "LR003": [
        """
        import tensorflow as tf
        import keras
        opt = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))

        def step_fn():
            opt.apply_gradients([])

        train_step = tf.function(step_fn)
        train_step()
        opt.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
        train_step = tf.function(step_fn)
        train_step()
        """,
        """
        import keras
        model = keras.Sequential()
        model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)))
        model.fit(x, y)
        model.optimizer.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
        model.make_train_function(force=True)
        """,
        """
        import keras
        opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))

        def train_step(grads):  # eager: the swap is seen
            opt.apply_gradients(grads)

        opt.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
        """,
    ],
    "LR004": [
        "import keras\nopt = keras.optimizers.SGD(learning_rate=0.01)\nopt.learning_rate = 0.1\n",
    ],
    "LR005": [
        "import keras\nopt = keras.optimizers.SGD(learning_rate=0.01)\nopt.learning_rate.assign(0.1)\n",
    ],
    "LR006": [
        """
        import tensorflow as tf

        @tf.function
        def train_step(lr):
            opt.learning_rate.assign(lr)

        lr = 0.1
        train_step(tf.constant(lr))
        """,
        """
        import tensorflow as tf
        BASE = 0.01

        @tf.function
        def train_step():
            scale = 2.0
            opt.learning_rate.assign(BASE * scale)
        """,
        """
        import tensorflow as tf
        SCALE = 2.0

        @tf.function
        def loss(x):
            return x * SCALE  # frozen too, but not an LR

        SCALE = 3.0
        """,
        """
        import tensorflow as tf
        lr = tf.Variable(0.01)

        @tf.function
        def train_step():
            opt.learning_rate.assign(lr)

        lr.assign(0.1)
        """,
    ],
    "LR007": [
        """
        import tensorflow as tf

        @tf.function
        def train_step(lr):
            opt.learning_rate.assign(lr)

        for lr in (0.01, 0.02):
            train_step(tf.constant(lr))
        """,
        """
        def train_step(lr):  # not compiled: no trace to repeat
            opt.learning_rate.assign(lr)

        train_step(0.1)
        """,
        """
        import tensorflow as tf

        @tf.function
        def train_step(x, y):
            return x

        for x, y in dataset:
            train_step(x, y)
        """,
        """
        import tensorflow as tf

        @tf.function
        def train_step(x, dropout):
            return x

        for x in batches:
            train_step(x, 0.5)  # one constant float: one trace
        train_step(x, 0.5)
        """,
    ],
    "LR008": [
        """
        import keras
        model = keras.Sequential()
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        model.fit(x, y, callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.9)])
        """,
    ],
    "LR009": [
        """
        import keras

        class Warmup(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.model.optimizer.learning_rate = 0.1

        model = keras.Sequential()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, callbacks=[Warmup()])
        """,
        """
        import keras

        class PerEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.model.optimizer.learning_rate = 0.1

        model = keras.Sequential()
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
        model.fit(x, y, callbacks=[PerEpoch()])
        """,
    ],
    "LR010": [
        "import keras\nopt = keras.optimizers.Adam(learning_rate=0.1)\n",
        "def make(lr=0.1):\n    return build(lr=lr)\n",
    ],
    "LR011": [
        "import keras\nopt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4)\n",
        "import keras\ns = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)\n",
    ],
    "LR012": [
        """
        import keras

        class Restarted(keras.optimizers.schedules.LearningRateSchedule):
            def __init__(self, schedule, start):
                self.schedule, self.start = schedule, start

            def __call__(self, step):
                return self.schedule(step - self.start)

        opt = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        opt.learning_rate = Restarted(keras.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5), 6)
        """,
    ],
    "LR013": [
        """
        import tensorflow as tf
        opt = tf.keras.optimizers.Adam(1e-3)
        ckpt = tf.train.Checkpoint(optimizer=opt)
        ckpt.restore(path)
        opt.learning_rate = 1e-4
        """,
    ],
    "LR014": [
        """
        import keras
        import tensorflow as tf
        model = keras.Sequential()
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, 1000)), loss="mse")
        tf.train.Checkpoint(model=model, optimizer=model.optimizer).restore(path)
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
        """
        import keras
        model = keras.models.load_model(path)
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
        """
        import keras
        model = keras.Sequential()
        model.compile(keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(x, y, initial_epoch=5, epochs=10)
        """,
    ],
    "LR015": [
        """
        import keras
        model = keras.Sequential()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        model.fit(x, y, epochs=5)
        """,
        """
        import keras
        opt = keras.optimizers.Adam(1e-3)
        model = keras.Sequential()
        model.compile(opt, "mse")
        model.fit(x, y)
        model.layers[0].trainable = True
        model.compile(opt, "mse")  # fine-tuning: the same optimizer, its LR untouched
        model.fit(x, y)
        """,
    ],
    "LR016": [
        """
        import keras

        class Lower(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.model.optimizer.learning_rate = 1e-4
        """,
        "trainer.optimizer = make_optimizer()\n",  # not known to be an optimizer
        "def use(ctx, optimizer):\n    ctx.optimizer = optimizer\n",  # not a model's
    ],
    "LR017": [
        "import keras\nopt = keras.optimizers.Adam(1e-3)\nopt.learning_rate.assign(1e-4)\n",
        "counter.iterations.assign(0)\n",
    ],
}


def test_every_rule_has_examples_both_ways():
    assert set(FLAG) == set(REGISTRY) == set(CLEAN)


@pytest.mark.parametrize("code,src", [(c, s) for c, srcs in FLAG.items() for s in srcs],
                         ids=lambda v: v if isinstance(v, str) and v.startswith("LR") else "")
def test_flags(code, src):
    # the pattern is found; whether it is reported as a warning is the evidence's call (below)
    assert code in codes(src, show_all=True), textwrap.dedent(src)


@pytest.mark.parametrize("code,src", [(c, s) for c, srcs in CLEAN.items() for s in srcs],
                         ids=lambda v: v if isinstance(v, str) and v.startswith("LR") else "")
def test_does_not_flag(code, src):
    assert code not in codes(src), textwrap.dedent(src)


def test_a_pattern_fine_on_the_target_is_not_reported_but_shown_with_all():
    src = "import keras\nopt = keras.optimizers.SGD(0.01)\nopt.lr = 0.1\n"
    assert codes(src, target="keras3") == ["LR001"]
    assert codes(src, target="tf_keras") == []  # measured effective there
    shown = lint_text(src, "x.py", "tf_keras", EVERY, show_all=True)
    assert [(f.code, f.severity) for f in shown] == [("LR001", "info")]
    assert "effective: measured in 12 of 12 cells" in shown[0].message


def test_a_change_measured_effective_is_info_and_one_measured_wrong_is_a_warning():
    # From the shipped evidence, counted here from cells.csv: a new optimizer compiled in, and
    # the step counter reset, are effective in every keras3 cell; weights loaded before the
    # compile of a resumed run are not (the schedule starts again).
    import csv
    from pathlib import Path

    with open(Path(__file__).parents[2] / "results" / "cells.csv", newline="") as f:
        rows = list(csv.DictReader(f))

    def keras3(sid):
        return {r["verdict"] for r in rows if r["scenario"] == sid and r["flavour"] == "keras3"}

    for code, sid in (("LR015", "recompile-new-optimizer"), ("LR017", "restart-by-iterations"),
                      ("LR014", "resume-new-optimizer")):
        src = next(s for s in FLAG[code] if sid in [f.scenario for f in lint_text(
            textwrap.dedent(s), "x.py", "keras3", (code,), show_all=True)])
        found = lint_text(textwrap.dedent(src), "x.py", "keras3", (code,), show_all=True)
        severity = "info" if keras3(sid) == {"effective"} else "warning"
        assert [f.severity for f in found] == [severity], (code, keras3(sid))
        assert (code in codes(src)) == (severity == "warning")


def test_eager_code_cites_the_eager_cells():
    src = textwrap.dedent(CLEAN["LR003"][2])
    shown = lint_text(src, "x.py", "keras3", EVERY, show_all=True)
    assert [f.severity for f in shown if f.code == "LR003"] == ["info"]
    assert "(eager)" in next(f.message for f in shown if f.code == "LR003")


def test_opt_in_rule_runs_only_when_selected():
    from bench.lint.config import Options

    src = FLAG["LR012"][0]
    assert "LR012" not in codes(src, select=Options().codes())
    assert "LR012" in codes(src, select=Options(select=("LR012",)).codes())


def test_unmeasured_scenarios_say_so():
    found = lint_text(FLAG["LR010"][0], "x.py", "keras3", EVERY)
    lr010 = [f for f in found if f.code == "LR010"]
    assert lr010 and all(("not measured yet" in f.message) != bool(f.measured["cells"]) for f in lr010)


def test_the_cited_scenario_follows_the_spelling():
    def scenario(src, code):
        return [f.scenario for f in lint_text(textwrap.dedent(src), "x.py", "keras3", (code,), show_all=True)]

    assert scenario(FLAG["LR013"][0], "LR013") == ["restore-lr-checkpoint"]
    assert scenario(FLAG["LR013"][1], "LR013") == ["restore-lr"]
    assert scenario(FLAG["LR015"][0], "LR015") == ["recompile-new-optimizer"]
    same = FLAG["LR015"][0].replace("model.compile(optimizer=keras.optimizers.Adam(1e-4)",
                                    "model.optimizer.learning_rate = 1e-4\n        model.compile(optimizer=model.optimizer")
    assert scenario(same, "LR015") == ["recompile-same-optimizer"]
    assert scenario(FLAG["LR008"][1], "LR008") == ["plateau-on-schedule"]
    # weights loaded before the compile have no optimizer to go to; after it, into one not built
    assert scenario(FLAG["LR014"][1], "LR014") == ["resume-new-optimizer"]
    assert scenario(FLAG["LR014"][2], "LR014") == ["resume-initial-epoch"]


def test_findings_point_at_the_pattern():
    f = lint_text("import keras\nopt = keras.optimizers.SGD(0.01)\nopt.lr = 0.1\n", "x.py", "keras3", EVERY)[0]
    assert (f.line, f.col, f.code) == (3, 5, "LR001")  # the `lr` of `opt.lr`
