import numpy as np
import pytest

from bench.core import data


def test_synthetic_is_deterministic_and_covers_every_class():
    x1, y1 = data.synthetic(320, seed=7)
    x2, y2 = data.synthetic(320, seed=7)
    assert x1.shape == (320, 784) and y1.shape == (320, 10)
    assert x1.dtype == np.float32 and 0.0 <= x1.min() and x1.max() <= 1.0
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert set(y1.argmax(1)) == set(range(10))
    assert not np.array_equal(x1, data.synthetic(320, seed=8)[0])


def test_synthetic_classes_are_learnable():
    # Nearest class mean on held-out samples must beat chance by far.
    x, y = data.synthetic(2000, seed=0)
    labels = y.argmax(1)
    means = np.stack([x[:1000][labels[:1000] == c].mean(0) for c in range(10)])
    pred = np.argmin(((x[1000:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == labels[1000:]).mean() > 0.9


def test_mnist_npz_is_read(tmp_path):
    p = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(p, x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), y_train=np.arange(50) % 10,
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    x, y = data.dataset(40, seed=0, path=str(p))
    assert x.shape == (40, 784) and x.max() <= 1.0 and y.shape == (40, 10)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_text("not a zip"), "not a readable .npz"),
    (lambda p: np.savez(p, a=np.zeros(3)), "no x_train/y_train"),
    (lambda p: np.savez(p, x_train=np.zeros((4, 784)), y_train=np.zeros(4)), "expected (N, 28, 28)"),
    (lambda p: np.savez(p, x_train=np.zeros((4, 28, 28)), y_train=np.array([0, 1, 2, 12])), "expected 0..9"),
])
def test_bad_mnist_files_are_named(tmp_path, make, message):
    p = tmp_path / "mnist.npz"
    make(p)
    with pytest.raises(data.DataError, match="--data .*" + message.replace("(", r"\(").replace(")", r"\)")):
        data.load_mnist(str(p))
