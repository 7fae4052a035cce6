"""The Keras a user's code runs on, found without importing TensorFlow."""

from __future__ import annotations

import os
from importlib import metadata

TARGETS = ("keras3", "tf_keras", "tf_keras_legacy")


def _version(dist: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in metadata.version(dist).split(".")[:2] if p.isdigit())
    except metadata.PackageNotFoundError:
        return None


def default_target() -> str:
    """tf_keras where the installed TensorFlow uses it (before 2.16, or TF_USE_LEGACY_KERAS set),
    else keras3 (also when TensorFlow is not installed)."""
    tf = _version("tensorflow") or _version("tensorflow-cpu")
    if tf is None:
        return "keras3"
    if tf < (2, 16) or os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes"):
        return "tf_keras"
    return "keras3"
