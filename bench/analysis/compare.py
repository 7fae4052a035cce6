"""The regression gate: two results folders, cell by cell, and whether CURRENT regressed.

Only what is stable between runs on a shared machine can fail the gate: exact tracing counts,
verdicts, ``reported_ok``, the cell's status, and the step time as a *ratio* to the bare reference
loop measured in the same worker of the same run. Absolute seconds never gate anything.

What fails (exit 1):

- a cell of BASELINE missing from CURRENT, or ``ok`` in BASELINE and not ``ok`` in CURRENT;
- its tracing count grew (fewer traces is reported, not failed);
- its verdict changed or ``reported_ok`` flipped, in either direction: the baseline is what the
  project documents, so a change of behaviour is refreshed into it on purpose, not waved through;
- its step ratio grew by more than ``max_slowdown`` plus two standard errors of the difference of
  the two runs' medians of paired ratios (a cell whose timing is spread wide needs a bigger jump);
  for folders from before paired timing, and only if its step time grew against the run's overall
  change in speed too (one reference loop timed during a burst of load must not fail its cells);
  a cell either run flags ``noisy`` is listed, never failed, on its ratio. Given a RECHECK folder
  (a second run of the same matrix), ``bench.analysis.recheck`` keeps a step-ratio regression
  failing only if the cell's ratio in RECHECK is past its allowance too: a burst of load on a
  shared machine moves a cell in one run, a slower step moves it in every run. Nothing but step
  ratios is rechecked.

A baseline of every optimizer serves a gate run that covered its optimizers in pairs (``--cover
pairs``, the quick profile's default; ``bench.core.cover``): only the cells that run measured are
compared. What is reported without failing: cells new in CURRENT, improvements, skipped ratios, and
differing TensorFlow / Keras versions (a warning line: an upgrade is exactly what the gate should
judge) and a differing CPU model (a warning line: a step ratio is a ratio of two kernels' costs on
that CPU, and another CPU's kernels can move it; a baseline folder can hold a run per CPU model
under ``by-cpu/``, and the one measured on CURRENT's CPU is used). Input that cannot be compared
(an unreadable file, a schema the reader rejects, duplicate cells, runs of different lengths)
raises ``ResultsError`` naming the file.

Reads the results files only (pandas, no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench import results
from bench.analysis.baselines import BY_CPU, pick_baseline, setting_warnings
from bench.core.cover import covered_keys
from bench.results.columns import KEY

#: Default allowed growth of a cell's step ratio (current / baseline - 1) before it fails.
MAX_SLOWDOWN = 0.25

#: Columns that must agree for two runs to be comparable at all: a 10-step run and a 60-step run
#: trace and time differently, so comparing them would only produce false alarms.
SAME_RUN_SHAPE = ("steps", "change_step", "repeats")

#: Fewest matched timed cells from which the run-wide speed change is trusted (a median of fewer
#: would be moved by the very cell under judgement).
MIN_CELLS_FOR_SPEED = 5


@dataclass(frozen=True)
class Difference:
    cell: tuple[str, ...]
    what: str        # missing | new | status | traces | verdict | reported_ok | step_ratio
    baseline: str
    current: str
    regression: bool
    note: str = ""

    @property
    def label(self) -> str:
        return " ".join(self.cell)


@dataclass
class Comparison:
    matched: int = 0
    differences: list[Difference] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    baseline: Path | None = None  # the folder compared against (``pick_baseline``)

    @property
    def regressions(self) -> list[Difference]:
        return [d for d in self.differences if d.regression]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def _cells(folder: Path) -> pd.DataFrame:
    cells = results.read_cells(folder)
    dup = cells.duplicated(list(KEY), keep=False)
    if dup.any():
        first = " ".join(cells.loc[dup, list(KEY)].iloc[0])
        raise results.ResultsError(f"{Path(folder) / results.CELLS_CSV}: cell {first} appears more than once")
    return cells.set_index(list(KEY))


def _shape(cells: pd.DataFrame, folder: Path) -> dict:
    shape = {}
    for col in SAME_RUN_SHAPE:
        values = set(pd.to_numeric(cells[col], errors="coerce").dropna().astype(int))
        if len(values) > 1:
            raise results.ResultsError(f"{Path(folder) / results.CELLS_CSV}: {col} varies between cells "
                                       f"({', '.join(map(str, sorted(values)))}); expected one run of one profile")
        shape[col] = values.pop() if values else None
    return shape


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _flag(value) -> bool:
    return str(value) == "True"


def machine_speed(b_rows: dict, c_rows: dict) -> float | None:
    """How much slower CURRENT ran than BASELINE overall: the median of the matched cells' step-time
    changes, or None with too few timed cells to tell a machine from a cell."""
    changes = [_num(c["step_s_median"]) / _num(b["step_s_median"]) for key, b in b_rows.items()
               if (c := c_rows.get(key)) is not None and _num(b["step_s_median"]) > 0 and _num(c["step_s_median"]) > 0]
    return float(np.median(changes)) if len(changes) >= MIN_CELLS_FOR_SPEED else None


def _steady_pairs(row: dict) -> int:
    """How many independent paired ratios a cell's ratio is the median of: ``step_ratio_n`` where the
    folder records it (steps run in one call of fit's train function count once); else about its
    steady steps, the first call and the warm-up (the profiles' ``min(5, steps // 4)``) left out,
    over its repeats."""
    n = _num(row.get("step_ratio_n"))
    if n > 0:
        return int(n)
    steps, repeats = _num(row["steps"]), _num(row["repeats"])
    if not (steps > 0 and repeats > 0):
        return 1
    return max(1, int(repeats) * (int(steps) - 1 - min(5, int(steps) // 4)))


def _uncertainty(row: dict) -> float:
    """How far the cell's ratio may move between clean runs, relative to it.

    Paired timing (``step_ratio_iqr`` present): the standard error of a median of ``n`` paired
    ratios, ``1.2533 · σ / √n`` with ``σ = IQR / 1.349``. A folder from before it: the step time's
    relative IQR, as then (one reference loop timed apart gave no better estimate)."""
    ratio, ratio_iqr = _num(row["step_ratio"]), _num(row.get("step_ratio_iqr"))
    if ratio > 0 and ratio_iqr >= 0:
        return 1.2533 * ratio_iqr / 1.349 / math.sqrt(_steady_pairs(row)) / ratio
    median, iqr = _num(row["step_s_median"]), _num(row["step_s_iqr"])
    return iqr / median if median > 0 and iqr >= 0 else 0.0


def ratio_difference(base: dict, cur: dict, max_slowdown: float, speed: float | None = None) -> tuple[bool, str] | None:
    """(regression?, note) when the step ratio grew past ``max_slowdown``; None when it did not.

    The allowance is widened by how far each run's ratio may move without anything having
    changed (``_uncertainty``): two standard errors of the difference of two paired medians, or,
    for folders from before paired timing, the sum of the step times' relative IQRs.
    For folders from before paired timing, with ``speed`` (see ``machine_speed``), the cell's own
    step time, scaled by it, must have grown past the same allowance too: a ratio that jumps while
    the step holds still was its reference loop, timed apart, caught in a burst of load.
    """
    rb, rc = _num(base["step_ratio"]), _num(cur["step_ratio"])
    if not (rb > 0 and rc > 0):
        return None
    growth = rc / rb - 1
    if growth <= max_slowdown:
        return None
    paired = all(_num(r.get("step_ratio_iqr")) >= 0 for r in (base, cur))
    u = [_uncertainty(r) for r in (base, cur)]
    # two standard errors of the difference where both ratios are paired medians; else the sum
    # of the relative IQRs, as for folders from before paired timing
    allowed = max_slowdown + (2 * math.hypot(*u) if paired else sum(u))
    text = f"+{growth:.0%} (allowed {allowed:.0%}"
    if _flag(base["noisy"]) or _flag(cur["noisy"]):
        return False, text + "; noisy timing, not gated)"
    if growth <= allowed:
        return False, text + " with its uncertainty; within noise)"
    sb, sc = _num(base["step_s_median"]), _num(cur["step_s_median"])
    # Only a reference timed apart (folders from before paired timing) can move on its own; a
    # paired reference shared every step's conditions, and raw step times are the noisier figure.
    if not paired and speed and sb > 0 and sc > 0 and sc / sb / speed - 1 <= allowed:
        return False, text + f"; the step itself {sc / sb / speed - 1:+.0%} against the run: the reference moved)"
    return True, text + ")"


def compare_cells(base: pd.DataFrame, cur: pd.DataFrame, max_slowdown: float = MAX_SLOWDOWN) -> Comparison:
    """Cell-by-cell differences of two cells tables indexed by ``KEY``."""
    out = Comparison()
    # plain dicts: looking rows up one by one in a MultiIndex frame is a thousand times slower
    b_rows = dict(zip(base.index, base.to_dict("records")))
    c_rows = dict(zip(cur.index, cur.to_dict("records")))
    speed = machine_speed(b_rows, c_rows)
    for key, b in b_rows.items():
        c = c_rows.get(key)
        if c is None:
            out.differences.append(Difference(key, "missing", str(b["status"]), "—", True, "cell absent from current"))
            continue
        out.matched += 1
        out.differences += _cell_differences(key, b, c, max_slowdown, speed)
    for key, c in c_rows.items():
        if key not in b_rows:
            out.differences.append(Difference(key, "new", "—", str(c["status"]), False,
                                              "not in baseline: refresh the baseline to gate it"))
    return out


def _cell_differences(key, b: dict, c: dict, max_slowdown: float, speed: float | None) -> list[Difference]:
    diffs = []
    if b["status"] != c["status"]:
        diffs.append(Difference(key, "status", b["status"], c["status"], b["status"] == "ok", str(c["error"])[:120]))
    if b["status"] != "ok" or c["status"] != "ok":
        return diffs
    tb, tc = _num(b["traces"]), _num(c["traces"])
    if tb != tc and not (math.isnan(tb) and math.isnan(tc)):  # NaN != NaN, yet nothing changed
        note = ("count lost" if math.isnan(tc) else "counted now" if math.isnan(tb)
                else "retraces more" if tc > tb else "traces less")
        diffs.append(Difference(key, "traces", f"{tb:g}", f"{tc:g}", tc > tb or math.isnan(tc), note))
    if b["verdict"] != c["verdict"]:
        diffs.append(Difference(key, "verdict", b["verdict"], c["verdict"], True))
    if str(b["reported_ok"]) != str(c["reported_ok"]):
        diffs.append(Difference(key, "reported_ok", str(b["reported_ok"]), str(c["reported_ok"]), True))
    ratio = ratio_difference(b, c, max_slowdown, speed)
    if ratio is not None:
        failed, note = ratio
        diffs.append(Difference(key, "step_ratio", f"{_num(b['step_ratio']):.2f}", f"{_num(c['step_ratio']):.2f}",
                                failed, note))
    return diffs


def _shaped(folder: Path, base: pd.DataFrame, baseline: Path) -> pd.DataFrame:
    cells = _cells(folder)
    bs, cs = _shape(base, baseline), _shape(cells, folder)
    for col in SAME_RUN_SHAPE:
        if None not in (bs[col], cs[col]) and bs[col] != cs[col]:
            raise results.ResultsError(
                f"{folder / results.CELLS_CSV}: {col} {cs[col]} but {bs[col]} in {baseline / results.CELLS_CSV}; "
                "compare runs of the same profile")
    return cells


def compare(baseline, current, max_slowdown: float = MAX_SLOWDOWN) -> Comparison:
    """Compare two results folders; raises ``ResultsError`` naming the file that cannot be used.
    BASELINE's run measured on CURRENT's CPU is used where it has one (``pick_baseline``).
    ``bench.analysis.recheck`` then weighs a second run of CURRENT's matrix, if there is one."""
    baseline, current = pick_baseline(baseline, current), Path(current)
    base = _cells(baseline)
    cur = _shaped(current, base, baseline)
    base_meta, cur_meta = results.read_meta(baseline), results.read_meta(current)
    cover = (cur_meta.get("config") or {}).get("cover") or "all"
    kept = base.index.isin(list(covered_keys(base.index, cover)))
    out = compare_cells(base[kept], cur, max_slowdown)
    out.warnings = setting_warnings(base_meta, cur_meta)
    if not kept.all():  # a gate of optimizers in pairs against a baseline of every optimizer
        out.warnings.append(f"current covers optimizers in pairs (--cover {cover}): {(~kept).sum()} baseline cells "
                            "of the other optimizer are not compared")
    out.baseline = baseline
    return out


def render(comp: Comparison, max_slowdown: float) -> str:
    """The table of differences, regressions first, then a one-line verdict."""
    lines = list(comp.warnings)
    if comp.baseline is not None and comp.baseline.parent.name == BY_CPU:
        lines.append(f"baseline: {comp.baseline}, measured on the current run's CPU")
    diffs = sorted(comp.differences, key=lambda d: (not d.regression, d.what == "new", d.label, d.what))
    if diffs:
        width = max(len(d.label) for d in diffs)
        lines.append(f"{'':4s} {'cell':{width}s}  {'what':11s} {'baseline':>10s} {'current':>10s}  note")
        for d in diffs:
            mark = "FAIL" if d.regression else "    "
            lines.append(f"{mark} {d.label:{width}s}  {d.what:11s} {d.baseline:>10s} {d.current:>10s}  {d.note}".rstrip())
    n_new = sum(d.what == "new" for d in comp.differences)
    summary = (f"{comp.matched} cells compared, {len(comp.regressions)} regression(s), {n_new} new cell(s); "
               f"step ratios allowed to grow {max_slowdown:.0%} plus their uncertainty")
    lines.append(("FAIL: " if comp.regressions else "ok: ") + summary)
    return "\n".join(lines)
