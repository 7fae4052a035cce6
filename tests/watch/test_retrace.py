"""max_traces: the Python-number argument that retraces a tf.function at every new value is caught
at its first recurrence; tensors pass. Trace counts are checked against TensorFlow's own."""

import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips

from bench.watch import RetraceError, max_traces  # noqa: E402


@pytest.mark.parametrize("jit_compile", [None, True])
def test_decorated_tf_function_raises_at_the_second_trace(jit_compile):
    traced = []

    @max_traces(1)
    @tf.function(jit_compile=jit_compile)
    def scale(x, lr):
        traced.append(lr)
        return x * lr

    x = tf.ones(3)
    assert scale(x, 0.01).numpy().tolist() == pytest.approx([0.01] * 3)
    with pytest.raises(RetraceError) as err:
        scale(x, 0.005)
    msg = str(err.value)
    assert msg.startswith("test_decorated_tf_function_raises_at_the_second_trace.<locals>.scale was traced 2 times")
    assert "max_traces allows 1" in msg
    assert "scale(x=TensorSpec(shape=(3,), dtype=float32), lr=0.005 (Python float))" in msg
    assert traced == [0.01]  # raised before the second trace ran the body


def test_tensor_arguments_trace_once():
    @max_traces(1)
    def scale(x, lr):  # a plain function: wrapped in a tf.function
        return x * lr

    for lr in (0.1, 0.2, 0.3):
        assert float(scale(tf.ones(()), tf.constant(lr))) == pytest.approx(lr)
    assert scale.experimental_get_tracing_count() == 1


def test_autograph_still_converts_the_body():
    @max_traces(1)
    @tf.function
    def count_up(x, n):
        for _ in tf.range(n):  # a tensor loop: needs AutoGraph
            x += 1.0
        return x

    assert float(count_up(tf.constant(0.0), tf.constant(4))) == 4.0
    assert float(count_up(tf.constant(0.0), tf.constant(7))) == 7.0


def test_context_checks_the_traces_made_in_the_block():
    @tf.function
    def scale(x, lr):
        return x * lr

    scale(tf.ones(2), 0.5)  # traced before the block: not counted
    with max_traces(1, scale):
        scale(tf.ones(2), tf.constant(0.1))
        scale(tf.ones(2), tf.constant(0.2))
    with pytest.raises(RetraceError) as err:
        with max_traces(1, scale):
            scale(tf.ones(2), 0.25)
            scale(tf.ones(2), 0.75)
    msg = str(err.value)
    assert "scale was traced 2 times in the block (max_traces allows 1)" in msg
    assert "lr: Literal[0.25]" in msg and "lr: Literal[0.75]" in msg and "Literal[0.5]" not in msg
    assert scale.experimental_get_tracing_count() == 4


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_bad_limit_names_the_value(n):
    with pytest.raises(ValueError, match=rf"^max_traces\(n={n!r}\): expected a positive integer"):
        max_traces(n)


def test_context_without_a_function_says_how():
    with pytest.raises(ValueError, match="with max_traces\\(n, fn\\)"):
        with max_traces(1):
            pass


def test_a_first_call_that_creates_variables_is_not_a_retrace():
    import keras
    keras.utils.set_random_seed(0)
    model, opt = keras.Sequential([keras.layers.Dense(1)]), keras.optimizers.Adam(0.01)
    bodies = []
    spec = [tf.TensorSpec([None, 5], tf.float32), tf.TensorSpec([None, 1], tf.float32)]

    @max_traces(1)
    @tf.function(input_signature=spec)
    def step(x, y):
        bodies.append(1)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    for _ in range(3):
        step(tf.ones([4, 5]), tf.ones([4, 1]))
    assert len(bodies) == 2  # tf.function did trace twice: once creating the variables, once without
    assert opt.iterations.numpy() == 3


def test_the_message_names_what_changed_and_advises_for_it():
    @max_traces(1)
    @tf.function
    def scale(x):
        return x * 2.0

    scale(tf.ones([2]))
    with pytest.raises(RetraceError) as err:
        scale(tf.ones([3]))
    msg = str(err.value)
    assert "the previous trace had x=TensorSpec(shape=(2,), dtype=float32)" in msg
    assert "input_signature" in msg and "Python numbers" not in msg
