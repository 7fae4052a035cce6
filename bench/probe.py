"""The effective learning rate, measured from the weights.

Never read from the optimizer: the update actually applied to the weights is solved for the LR by
least squares over every weight, in float64, from values taken before and after the step.

- SGD (no momentum): ``dW = -lr * g``.
- Adam: ``dW = -lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``, with ``t`` the iteration
  count after the step and ``m``, ``v`` the moment slots after the step. Keras 3, tf_keras and
  tf_keras's legacy Adam (the fused ``ResourceApplyAdam`` kernel) all apply this form.
"""

from __future__ import annotations

import numpy as np


def _solve(delta: list[np.ndarray], direction: list[np.ndarray]) -> float:
    d = np.concatenate([np.ravel(a).astype(np.float64) for a in delta])
    u = np.concatenate([np.ravel(a).astype(np.float64) for a in direction])
    denom = float(u @ u)
    if denom == 0.0 or not np.isfinite(denom):
        return float("nan")
    return float(-(d @ u) / denom)


def sgd_lr(before, after, grads) -> float:
    """LR of a plain SGD step from weights before/after and the step's gradients."""
    return _solve([a - b for a, b in zip(after, before)], grads)


def adam_lr(before, after, m, v, t: int, beta_1: float, beta_2: float, epsilon: float) -> float:
    """LR of an Adam step from weights before/after and the slots and iteration count after it."""
    c = np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    direction = [c * mi.astype(np.float64) / (np.sqrt(vi.astype(np.float64)) + epsilon) for mi, vi in zip(m, v)]
    return _solve([a - b for a, b in zip(after, before)], direction)
