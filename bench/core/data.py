"""MNIST-shaped data: a seeded synthetic set made offline, or a local ``mnist.npz``.

NumPy only, so the parent process can validate ``--data`` without importing TensorFlow.
"""

from __future__ import annotations

import numpy as np

FEATURES = 784
CLASSES = 10


class DataError(ValueError):
    """A ``--data`` file that is missing or not an MNIST npz."""


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of 784 float32 features in [0, 1] and one-hot labels over all 10 classes.

    Each class has a prototype "image"; a sample is its prototype with per-pixel noise, so the
    classes are learnable and the loss falls. Labels cycle through every class before shuffling,
    so all ten are present whenever ``n >= 10`` (drawing them with an exclusive upper bound of 9,
    as a widely copied snippet does, never produces class 9).
    """
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((CLASSES, FEATURES)) < 0.2).astype(np.float32)
    labels = rng.permutation(np.arange(n) % CLASSES)
    noise = rng.normal(0.0, 0.3, size=(n, FEATURES)).astype(np.float32)
    x = np.clip(prototypes[labels] + noise, 0.0, 1.0).astype(np.float32)
    return x, one_hot(labels)


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(CLASSES, dtype=np.float32)[labels]


def load_mnist(path: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The training split of the ``mnist.npz`` that ``keras.datasets.mnist.load_data`` caches."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x_train" not in f.files or "y_train" not in f.files:
                raise DataError(f"--data {path}: no x_train/y_train arrays in it (found: {', '.join(f.files) or 'none'}); expected an mnist.npz")
            x, y = f["x_train"], f["y_train"]
    except FileNotFoundError:
        raise DataError(f"--data {path}: no such file; expected the path of an mnist.npz") from None
    except DataError:
        raise
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError...: all mean "not an npz"
        raise DataError(f"--data {path}: not a readable .npz ({type(e).__name__}); expected an mnist.npz") from None
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
        raise DataError(f"--data {path}: x_train has shape {x.shape}, y_train {y.shape}; expected (N, 28, 28) and (N,)")
    if y.size and (y.min() < 0 or y.max() >= CLASSES):
        raise DataError(f"--data {path}: labels span {y.min()}..{y.max()}; expected 0..9")
    if n is not None:
        x, y = x[:n], y[:n]
    return (x.reshape(len(x), FEATURES).astype(np.float32) / 255.0), one_hot(y.astype(np.int64))


def dataset(n: int, seed: int, path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    if path is None:
        return synthetic(n, seed)
    x, y = load_mnist(path, n)
    if len(x) < n:
        raise DataError(f"--data {path}: {len(x)} samples, the run needs {n}")
    return x, y
