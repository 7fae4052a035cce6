"""The titles of the lesson figures: each states, from the rows, what its figure shows."""

from __future__ import annotations

import textwrap

import pandas as pd

from bench.core.verdicts import EFFECTIVE
from bench.results.columns import NOISY_IQR


def in_step_scenarios() -> set[str]:
    """The scenarios whose LR is assigned inside the train step: a print placed before the step
    reads the LR before that assignment, so it can never show the LR the step used."""
    from bench.scenarios import REGISTRY, Scenario  # no TensorFlow: scenarios import it only in workers

    return {sid for sid, s in REGISTRY.items() if type(s).in_step is not Scenario.in_step}


def _scenario_summary(cells: pd.DataFrame, sel, scenario: str) -> str:
    """'x ignored in function, xla; effective in eager' over the panels shown for one scenario."""
    ok = sel.filter(cells)
    g = ok[ok["scenario"] == scenario]
    by_mode = {m: "/".join(sorted(set(d["verdict"]))) for m, d in g.groupby("mode", sort=False)}
    if len(set(by_mode.values())) == 1:
        text = f"{scenario} {next(iter(by_mode.values()))} in every mode"
    else:
        groups: dict[str, list[str]] = {}
        for m, v in by_mode.items():
            groups.setdefault(v, []).append(m)
        text = f"{scenario} " + ", ".join(f"{v} in {'/'.join(ms)}" for v, ms in groups.items())
    bad = int((g["reported_ok"] == False).sum())  # noqa: E712
    return text + (f" (print wrong in {bad} of {len(g)})" if bad else "")


def _wrap(text: str, width: int = 90) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def lr_title(cells, sel) -> str:
    return _wrap("; ".join(_scenario_summary(cells, sel, s) for s in sel.scenarios))


def loss_title(cells, steps, sel) -> str:
    data = sel.filter(steps)
    last = data[data["step"] == data["step"].max()]
    if last.empty:
        return "No loss measured"
    if len(sel.scenarios) == 1:  # one scenario: how the modes end up
        finals = last.groupby("mode", sort=False)["loss"].mean()
        return _wrap(f"Final loss of {sel.scenarios[0]}: " + ", ".join(f"{m} {v:.3f}" for m, v in finals.items()))
    finals = last.groupby("scenario", sort=False)["loss"].mean().sort_values()
    return _wrap("Final loss, mean over modes, lowest first: " + ", ".join(f"{s} {v:.3f}" for s, v in finals.items()))


def timing_title(cells, sel) -> str:
    """The slowest cell, and how many cells cost no more than the bare step within timing noise
    (a ratio under 1 is noise, not a speed-up: no change makes a step faster than doing nothing)."""
    ok = sel.filter(cells).copy()
    ok["ratio"] = pd.to_numeric(ok["step_ratio"], errors="coerce")
    ok = ok.dropna(subset=["ratio"])
    if ok.empty:
        return "No step times measured"
    hi = ok.loc[ok["ratio"].idxmax()]
    near = int((ok["ratio"] <= 1 + NOISY_IQR).sum())
    if near:
        within = (f"{near} of {len(ok)} cells shown cost at most {NOISY_IQR:.0%} more than the bare step, "
                  "which is timing noise")
    else:
        within = f"none of the {len(ok)} cells shown is within {NOISY_IQR:.0%} of the bare step"
    text = (f"Slowest: {hi['scenario']} ({hi['flavour']}) in {hi['mode']} at ×{hi['ratio']:.2f} the bare static "
            f"step ({_traces(hi)}); {within}")
    retraced = ok[pd.to_numeric(ok["retrace_s"], errors="coerce") > 0]
    if not retraced.empty:  # a ratio is a median over steady steps: a few retraced ones do not move it
        top = retraced.loc[pd.to_numeric(retraced["retrace_s"]).idxmax()]
        text += (f". Retraces are not in these ratios: {top['scenario']} ({top['flavour']}) in {top['mode']} spent "
                 f"{float(top['retrace_s']):.2f} s more in its retraced steps than in as many others")
    return _wrap(text)


def _traces(row) -> str:
    n = int(row["traces"])
    return f"{n} trace{'' if n == 1 else 's'}"


def truth_title(cells) -> str:
    """Effective cells, and the misprinted ones counted apart where the LR is assigned inside the
    step (a print before the step cannot show that LR) and where it is not."""
    ok = cells[cells["status"] == "ok"]
    eff = int((ok["verdict"] == EFFECTIVE).sum())
    bad = ok[ok["reported_ok"] == False]  # noqa: E712
    inside = int(bad["scenario"].isin(in_step_scenarios()).sum())
    text = (f"The change took effect in {eff} of {len(ok)} measured cells; the LR printed before a step was wrong "
            f"in {len(bad) - inside}")
    if inside:
        text += f", and in {inside} more whose LR is assigned inside the step, where such a print cannot see it"
    return _wrap(text)
