"""Which baseline run a gate compares with: a baseline folder can keep, under ``by-cpu/``, runs of
the same matrix measured on other CPU models, since a step ratio is a ratio of two kernels' costs
on one CPU; and what differs between the baseline's settings and the current run's. Reads
``meta.json`` files only.
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


#: Version fields in meta.json worth a warning when they differ.
VERSIONS = ("tensorflow", "keras", "tf_keras", "python")


def setting_warnings(base_meta: dict, cur_meta: dict) -> list[str]:
    """Warning lines for what differs between the two runs' settings: versions, CPU model."""
    out = []

    def groups(meta):  # worker kind -> versions; anything else in a hand-edited file is ignored
        v = meta.get("versions")
        return {g: h for g, h in v.items() if isinstance(h, dict)} if isinstance(v, dict) else {}
    bv, cv = groups(base_meta), groups(cur_meta)
    for group in sorted(set(bv) & set(cv)):
        for name in VERSIONS:
            b, c = bv[group].get(name), cv[group].get(name)
            if b != c:
                out.append(f"warning: {name} {b} in baseline, {c} in current ({group} workers); "
                           "differences below may come from that")
    b, c = base_meta.get("cpu"), cur_meta.get("cpu")
    if b and c and b != c:
        # A step's cost over the bare step depends on the CPU's kernels: a float16 mixed-precision fit
        # step under tf.function measured about 2 bare steps on an AMD EPYC, about 10 on an Intel Xeon.
        out.append(f"warning: the baseline was measured on {b}, the current run on {c}; step ratios can "
                   "differ between CPUs: measure the baseline on the CPU that runs the gate")
    return out
