"""Keras flavours: which Keras builds the model and the optimizer, and how to reach its slots.

Importable without TensorFlow: a flavour imports its Keras only when a worker asks for it.
``legacy_env`` flavours need ``TF_USE_LEGACY_KERAS=1`` before TensorFlow is first imported, so
they run in a worker process of their own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Flavour:
    name: str
    doc: str
    module: str          # the Keras package to import
    legacy_env: bool     # needs TF_USE_LEGACY_KERAS=1 in its worker
    legacy_optimizers: bool = False  # tf_keras.optimizers.legacy (OptimizerV2)

    def keras(self):
        return importlib.import_module(self.module)

    def optimizer(self, name: str, learning_rate):
        return self.optimizer_class(name)(learning_rate=learning_rate)

    def optimizer_class(self, name: str):
        """The flavour's optimizer class for ``name`` (adam, sgd or adamw), for scenarios that call
        its constructor themselves."""
        k = self.keras()
        ns = k.optimizers.legacy if self.legacy_optimizers else k.optimizers
        classes = {"adam": "Adam", "sgd": "SGD", "adamw": "AdamW"}
        if name not in classes:
            raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(classes)}")
        if not hasattr(ns, classes[name]):
            raise ValueError(f"{self.name} has no {classes[name]} optimizer ({ns.__name__})")
        return getattr(ns, classes[name])

    def checkpoint_path(self, folder: str, stem: str = "ckpt") -> str:
        """Where ``model.save_weights`` writes model and optimizer state: Keras 3 insists on a
        ``.weights.h5`` file; tf_keras keeps the optimizer only in its TensorFlow format (no suffix)."""
        import os

        return os.path.join(folder, f"{stem}.weights.h5" if self.module == "keras" else stem)

    def build(self, opt, variables) -> None:
        """Create slots and hyperparameter variables up front, so traces count the scenario."""
        if self.legacy_optimizers:
            opt._create_all_weights(variables)
        else:
            opt.build(variables)

    def adam_slot_variables(self, opt, variables) -> tuple[list, list]:
        """Adam's first and second moment variables, one per trainable variable, in order."""
        if self.legacy_optimizers:
            return [opt.get_slot(v, "m") for v in variables], [opt.get_slot(v, "v") for v in variables]
        if self.module == "keras":
            idx = [opt._get_variable_index(v) for v in variables]
        else:
            idx = [opt._index_dict[opt._var_key(v)] for v in variables]
        return [opt._momentums[i] for i in idx], [opt._velocities[i] for i in idx]

    def adam_slots(self, opt, variables) -> tuple[list[np.ndarray], list[np.ndarray]]:
        m, v = self.adam_slot_variables(opt, variables)
        return [x.numpy() for x in m], [x.numpy() for x in v]

    def adam_hyper(self, opt) -> tuple[float, float, float]:
        def f(x):
            x = x() if callable(x) else x
            # .numpy() first: a mirrored variable read from a callback has no usable __array__
            return float(np.asarray(x.numpy() if hasattr(x, "numpy") else x))
        if self.legacy_optimizers:
            return f(opt._get_hyper("beta_1")), f(opt._get_hyper("beta_2")), float(opt.epsilon)
        return f(opt.beta_1), f(opt.beta_2), float(opt.epsilon)

    def weight_decay(self, opt) -> float:
        """The decoupled weight decay the optimizer applies (0.0: none; OptimizerV2 has none)."""
        if self.legacy_optimizers:
            return 0.0
        wd = getattr(opt, "weight_decay", None)
        return float(np.asarray(wd.numpy() if hasattr(wd, "numpy") else wd)) if wd is not None else 0.0

    def schedule(self, initial, decay_steps, decay_rate):
        return self.keras().optimizers.schedules.ExponentialDecay(initial, decay_steps, decay_rate)


FLAVOURS = {
    f.name: f
    for f in (
        Flavour("keras3", "Keras 3, the Keras that ships with TensorFlow >= 2.16", "keras", False),
        Flavour("tf_keras", "tf_keras (Keras 2) optimizers, TF_USE_LEGACY_KERAS=1", "tf_keras", True),
        Flavour("tf_keras_legacy", "tf_keras.optimizers.legacy (OptimizerV2)", "tf_keras", True, True),
    )
}
