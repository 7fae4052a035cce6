"""Keras flavours: which Keras builds the model and the optimizer, and how to reach its slots.

Importable without TensorFlow: a flavour imports its Keras only when a worker asks for it.
``legacy_env`` flavours need ``TF_USE_LEGACY_KERAS=1`` before TensorFlow is first imported, so
they run in a worker process of their own.

Which Keras a flavour means depends on the installed release, read from package metadata (no
TensorFlow import): with Keras 3 installed (TensorFlow >= 2.16) the flavours are as named; with
Keras 2 (TensorFlow <= 2.15, where ``tf.keras`` is Keras 2) ``keras3`` does not exist and the two
Keras 2 flavours use ``tensorflow.keras`` (its optimizers, and ``tf.keras.optimizers.legacy``),
the same code the ``tf_keras`` package later became. Bare ``import keras`` on those releases is not
the same namespace: its ``keras.optimizers.SGD`` is the legacy OptimizerV2.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Flavour:
    name: str
    doc: str
    module: str          # the Keras package to import
    legacy_env: bool     # needs TF_USE_LEGACY_KERAS=1 in its worker
    legacy_optimizers: bool = False  # tf_keras.optimizers.legacy (OptimizerV2)

    @property
    def keras3(self) -> bool:
        """Keras 3 (the ``keras`` package of TensorFlow >= 2.16)."""
        return self.module == "keras"

    @property
    def needs_legacy_env(self) -> bool:
        """Run with ``TF_USE_LEGACY_KERAS=1``: only where Keras 3 is installed. On TensorFlow 2.15
        (Keras 2) the variable makes ``tf.keras`` load the tf_keras package instead, which is
        usually absent there ("Keras cannot be imported", then RecursionError on every access)."""
        return self.legacy_env and keras_major() != 2

    @property
    def module_name(self) -> str:
        """The module this flavour imports on the installed release (see the module's docstring)."""
        if self.module == "tf_keras" and keras_major() == 2:
            return "tensorflow.keras"
        return self.module

    def missing(self) -> str:
        """Why the installed release has no such flavour ('' when it has it)."""
        major = keras_major()
        if self.module == "keras":
            if major is None:
                return "no keras package installed"
            if major < 3:
                return f"Keras {_dist_version('keras')} is Keras 2 (TensorFlow <= 2.15 has no Keras 3)"
            return ""
        if major is not None and major < 3:
            return ""  # tf.keras is Keras 2 itself
        if importlib.util.find_spec("tf_keras") is None:
            return "the tf-keras package is not installed"
        return ""

    def keras(self):
        if self.module_name == "tensorflow.keras":
            # An attribute, not a module to import: TensorFlow 2.15 loads it lazily, and
            # import_module("tensorflow.keras") raises ModuleNotFoundError there.
            import tensorflow as tf

            return tf.keras
        return importlib.import_module(self.module_name)

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

        return os.path.join(folder, f"{stem}.weights.h5" if self.keras3 else stem)

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
        if self.keras3:
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


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def keras_major() -> int | None:
    """The major version of the installed ``keras`` package (2 on TensorFlow <= 2.15, 3 after)."""
    v = _dist_version("keras")
    try:
        return int(v.split(".")[0]) if v else None
    except ValueError:
        return None


def available(names=None) -> tuple[list[str], dict[str, str]]:
    """The flavours of ``names`` (default: all) the installed release has, and why each other is missing."""
    present, absent = [], {}
    for n in names or tuple(FLAVOURS):
        why = FLAVOURS[n].missing()
        if why:
            absent[n] = why
        else:
            present.append(n)
    return present, absent
