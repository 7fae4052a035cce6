"""Placement is asserted, not assumed: a cell whose weights are not on its device is an error.

Runs in this process on the CPU; on a machine with a GPU the GPU half runs too.
"""

import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips

from bench.measure import build, context, passes  # noqa: E402
from bench.core.flavours import FLAVOURS  # noqa: E402
from bench.scenarios import REGISTRY, Rates  # noqa: E402


def _ctx(device: str) -> context.Ctx:
    ctx = context.Ctx(REGISTRY["static"], FLAVOURS["keras3"], "loop", "function", device, "sgd",
                   Rates.for_optimizer("sgd"), 2, 4)
    with tf.device("/CPU:0"):  # built on the CPU whatever the cell says
        build.setup(ctx, 0)
    return ctx


def test_weights_on_the_cells_device_pass():
    _ctx("cpu").check_placement()


def test_weights_elsewhere_make_the_cell_an_error():
    with pytest.raises(RuntimeError, match=r"was placed on .*CPU:0, not on the gpu"):
        _ctx("gpu").check_placement()


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU on this machine")
def test_gpu_cells_place_weights_on_the_gpu():
    ctx = context.Ctx(REGISTRY["static"], FLAVOURS["keras3"], "loop", "function", "gpu", "sgd",
                   Rates.for_optimizer("sgd"), 2, 4)
    rows = passes.run_repeat(ctx, build.make_batches(*_batch(), steps=4, batch_size=8), 0, True)
    assert len(rows) == 4


def _batch():
    from bench.core import data

    return data.dataset(32, 0, None)
