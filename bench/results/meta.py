"""What identifies a measurement: the settings and versions a results folder was measured with.

Two folders (or a stored partial run and the run resuming it) hold comparable cells only when
their fingerprints agree.
"""

from __future__ import annotations

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
