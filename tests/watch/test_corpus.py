"""The watch on training scripts written as public examples write them (tests/watch/corpus/):
each trains to the same weights with and without the monitor, and the monitor's verdict is the
one pinned here, from running it."""

import importlib

import pytest

import tensorflow  # noqa: E402,F401  required: a broken install fails here, not skips
import keras  # noqa: E402,F401  required: a broken install fails here, not skips

VERDICTS = {
    "mnist_convnet": "measured, as reported: 0.001",
    "fine_tune": "measured, as reported: 0.001 -> 1e-05",
    "transformer": "measured, as reported: 0.0221 -> 0.0442 -> ... -> 0.0625",
    "yolo_warmup": "no-op write: optimizer.lr = 0.0016666666666666668",
    "plateau": "measured, as reported: 0.05 -> 0.025 -> ... -> 0.005",
}


@pytest.mark.slow
@pytest.mark.parametrize("script", list(VERDICTS))
def test_script_trains_alike_and_gets_its_verdict(script):
    module = importlib.import_module(f"tests.watch.corpus.{script}")
    bare, watched = module.train(False), module.train(True)
    assert watched["weights"] == bare["weights"]
    assert watched["records"], "nothing was measured"
    assert watched["verdict"] == VERDICTS[script]


def test_transformer_schedule_against_numpy():
    """The transformer script's effective LR at each step is the tutorial's formula in NumPy."""
    import numpy as np

    from tests.watch.corpus import transformer

    got = transformer.train(True)["records"]
    steps = np.array([r["step"] for r in got], dtype=float) + 1.0
    want = transformer.D_MODEL ** -0.5 * np.minimum(steps ** -0.5, steps * 4 ** -1.5)
    np.testing.assert_allclose([r["lr_effective"] for r in got], want, rtol=1e-4)
