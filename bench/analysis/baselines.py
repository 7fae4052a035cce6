"""Which baseline run a gate compares with: a baseline folder can keep, under ``by-cpu/``, runs of
the same matrix measured on other CPU models, since a step ratio is a ratio of two kernels' costs
on one CPU. Reads ``meta.json`` files only.
"""

from __future__ import annotations

from pathlib import Path

from bench import results

#: Subfolder of a baseline holding runs of the same matrix measured on other CPUs, one folder each.
BY_CPU = "by-cpu"


def pick_baseline(baseline, current) -> Path:
    """The run to compare CURRENT with: BASELINE itself, or the run under ``BASELINE/by-cpu/``
    measured on CURRENT's CPU model when BASELINE was not (a step ratio is a ratio of two kernels'
    costs on one CPU, so a gate running on several kinds of machine keeps a baseline per kind).
    Raises ``ResultsError`` naming a file that cannot be used."""
    baseline = Path(baseline)
    cpu = results.read_meta(current).get("cpu")
    if not cpu or results.read_meta(baseline).get("cpu") == cpu:
        return baseline
    for folder in sorted(p for p in (baseline / BY_CPU).glob("*") if p.is_dir()):
        if results.read_meta(folder).get("cpu") == cpu:
            return folder
    return baseline
