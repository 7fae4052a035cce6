"""The gate's recheck: a step-ratio regression stands only where a second run of the matrix shows
it too. A burst of load on a shared machine moves a cell in one run; a slower step moves it in
every run. Nothing but step ratios is rechecked. Reads results only (pandas, no TensorFlow).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from bench.analysis.compare import Comparison, _cells, _num, _shaped, machine_speed, ratio_difference


def recheck_cells(comp: Comparison, base: pd.DataFrame, again: pd.DataFrame, max_slowdown: float) -> Comparison:
    """Keep a step-ratio regression failing only where ``again`` (a second run) shows it too."""
    b_rows = dict(zip(base.index, base.to_dict("records")))
    a_rows = dict(zip(again.index, again.to_dict("records")))
    speed = machine_speed(b_rows, a_rows)
    kept = []
    for d in comp.differences:
        if d.what == "step_ratio" and d.regression:
            a = a_rows.get(d.cell)
            if a is None or a["status"] != "ok":
                d = replace(d, note=d.note + "; not measured in the recheck run, so not rechecked")
            else:
                b = b_rows[d.cell]
                res = ratio_difference(b, a, max_slowdown, speed)
                failed = res is not None and res[0]
                growth = _num(a["step_ratio"]) / _num(b["step_ratio"]) - 1
                detail = res[1] if res is not None else f"{growth:+.0%}"
                d = replace(d, regression=failed, note=d.note + f"; recheck {_num(a['step_ratio']):.2f}, {detail}: "
                            + ("confirmed" if failed else "not confirmed, so not a regression"))
        kept.append(d)
    comp.differences = kept
    return comp


def recheck(comp: Comparison, baseline, again, max_slowdown: float) -> Comparison:
    """``recheck_cells`` with ``again`` a results folder of the same profile as ``baseline`` (the
    folder ``comp`` was compared with, if it picked one); raises ``ResultsError`` naming the file
    that cannot be used."""
    baseline = comp.baseline or Path(baseline)
    base = _cells(baseline)
    return recheck_cells(comp, base, _shaped(Path(again), base, baseline), max_slowdown)
