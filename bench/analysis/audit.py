"""AUDIT.md: the popular LR-reset recipe, claim by claim, checked against a results folder.

The recipe is a widely shared article on resetting the learning rate in TensorFlow 2. Its claims are
paraphrased here, each with the scenarios that test it and a per-cell test of whether the claim
holds in that cell. Findings (holds / fails / depends on …) are computed from the results files
alone (pandas, no TensorFlow); what its code samples get wrong beyond the LR is stated only where a
plain fact about that code, or a measurement, supports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bench import results
from bench.analysis import truth
from bench.analysis.releases import SERIES, by_series, discover, ranges
from bench.core.verdicts import LEGEND, MISREPORTED_MARK, close
from bench.results.columns import KEY

AUDIT_MD = "AUDIT.md"
HOLDS, FAILS = "holds", "fails"


@dataclass(frozen=True)
class Claim:
    text: str                    # the recipe's claim, paraphrased
    scenarios: tuple[str, ...]   # the cells that test it
    #: per ok cell of those scenarios: does the claim hold there? (cells, steps) -> Series of
    #: True / False, or NaN where the cell cannot tell (its counterpart was not run)
    holds: Callable[[pd.DataFrame, pd.DataFrame], pd.Series]
    note: str = ""


def _verdict_is(*verdicts):
    return lambda cells, steps: cells["verdict"].isin(verdicts)


def _verdict_is_not(*verdicts):
    return lambda cells, steps: ~cells["verdict"].isin(verdicts)


def _reports_applied_lr(cells, steps):
    return cells["reported_ok"] == True  # noqa: E712 (NaN-safe: a missing value is not True)


def _print_after_step(cells, steps) -> pd.Series:
    """Does a print placed after step s (the reported LR before step s + 1) show step s's LR?"""
    return pd.Series([_after_step_kind(steps, r) == "this step's LR" for r in cells.itertuples()], index=cells.index,
                     dtype=object)


def _after_step_kind(steps, row) -> str:
    s = _cell_steps(steps, row)
    shown, this, nxt = s["lr_reported"].to_numpy()[1:], s["lr_effective"].to_numpy()[:-1], s["lr_effective"].to_numpy()[1:]
    if not len(shown) or np.isnan(shown).any():
        return "no number"
    if close(shown, this):
        return "this step's LR"
    if close(shown, nxt):
        return "the next step's LR"
    return "another value"


def _cell_steps(steps, row) -> pd.DataFrame:
    mask = np.ones(len(steps), dtype=bool)
    for k in KEY:
        mask &= steps[k].astype(str).to_numpy() == str(getattr(row, k))
    s = steps[mask]
    return s[s["repeat"] == s["repeat"].min()].sort_values("step")


def _same_as(axis: str, value: str):
    """Holds where a cell's verdict equals that of the cell with ``axis`` = ``value``, all else equal."""
    def holds(cells, steps) -> pd.Series:
        rest = [k for k in KEY if k != axis]
        ref = cells[cells[axis] == value].set_index(rest)["verdict"]
        ref = ref.reindex(pd.MultiIndex.from_frame(cells[rest])).to_numpy()
        same = pd.Series(ref == cells["verdict"].to_numpy(), index=cells.index, dtype=object)
        return same.where(pd.notna(ref) & (cells[axis] != value).to_numpy())  # not against itself
    return holds


RECIPE = ("assign", "attr-set", "schedule-decay", "schedule-swap")
FIELD_ASSIGN = ("mixed-assign-outer", "mixed-assign-inner", "mixed-bfloat16-assign", "adamw-assign",
                "adamw-decay-assign", "grad-accum-assign")
FIELD_SCHEDULE = ("resume-checkpoint", "resume-load-weights", "resume-load-model", "resume-initial-epoch",
                  "resume-new-optimizer", "resume-backup-restore", "grad-accum-schedule")

