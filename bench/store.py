"""Cell-by-cell storage of a run in progress, so a killed run loses nothing it finished.

Each finished cell is one JSON file under ``OUT/.partial/``, written atomically; ``run.json``
there holds the fingerprint (measurement settings and versions) the cells were measured with.
``lr-bench run --resume`` keeps the cells whose fingerprint matches and runs the rest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from bench.columns import KEY
from bench.results import atomic_write

PARTIAL = ".partial"
#: configuration fields that change what a cell measures (filters do not: they pick cells)
MEASURING = ("steps", "repeats", "warmup", "seed", "batch_size", "data", "profile", "replicas")
VERSIONS = ("python", "tensorflow", "keras", "tf_keras", "numpy")


class ResumeError(ValueError):
    """Stored cells were measured differently from what this run would measure."""


def fingerprint(config: dict, versions: dict) -> dict:
    return {"config": {k: config.get(k) for k in MEASURING}, "versions": {k: versions.get(k) for k in VERSIONS}}


def cell_key(row: dict) -> tuple:
    return tuple(row[k] for k in KEY)


class Store:
    def __init__(self, out: Path):
        self.dir = Path(out) / PARTIAL

    def _path(self, key: tuple) -> Path:
        return self.dir / (hashlib.sha1("\0".join(key).encode()).hexdigest()[:20] + ".json")

    def start(self, fp: dict, resume: bool, force: bool) -> dict[tuple, dict]:
        """Open the store for a run; returns the finished cells that may be reused."""
        run = self.dir / "run.json"
        if resume and run.is_file():
            try:
                stored = json.loads(run.read_text())
            except ValueError:
                stored = None
            if stored != fp and not force:
                raise ResumeError(_difference(stored, fp, self.dir.parent))
            if stored == fp:
                return self._load()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        atomic_write(run, json.dumps(fp, indent=1, sort_keys=True))
        return {}

    def _load(self) -> dict[tuple, dict]:
        done = {}
        for p in sorted(self.dir.glob("*.json")):
            if p.name == "run.json":
                continue
            try:
                result = json.loads(p.read_text())
                key = cell_key(result["cell"])
            except (ValueError, KeyError, TypeError):
                continue  # not a finished cell: it is simply run again
            if result["cell"].get("status") in ("ok", "skipped"):  # errors are retried
                done[key] = result
        return done

    def save(self, result: dict) -> None:
        atomic_write(self._path(cell_key(result["cell"])), json.dumps(result, allow_nan=True))


def _difference(stored: dict | None, fp: dict, out: Path) -> str:
    if stored is None:
        return f"--resume: {out}/{PARTIAL}/run.json is unreadable; rerun with --force to start over"
    for part in ("config", "versions"):
        for k in fp[part]:
            a, b = stored.get(part, {}).get(k), fp[part][k]
            if a != b:
                return (f"--resume: cells in {out} were measured with {k}={a}, this run has {k}={b}; "
                        f"rerun with the same settings, or add --force to discard them")
    return f"--resume: cells in {out} were measured differently; add --force to discard them"
