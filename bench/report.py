"""TRUTH.md: the truth table, built from the results files alone (pandas, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import results
from bench.config import APIS, MODES

MARK = {"effective": "✅ effective", "ignored": "❌ ignored", "wrong": "⚠️ wrong", "raises": "💥 raises"}
MISREPORTED = "⚑"

LEGEND = f"""\
Legend: ✅ **effective** the effective LR (measured from the weights) followed the intended trajectory
at every step after the change · ❌ **ignored** nothing raised, but the LR carried on as if nothing
had changed · ⚠️ **wrong** it changed, but not to what was intended · 💥 **raises** the change
statement raised · {MISREPORTED} the LR that `optimizer.learning_rate` reported differed from the
effective LR after the change · ~ noisy timing (IQR over 25 % of the median) · ×r median step time over the bare compiled static loop in the same
worker. Where the optimizers disagree, each is shown.
"""


def _cell(group: pd.DataFrame) -> str:
    ok = group[group["status"] == "ok"]
    if ok.empty:
        return " / ".join(sorted(set(group["status"])))
    verdicts = {r.optimizer: r.verdict for r in ok.itertuples()}
    if len(set(verdicts.values())) == 1:
        text = MARK.get(next(iter(verdicts.values())), "?")
    else:
        text = ", ".join(f"{o}: {MARK.get(v, v)}" for o, v in sorted(verdicts.items()))
    if (ok["reported_ok"] == False).any():  # noqa: E712 (a column of bools)
        text += f" {MISREPORTED}"
    if ok["noisy"].astype(str).eq("True").any():
        text += " ~"
    ratio = pd.to_numeric(ok["step_ratio"], errors="coerce").median()
    if pd.notna(ratio):
        text += f" ×{ratio:.2f}"
    return text


def truth_tables(cells: pd.DataFrame) -> str:
    parts = []
    cols = [(a, m) for a in APIS for m in MODES if ((cells["api"] == a) & (cells["mode"] == m)).any()]
    for (flavour, device), fd in cells.groupby(["flavour", "device"], sort=False):
        parts.append(f"### {flavour} · {device}\n")
        parts.append("| scenario | " + " | ".join(f"{a} · {m}" for a, m in cols) + " |")
        parts.append("|---|" + "---|" * len(cols))
        for scenario, sd in fd.groupby("scenario", sort=False):
            row = []
            for a, m in cols:
                g = sd[(sd["api"] == a) & (sd["mode"] == m)]
                row.append(_cell(g) if len(g) else "—")
            parts.append(f"| `{scenario}` | " + " | ".join(row) + " |")
        parts.append("")
    return "\n".join(parts)


def render(folder) -> str:
    cells = results.read_cells(folder)
    meta = results.read_meta(folder)
    versions = meta.get("versions", {})
    vline = "; ".join(
        f"{g}: " + ", ".join(f"{k} {v}" for k, v in h.items() if k in ("tensorflow", "keras", "tf_keras", "python") and v)
        for g, h in versions.items()
    )
    cfg = meta.get("config", {})
    head = [
        "# Truth table: does the learning-rate change take effect?",
        "",
        f"Measured {meta.get('finished', '?')} on {meta.get('cpu', '?')} · {vline} · "
        f"profile `{cfg.get('profile')}`, {cfg.get('steps')} steps, change at step {_change(cells)}, "
        f"{cfg.get('repeats')} repeat(s), commit `{meta.get('bench_commit')}`.",
        "",
        LEGEND,
    ]
    body = truth_tables(cells)
    tail = []
    bad = cells[cells["status"] != "ok"]
    if len(bad):
        tail = ["## Cells not measured", ""] + [
            f"- `{r.scenario}` {r.flavour} {r.api} {r.mode} {r.device} {r.optimizer}: {r.status} — {r.error}"
            for r in bad.itertuples()
        ]
    raised = cells[(cells["verdict"] == "raises")]
    if len(raised):
        tail += ["", "## What raised", ""] + sorted({f"- `{r.scenario}` ({r.flavour}): {r.error}" for r in raised.itertuples()})
    return "\n".join(head + [body] + tail) + "\n"


def _change(cells: pd.DataFrame):
    vals = pd.to_numeric(cells.get("change_step"), errors="coerce").dropna().unique()
    return int(vals[0]) if len(vals) == 1 else "varies"


def write_truth(folder) -> Path:
    path = Path(folder) / results.TRUTH_MD
    results.atomic_write(path, render(folder))
    return path
