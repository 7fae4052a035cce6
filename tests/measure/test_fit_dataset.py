"""The data fit reads comes without tf.data autotuning (see ``bench.measure.passes._SYNCHRONOUS``)."""

from types import SimpleNamespace

import numpy as np
import pytest

from bench.measure.passes import _fit_dataset


@pytest.mark.parametrize("repeat", [True, False])
def test_fit_reads_the_same_batches_without_autotuning(repeat):
    batches = [(np.full((4, 3), i, np.float32), np.full((4, 2), -i, np.float32)) for i in range(3)]
    ds = _fit_dataset(SimpleNamespace(dist=None), batches, repeat=repeat)
    assert ds.options().autotune.enabled is False
    got = [(x.numpy(), y.numpy()) for x, y in ds.take(len(batches))]
    for (x, y), (gx, gy) in zip(batches, got, strict=True):
        np.testing.assert_array_equal(gx, x)
        np.testing.assert_array_equal(gy, y)