CLAIMS = (
    Claim("A new float alone changes nothing; the optimizer object itself has to be updated (tested with "
          "a rebound name and with a float that the train step reads).",
          ("local-rebind", "closure-float"), _verdict_is_not("effective")),
    Claim("`optimizer.learning_rate.assign(new)` on a float-initialised optimizer changes the LR of the "
          "steps that follow.", ("assign",), _verdict_is("effective")),
    Claim("Plain `=` on `optimizer.learning_rate` does nothing; only `assign` changes what the optimizer "
          "uses.", ("attr-set",), _verdict_is_not("effective")),
    Claim("With a schedule passed to the optimizer, the LR follows the schedule step by step.",
          ("schedule-decay",), _verdict_is("effective")),
    Claim("Printing `optimizer.learning_rate.numpy()` in the loop shows the LR being used, with or "
          "without a schedule.", ("schedule-decay", "schedule-swap"), _reports_applied_lr,
          note=f"`{MISREPORTED_MARK}`/not a number: the print shows another value, or fails because the "
               "attribute is a schedule object"),
    Claim("Swapping in a new schedule object (`optimizer.learning_rate = new_schedule`) takes over from "
          "the next step on.", ("schedule-swap",), _verdict_is("effective"),
          note="`schedule-swap-retrace` measures the swap followed by a retrace"),
    Claim("After the swap, training continues from the new schedule's initial LR (its example moves "
          "to a new initial LR of 0.005).", ("schedule-swap-as-restart",), _verdict_is("effective"),
          note="Keras evaluates any schedule at the optimizer's iteration count, which the swap does "
               "not reset; `schedule-restart` measures a schedule that does restart"),
    Claim("Replacing `optimizer.learning_rate` with `=` works only for an optimizer that already has a "
          "schedule.",
          ("attr-set",), _verdict_is_not("effective")),
    # Beyond the LR: its code samples.
    Claim("(code) The LR printed after each step is the LR that step used.", ("schedule-decay",),
          _print_after_step, note="a print after step s reads what the bench reports before step s + 1"),
    Claim("(code) Its `train_step` is a plain Python function, so what it shows holds once the step "
          "is compiled with `tf.function` or XLA too.", RECIPE, _same_as("mode", "eager"),
          note="compiled cells only: holds where the verdict equals the eager cell's"),
    Claim("(code) `tf.keras` gives the same results whichever Keras it resolves to (Keras 3, or "
          "tf_keras with `TF_USE_LEGACY_KERAS=1`).", RECIPE, _same_as("flavour", "keras3"),
          note="tf_keras flavours only: holds where the verdict equals Keras 3's"),
    # Its claims carried to where users meet them: wrapped optimizers, checkpoints and resumes.
    Claim("(field) `assign` changes the LR of the steps that follow also through a wrapped or extended "
          "optimizer (mixed precision's `LossScaleOptimizer` or its inner optimizer, AdamW, gradient "
          "accumulation).", FIELD_ASSIGN, _verdict_is("effective")),
    Claim("(field) Plain `=` does nothing also on a mixed-precision optimizer (outer or inner).",
          ("mixed-set-outer", "mixed-set-inner"), _verdict_is_not("effective")),
    Claim("(field) An LR set with `assign` or a new optimizer stays set when a checkpoint is restored "
          "after it.", ("restore-lr", "restore-lr-checkpoint"), _verdict_is("effective"),
          note="the restore writes the saved LR back"),
    Claim("(field) A schedule follows its steps across a save and resume (every way the bench resumes) "
          "and under gradient accumulation.", FIELD_SCHEDULE, _verdict_is("effective")),
)

#: What its code samples get wrong that needs no measurement: plain facts about the code.
CODE_FACTS = (
    "Its integer labels are drawn by `tf.random.uniform` with `maxval=9`. TensorFlow documents `maxval` "
    "as excluded, so class 9 never occurs: a ten-way softmax trained on nine classes.",
    "Inputs and labels are one random batch drawn once and reused by every \"epoch\": each epoch is a "
    "single step on the same noise, so a falling loss shows memorisation, not learning.",
    "The model passes `input_shape=` to its first `Dense` layer; Keras 3 warns against this and asks "
    "for an `Input(shape)` first.",
)


@dataclass
class Row:
    claim: Claim
    cells: pd.DataFrame = field(repr=False)
    finding: str = ""
    measured: str = ""


def _finding(cells: pd.DataFrame, holds: pd.Series) -> str:
    if cells.empty:
        return "not measured"
    value = holds.map({True: HOLDS, False: FAILS})
    if value.nunique() == 1:
        return f"**{value.iloc[0]}**"
    axes = truth.varies_by(cells, value)
    return f"**depends** on {', '.join(axes) or 'the scenario'}: fails in {truth.locate(cells, value == FAILS)}, holds elsewhere"


