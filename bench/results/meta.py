"""What identifies a measurement: the settings and versions a results folder was measured with.

Two folders (or a stored partial run and the run resuming it) hold comparable cells only when
their fingerprints agree.
"""

from __future__ import annotations

import platform
from importlib import metadata

#: configuration fields that change what a cell measures (filters do not: they pick cells)
MEASURING = ("steps", "repeats", "warmup", "seed", "batch_size", "data", "profile", "replicas")
VERSIONS = ("python", "tensorflow", "keras", "tf_keras", "numpy")


def fingerprint(config: dict, versions: dict) -> dict:
    return {"config": {k: config.get(k) for k in MEASURING}, "versions": {k: versions.get(k) for k in VERSIONS}}


def versions(meta: dict) -> dict:
    """The versions a folder was measured with: its Keras 3 workers', else its first workers'."""
    v = meta.get("versions", {})
    return v.get("keras3") or next(iter(v.values()), {})


def folder_fingerprint(meta: dict) -> dict:
    return fingerprint(meta.get("config", {}), versions(meta))


#: The distributions each version is read from, first found wins (TensorFlow has several builds).
DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
                 "keras": ("keras",), "tf_keras": ("tf-keras",), "numpy": ("numpy",)}


def installed_versions() -> dict:
    """The versions a worker would report (``VERSIONS``), read from package metadata: nothing is
    imported, so a parent process can tell what its workers will run before starting any."""
    found = {"python": platform.python_version()}
    for name, dists in DISTRIBUTIONS.items():
        found[name] = None
        for dist in dists:
            try:
                found[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return found
