"""Cell-by-cell storage of a run in progress, so a killed run loses nothing it finished.

Each finished cell is one JSON file under ``OUT/.partial/``, written atomically; ``run.json``
there holds the fingerprint (measurement settings and versions) the cells were measured with.
``lr-bench run --resume`` keeps the cells whose fingerprint matches and runs the rest. Without a
``.partial`` folder it keeps the cells of a finished results folder in OUT (``cells.csv``,
``steps.csv``, ``meta.json``) measured with the same fingerprint, as a fresh clone has them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from bench import results
from bench.results import atomic_write
from bench.results.columns import KEY
from bench.results.meta import folder_fingerprint
from bench.results.protocol import CellResult

PARTIAL = ".partial"


class ResumeError(ValueError):
    """Stored cells were measured differently from what this run would measure."""


class Store:
    def __init__(self, out: Path):
        self.dir = Path(out) / PARTIAL
        #: keys of the cells taken from the finished results folder rather than from .partial
        self.from_folder: set[tuple] = set()
        self.kept: tuple[str, ...] = ("ok", "skipped")

    def _path(self, key: tuple) -> Path:
        return self.dir / (hashlib.sha1("\0".join(key).encode()).hexdigest()[:20] + ".json")

    def start(self, fp: dict, resume: bool, force: bool, keep_errors: bool = False) -> dict[tuple, CellResult]:
        """Open the store for a run; returns the finished cells that may be reused. Error cells are
        run again unless ``keep_errors``."""
        self.kept = ("ok", "skipped", "error") if keep_errors else ("ok", "skipped")
        run = self.dir / "run.json"
        if resume and run.is_file():
            try:
                stored = json.loads(run.read_text())
            except ValueError:
                stored = None
            if stored != fp and not force:
                raise ResumeError(_difference(stored, fp, self.dir.parent))
            if stored == fp:
                self.from_folder = set(self._finished_folder(fp))
                return self._load()
        finished = self._finished_folder(fp) if resume and not run.is_file() else {}
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        atomic_write(run, json.dumps(fp, indent=1, sort_keys=True))
        for result in finished.values():  # kept in .partial too, so an interrupted resume keeps them
            self.save(result)
        self.from_folder = set(finished)
        return finished

    def _finished_folder(self, fp: dict) -> dict[tuple, CellResult]:
        """The kept cells (ok and skipped, errors too if so asked) of the results folder OUT when it
        was measured with ``fp``."""
        out = self.dir.parent
        try:
            if folder_fingerprint(results.read_meta(out)) != fp:
                return {}
            cells, steps = results.read_cells(out), results.read_steps(out)
        except (results.ResultsError, OSError):
            return {}
        by_cell = {key: g for key, g in steps.groupby(list(KEY), sort=False)} if len(steps) else {}
        done = {}
        for row in cells.to_dict("records"):
            if row.get("status") not in self.kept:
                continue
            key = tuple(row[k] for k in KEY)
            rows = by_cell[key].to_dict("records") if key in by_cell else []
            done[key] = CellResult(_plain(row), [_plain(s) for s in rows])
        return done

    def _load(self) -> dict[tuple, CellResult]:
        done = {}
        for p in sorted(self.dir.glob("*.json")):
            if p.name == "run.json":
                continue
            try:
                result = CellResult.from_json(json.loads(p.read_text()))
                key = result.key
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # not a finished cell: it is simply run again
            if result.cell.get("status") in self.kept:  # errors are retried unless kept
                done[key] = result
        return done

    def save(self, result: CellResult) -> None:
        atomic_write(self._path(result.key), json.dumps(result.to_json(), allow_nan=True))


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


def _plain(row: dict) -> dict:
    """A row read by pandas with its NumPy scalars made Python values, as a worker sends them."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