def _measured(claim: Claim, cells: pd.DataFrame, steps: pd.DataFrame) -> str:
    if cells.empty:
        return f"no cells; run `lr-bench run --scenarios {','.join(claim.scenarios)}`"
    out = []
    for scenario, g in cells.groupby("scenario", sort=False):
        if claim.holds is _print_after_step:
            kinds = pd.Series([f"shows {_after_step_kind(steps, r)}" for r in g.itertuples()], index=g.index)
            text = truth.describe(g, kinds)
        else:
            text = truth.describe(g, truth.outcome(g))
        out.append(f"`{scenario}` ({len(g)} cells): {text}")
    return "<br>".join(out)


def audit_rows(cells: pd.DataFrame, steps: pd.DataFrame) -> list[Row]:
    ok = cells[cells["status"] == "ok"]
    rows = []
    for claim in CLAIMS:
        c = ok[ok["scenario"].isin(claim.scenarios)]
        holds = claim.holds(c, steps) if len(c) else pd.Series(dtype=object)
        c, holds = c[holds.notna()], holds[holds.notna()].astype(bool)
        rows.append(Row(claim, c, _finding(c, holds), _measured(claim, c, steps)))
    return rows


def render(folder) -> str:
    cells = results.read_cells(folder)
    steps = results.read_steps(folder)
    meta = results.read_meta(folder)
    versions = truth.version_line(meta, ("tensorflow", "keras", "tf_keras"))
    cfg = meta.get("config", {})
    lines = [
        "# Audit of the popular LR-reset recipe",
        "",
        "Each claim of a widely shared article on resetting the learning rate in TensorFlow 2, "
        "paraphrased, against the cells of this results folder. A claim **holds** or **fails** when "
        "every cell that tests it agrees; otherwise it **depends**, on the axes named.",
        "",
        f"Measured {meta.get('finished', '?')} · {versions} · profile `{cfg.get('profile')}`, "
        f"{cfg.get('steps')} steps, commit `{meta.get('bench_commit')}`.",
        "",
        "| # | claim | cells | measured | finding |",
        "|---|---|---|---|---|",
    ]
    for i, row in enumerate(audit_rows(cells, steps), 1):
        claim = row.claim
        tested = ", ".join(f"`{s}`" for s in claim.scenarios) + f" ({len(row.cells)} cells)"
        note = f"<br>*{claim.note}*" if claim.note else ""
        lines.append(f"| {i} | {claim.text} | {tested} | {row.measured}{note} | {row.finding} |")
    lines += ["", "## What its code samples get wrong beyond the LR (plain facts about the code)", ""]
    lines += [f"- {fact}" for fact in CODE_FACTS]
    releases = discover(Path(folder) / "releases")
    if releases:  # a sweep beside these results: the history of every claim
        lines += [""] + recipe_history(releases)
    lines += ["", LEGEND]
    return "\n".join(lines) + "\n"


def recipe_history(releases: list) -> list[str]:
    """For each claim of the popular recipe, in which releases it held."""
    findings: dict[int, list[tuple]] = {}
    claims = CLAIMS
    for r in releases:
        for i, row in enumerate(audit_rows(results.read_cells(r.folder), results.read_steps(r.folder))):
            findings.setdefault(i, []).append((r, "" if row.finding == "not measured" else row.finding.split(":")[0]))
    lines = ["## The popular recipe across releases", "",
             "Each claim above, per series of releases (`lr-bench sweep`, quick profile): **holds** where every "
             "cell that tests it agrees with it, **fails** where none does, **depends** otherwise.", "",
             "| # | claim | " + " | ".join(SERIES[s] for s in by_series(releases)) + " |",
             "|---|---|" + "---|" * len(by_series(releases))]
    for i, claim in enumerate(claims):
        per = [ranges([v for v in findings.get(i, []) if v[0].series == s]) if any(v for r, v in findings.get(i, []) if r.series == s)
               else "not measured" for s in by_series(releases)]
        lines.append(f"| {i + 1} | {claim.text} | " + " | ".join(per) + " |")
    return lines + [""]


def write_audit(folder) -> Path:
    path = Path(folder) / AUDIT_MD
    results.atomic_write(path, render(folder))
    return path
