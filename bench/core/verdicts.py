"""The verdict vocabulary and the verdicts from measured LR trajectories (NumPy only).

Every name, table mark, figure colour and legend of a verdict is defined here and nowhere else.

After the change step, the effective LR is compared with the intended trajectory and with the
baseline (what it would have been had nothing changed), at every step, to ``RTOL``:

- ``effective``: matches the intended trajectory at every step;
- ``ignored``: nothing was raised and it matches the baseline instead;
- ``wrong``: it matches neither;
- ``raises``: the change statement raised (training went on; the message is kept);
- ``diverged``: under a strategy, replicas (or workers) applied different LRs at some step: the
  copies of the model no longer agree, whatever each one did.

``reported_ok``: the reported LR matched the effective LR at every step after the change.
"""

from __future__ import annotations

import numpy as np

from bench.core.config import RTOL

EFFECTIVE, IGNORED, WRONG, RAISES, DIVERGED = "effective", "ignored", "wrong", "raises", "diverged"
#: Every verdict a measured cell can get, in the order tables and legends list them.
VERDICTS = (EFFECTIVE, IGNORED, WRONG, RAISES, DIVERGED)
#: A cell's ``status``: measured, skipped (no such device here), or failed to run.
STATUSES = ("ok", "skipped", "error")

#: How tables show each verdict.
MARK = {EFFECTIVE: "✅ effective", IGNORED: "❌ ignored", WRONG: "⚠️ wrong", RAISES: "💥 raises",
        DIVERGED: "🔀 diverged"}
#: How figures colour each verdict (Okabe & Ito, distinguishable with the common colour-vision
#: deficiencies), plus the two states a heatmap cell can have besides a verdict.
MIXED, NOT_MEASURED = "mixed", "not measured"
COLOURS = {EFFECTIVE: "#0072B2", IGNORED: "#D55E00", WRONG: "#E69F00", RAISES: "#CC79A7", DIVERGED: "#009E73",
           MIXED: "#999999", NOT_MEASURED: "#FFFFFF"}

#: A cell whose printed LR differed from its effective LR after the change (``reported_ok`` false):
#: the word lesson sources use to select such cells, its mark in tables, and in figures (a glyph
#: every Matplotlib font has).
MISREPORTED = "misreported"
MISREPORTED_MARK = "⚑"
MISREPORTED_PLOT_MARK = "≠"

LEGEND = f"""\
Legend: ✅ **effective** the effective LR (measured from the weights) followed the intended trajectory
at every step after the change · ❌ **ignored** nothing raised, but the LR carried on as if nothing
had changed · ⚠️ **wrong** it changed, but not to what was intended · 💥 **raises** the change
statement raised · 🔀 **diverged** under a strategy, replicas or workers applied different LRs at
some step · {MISREPORTED_MARK} the LR that `optimizer.learning_rate` reported, read just before
each step as a print placed there would, differed from the effective LR after the change (so an LR
assigned inside the step always shows it: the print sees the previous value) · ~ noisy timing (IQR over 25 % of the median) · ×r median step time over the bare compiled static loop in the same
worker. Where the optimizers disagree, each is shown. In the summary, a verdict that holds only for
some modes, apis or optimizers names them (`eager`, `fit`, `adam`, …), and **varies by** lists every
axis along which two cells that differ in that axis alone got different verdicts.
"""


def shown(verdict: str, reported_ok) -> str:
    """A measured cell as a table shows it: its verdict's mark, flagged when misreported."""
    return MARK.get(verdict, verdict) + (f" {MISREPORTED_MARK}" if reported_ok is False else "")


def close(a, b, rtol: float = RTOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(a.size) and bool(np.all(np.abs(a - b) <= rtol * np.abs(b)))


def spread(values) -> float:
    """The largest distance of any value from the first, relative to the first (0 for one value):
    how far replicas' effective LRs of one step are apart."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(values - values[0])) / abs(values[0])) if len(values) > 1 else 0.0


def verdict(effective, intended, baseline, raised: bool, spread=None) -> str:
    """Verdict over the steps from the change on (arrays of equal length); ``spread`` is the
    relative spread of the effective LR across replicas at each step (None: one replica)."""
    if spread is not None and np.any(np.asarray(spread, dtype=np.float64) > RTOL):  # NaN compares False
        return DIVERGED
    if raised:
        return RAISES
    if close(effective, intended):
        return EFFECTIVE
    if close(effective, baseline):
        return IGNORED
    return WRONG


def reported_ok(reported, effective) -> bool:
    return close(reported, effective)


def judge(change_step: int, step_rows: list[dict], raised: str) -> dict:
    """A cell's ``verdict`` and ``reported_ok``, from its step rows after the change."""
    after = [s for s in step_rows if s["step"] >= change_step]
    col = lambda name: np.array([s[name] for s in after], dtype=np.float64)  # noqa: E731
    return dict(
        verdict=verdict(col("lr_effective"), col("lr_intended"), col("lr_baseline"), bool(raised),
                        spread=col("lr_spread")),
        reported_ok=reported_ok(col("lr_reported"), col("lr_effective")),
    )
