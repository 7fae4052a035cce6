"""An honest estimate of a run's remaining time.

Cells differ in cost by a factor of a hundred (an eager cell against one that recompiles under XLA
at every step), so the remaining count times the mean cell, which a plain progress bar shows, is
wrong for most of a run. Instead each remaining cell is predicted from the cells already finished
that are most like it: the same scenario, API and mode; else the same API and mode; else the same
mode; else every finished cell. The sum is divided over the workers serving the run.
"""

from __future__ import annotations

from collections import defaultdict


def _levels(spec) -> tuple[tuple, ...]:
    return ((spec.scenario, spec.api, spec.mode), (spec.api, spec.mode), (spec.mode,), ())


class Eta:
    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._sum: dict[tuple, float] = defaultdict(float)
        self._n: dict[tuple, int] = defaultdict(int)

    def finished(self, spec, seconds: float) -> None:
        """One cell done in ``seconds`` of its worker's time."""
        for level in _levels(spec):
            self._sum[level] += seconds
            self._n[level] += 1

    def predict(self, spec) -> float | None:
        """Seconds the cell is expected to take; None before any cell has finished."""
        for level in _levels(spec):
            if self._n[level]:
                return self._sum[level] / self._n[level]
        return None

    def remaining(self, specs: list) -> float | None:
        """Seconds of wall time left for ``specs``, or None while nothing is known."""
        predictions = [self.predict(s) for s in specs]
        if not specs:
            return 0.0
        if any(p is None for p in predictions):
            return None
        return sum(predictions) / min(self.workers, len(specs))


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60:02d}:{seconds % 60:02d}"
