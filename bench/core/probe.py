"""The effective learning rate, measured from the weights.

Never read from the optimizer: the update actually applied to the weights is solved for the LR by
least squares over every weight, in float64, from values taken before and after the step.

- SGD (no momentum): ``dW = -lr * g``.
- Adam: ``dW = -lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``, with ``t`` the iteration
  count after the step and ``m``, ``v`` the moment slots after the step. Keras 3, tf_keras and
  tf_keras's legacy Adam (the fused ``ResourceApplyAdam`` kernel) all apply this form.
- Decoupled weight decay (AdamW): ``dW = -lr * (wd * W + u)``, ``u`` either direction above and
  ``W`` the weights before the step; both LRs solved apart (``decoupled_lrs``).
- Gradient accumulation (Keras 3, ``gradient_accumulation_steps=k``): only every ``k``-th step
  updates, with the mean of the ``k`` gradients taken at the same weights; the steps between
  leave the weights as they are (an LR of 0).
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
    return _solve([a - b for a, b in zip(after, before)], adam_direction(m, v, t, beta_1, beta_2, epsilon))


def adam_direction(m, v, t: int, beta_1: float, beta_2: float, epsilon: float) -> list[np.ndarray]:
    c = np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    return [c * mi.astype(np.float64) / (np.sqrt(vi.astype(np.float64)) + epsilon) for mi, vi in zip(m, v)]


def adam_residual(before, after, m, v, t: int, beta_1: float, beta_2: float, epsilon: float) -> float:
    """How much of the step the best-fitting Adam update from these moments leaves unexplained,
    relative to the step (0: exactly an Adam step of some LR; 1: nothing of it; inf: no step)."""
    d = np.concatenate([np.ravel(a - b).astype(np.float64) for a, b in zip(after, before)])
    u = np.concatenate([np.ravel(a) for a in adam_direction(m, v, t, beta_1, beta_2, epsilon)])
    if not (d @ d) or not np.isfinite(u @ u):
        return float("inf")
    lr = -(d @ u) / (u @ u) if u @ u else 0.0
    return float(np.linalg.norm(d + lr * u) / np.linalg.norm(d))


def decoupled_lrs(before, after, direction, weight_decay: float) -> tuple[float, float]:
    """LRs of a step with decoupled weight decay (AdamW, or any Keras optimizer given
    ``weight_decay``): ``dW = -lr_d * wd * W - lr_u * u``, with ``W`` the weights before the step and
    ``u`` the optimizer's own direction (the gradient for SGD, Adam's ``c * m / (sqrt(v) + eps)``).
    Keras applies both with one LR; the two are solved apart, by least squares over every weight,
    so a decay that did not follow an LR change shows. Returns ``(lr_u, lr_d)``."""
    d = np.concatenate([np.ravel(a - b).astype(np.float64) for a, b in zip(after, before)])
    a = np.stack([np.concatenate([np.ravel(x).astype(np.float64) for x in direction]),
                  weight_decay * np.concatenate([np.ravel(w).astype(np.float64) for w in before])], axis=1)
    if not np.all(np.isfinite(a)) or np.linalg.matrix_rank(a) < 2:
        return float("nan"), float("nan")
    (lr_u, lr_d), *_ = np.linalg.lstsq(a, -d, rcond=None)
    return float(lr_u), float(lr_d)


def dense_loss_and_grads(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of the bench's model (784 → 10 relu → 10 softmax, categorical
    cross-entropy, batch mean) in float64 NumPy: an independent reference, and cheap enough to
    run beside every step without disturbing the timed one.

    ``weights`` in ``model.trainable_variables`` order: kernel 1, bias 1, kernel 2, bias 2.
    """
    w1, b1, w2, b2 = (np.asarray(w, dtype=np.float64) for w in weights)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    pre = x @ w1 + b1
    h = np.maximum(pre, 0.0)
    z = h @ w2 + b2
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    loss = float(-np.sum(y * np.log(np.clip(p, 1e-7, 1.0))) / n)
    dz = (p - y) / n
    dh = (dz @ w2.T) * (pre > 0)
    return loss, [x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]
