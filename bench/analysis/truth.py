"""TRUTH.md: the truth table, built from the results files alone (pandas, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import results
from bench.core.config import APIS, MODES, OPTIMIZERS, STRATEGIES
from bench.core.flavours import FLAVOURS
from bench.core.verdicts import LEGEND, MARK, MISREPORTED_MARK
from bench.results.columns import KEY

#: The axes a verdict can vary along, in the order a summary names them.
AXES = ("flavour", "strategy", "api", "mode", "optimizer")
_ORDER = {v: i for i, v in enumerate(tuple(FLAVOURS) + STRATEGIES + APIS + MODES + OPTIMIZERS)}

#: What popular advice says a scenario does, and who says it. A cell whose measured verdict differs
#: is a surprise. Only advice that is explicit and widespread is listed; the rest have no entry.
ADVICE = {
    "assign": ("effective", "the popular recipe: `assign` on the LR variable changes the LR"),
    "attr-set": ("ignored", "the popular recipe: a plain `=` does not reach the optimizer's state"),
    "schedule-decay": ("effective", "the popular recipe: the optimizer re-evaluates the schedule every step"),
    "schedule-swap": ("effective", "the popular recipe: assigning a new schedule applies to every later step"),
    "schedule-swap-as-restart": ("effective", "the popular recipe: the new schedule starts from its new initial LR"),
    "lr-alias": ("effective", "Keras 2 era tutorials and books: `optimizer.lr = x` sets the LR"),
}


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
        text += f" {MISREPORTED_MARK}"
    if ok["noisy"].astype(str).eq("True").any():
        text += " ~"
    ratio = pd.to_numeric(ok["step_ratio"], errors="coerce").median()
    if pd.notna(ratio):
        text += f" ×{ratio:.2f}"
    return text


def truth_tables(cells: pd.DataFrame) -> str:
    parts = []
    cols = [(a, m) for a in APIS for m in MODES if ((cells["api"] == a) & (cells["mode"] == m)).any()]
    for (flavour, strategy, device), fd in cells.groupby(["flavour", "strategy", "device"], sort=False):
        parts.append(f"### {_where(flavour, strategy, fd)} · {device}\n")
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


def _where(flavour: str, strategy: str, cells: pd.DataFrame) -> str:
    """A flavour, with its strategy and replica count when it ran under one."""
    if strategy == "none":
        return flavour
    n = sorted({int(r) for r in pd.to_numeric(cells["replicas"], errors="coerce").dropna()})
    return f"{flavour} · {strategy}" + (f" ×{n[0]}" if len(n) == 1 else "")


def outcome(cells: pd.DataFrame) -> pd.Series:
    """Each ok cell's verdict mark, with the misreport flag: what the summary compares."""
    flag = cells["reported_ok"].map(lambda ok: "" if ok is True else f" {MISREPORTED_MARK}")
    return cells["verdict"].map(lambda v: MARK.get(v, v)) + flag


def varies_by(cells: pd.DataFrame, value: pd.Series) -> list[str]:
    """Axes along which ``value`` differs between two cells that differ in that axis alone."""
    found = []
    for axis in AXES:
        others = [k for k in KEY if k != axis]
        if len(cells) and (value.groupby([cells[k] for k in others]).nunique() > 1).any():
            found.append(axis)
    return found


def split(cells: pd.DataFrame, value: pd.Series) -> list[tuple[str, str]]:
    """``value`` as few (where, value) pairs as one or two axes allow; where is "" if it never varies.

    Tries each axis alone, then pairs, then the whole key: the first grouping within which the
    value is constant gives the description, e.g. ``[("eager", "✅ effective"), ("function, xla",
    "❌ ignored")]``.
    """
    if value.nunique() <= 1:
        return [("", value.iloc[0] if len(value) else "")]
    axes = [a for a in ("scenario",) + AXES + ("device",) if cells[a].nunique() > 1]
    tries = [[a] for a in axes] + [[a, b] for i, a in enumerate(axes) for b in axes[i + 1:]] + [axes]
    for group in tries:
        by = [cells[a] for a in group]
        if (value.groupby(by).nunique() == 1).all():
            first = value.groupby(by).first()
            where: dict[str, list] = {}
            for key, v in first.items():
                key = key if isinstance(key, tuple) else (key,)
                where.setdefault(v, []).append(key)
            return [(", ".join("·".join(k) for k in sorted(keys, key=lambda k: [_ORDER.get(x, 99) for x in k])), v)
                    for v, keys in where.items()]
    return []  # unreachable: the whole key always separates cells


def describe(cells: pd.DataFrame, value: pd.Series) -> str:
    """``split`` as text: ``✅ effective (eager) · ❌ ignored (function, xla)``."""
    return " · ".join(f"{v} ({where})" if where else str(v) for where, v in split(cells, value))


def _summary_cell(cells: pd.DataFrame) -> str:
    ok = cells[cells["status"] == "ok"]
    if ok.empty:
        return "—" if cells.empty else " / ".join(sorted(set(cells["status"])))
    return describe(ok, outcome(ok))


def summary_table(cells: pd.DataFrame) -> str:
    """One row per scenario, one column per flavour: where the verdict changes, at a glance."""
    ok = cells[cells["status"] == "ok"]
    columns = list(dict.fromkeys(zip(cells["flavour"], cells["strategy"])))
    heads = [_where(f, st, cells[(cells["flavour"] == f) & (cells["strategy"] == st)]) for f, st in columns]
    lines = ["| scenario | " + " | ".join(heads) + " | varies by |", "|---|" + "---|" * (len(columns) + 1)]
    for scenario, sd in cells.groupby("scenario", sort=False):
        row = [_summary_cell(sd[(sd["flavour"] == f) & (sd["strategy"] == st)]) for f, st in columns]
        sok = ok[ok["scenario"] == scenario]
        axes = varies_by(sok, outcome(sok)) if len(sok) else []
        lines.append(f"| `{scenario}` | " + " | ".join(row) + f" | {', '.join(f'**{a}**' for a in axes) or '—'} |")
    return "\n".join(lines) + "\n"


def locate(cells: pd.DataFrame, mask: pd.Series) -> str:
    """Where among ``cells`` the masked ones lie, as briefly as ``split`` can say it."""
    if mask.all():
        return "every cell"
    return next(where for where, v in split(cells, mask.map({True: "in", False: "out"})) if v == "in")


def surprises(cells: pd.DataFrame) -> list[str]:
    """Where popular advice and the measurement disagree: one line per scenario and kind."""
    ok = cells[cells["status"] == "ok"]
    lines = []
    for scenario, g in ok.groupby("scenario", sort=False):
        if scenario not in ADVICE:
            continue
        said, who = ADVICE[scenario]
        off = g["verdict"] != said
        if off.any():
            got = describe(g[off], outcome(g[off]))
            lines.append(f"- `{scenario}`: {who} ({MARK[said]}); measured {got} — in {locate(g, off)} "
                         f"({off.sum()} of {len(g)} cells)")
        # The same advice checks the LR by printing it: flag where the print would mislead.
        hidden = (g["reported_ok"] != True) & (g["verdict"] != "raises")  # noqa: E712
        if hidden.any():
            lines.append(f"- `{scenario}`: `optimizer.learning_rate`, read before the step, is not the LR the step "
                         f"applies (another value, or no number) — in {locate(g, hidden)} "
                         f"({hidden.sum()} of {len(g)} cells) {MISREPORTED_MARK}")
    return lines


def retrace_table(cells: pd.DataFrame, steps: pd.DataFrame) -> str:
    """Compiled cells that traced more than once, beside `tensor-arg`, with what the traces cost
    ("" when no compiled cell retraced: `tensor-arg` alone has nothing to be set beside).

    Timed steps whose tracing count grew (after the first call) are the retraced ones. Their median
    time is set beside the median of the other steady steps, and **extra s** sums, per run, each
    retraced step's time above that other median. It is read from the steps rather than from the
    ``retrace_s`` column, which measures against the median of all steady steps: when most steps
    retrace (``float-arg``), that median is itself a retrace and hides the cost.
    """
    compiled = cells[(cells["status"] == "ok") & (cells["mode"] != "eager")]
    retracing = set(compiled.loc[pd.to_numeric(compiled["traces"], errors="coerce") > 1, "scenario"])
    if not retracing:
        return ""
    show = compiled[compiled["scenario"].isin(retracing | {"tensor-arg"})]
    run = list(KEY) + ["repeat"]
    st = steps.sort_values(run + ["step"]).copy()
    st["grew"] = st.groupby(run)["traces"].diff() > 0
    st = st[st["step"] > 0]
    lines = ["| scenario | flavour | api · mode | traces | retraced steps | retraced step ms | other step ms "
             "| extra s | retrace_s | step ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, g in show.groupby(["scenario", "flavour", "api", "mode", "strategy"], sort=False):
        s = st.merge(g[list(KEY)], on=list(KEY))
        other = s.loc[~s["grew"], "step_s"].median()
        extra = (s["step_s"] - other).clip(lower=0).where(s["grew"], 0.0).groupby([s[k] for k in run]).sum()
        ms = lambda x: f"{1e3 * x.median():.2f}" if len(x) else "—"  # noqa: E731
        lines.append(
            f"| `{key[0]}` | {_where(key[1], key[4], g)} | {key[2]} · {key[3]} | {int(pd.to_numeric(g['traces']).max())} "
            f"| {int(s['grew'].sum()) // max(1, len(extra))} | {ms(s.loc[s['grew'], 'step_s'])} "
            f"| {ms(s.loc[~s['grew'], 'step_s'])} | {extra.median() if len(extra) else 0:.3f} "
            f"| {pd.to_numeric(g['retrace_s']).median():.3f} | ×{pd.to_numeric(g['step_ratio']).median():.1f} |")
    return "\n".join(lines) + "\n"


def version_line(meta: dict, names: tuple[str, ...]) -> str:
    """The versions each kind of worker ran, once per flavour environment: workers that differ only
    in their logical CPU devices (``keras3:cpus=2``) ran the same packages."""
    shown: dict[str, str] = {}
    for group, h in meta.get("versions", {}).items():
        shown.setdefault(group.split(":")[0], ", ".join(f"{k} {v}" for k, v in h.items() if k in names and v))
    return "; ".join(f"{g}: {text}" for g, text in shown.items())


def render(folder) -> str:
    cells = results.read_cells(folder)
    meta = results.read_meta(folder)
    vline = version_line(meta, ("tensorflow", "keras", "tf_keras", "python"))
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
    body = "## At a glance\n\n" + summary_table(cells) + "\n## Per flavour and device\n\n" + truth_tables(cells)
    tail = []
    found = surprises(cells)
    if found:
        tail += ["## Surprises: where popular advice and the measurement disagree", ""] + found + [""]
    retraces = retrace_table(cells, results.read_steps(folder))
    if retraces:
        tail += ["## Retracing cost (compiled cells that traced more than once, and `tensor-arg`)", "",
                 "Retraced steps are the timed steps during which the tracing count grew; **extra s** is the "
                 "time they took above the other steps' median, per run.", "", retraces]
    bad = cells[cells["status"] != "ok"]
    if len(bad):
        tail += ["## Cells not measured", ""] + [
            f"- `{r.scenario}` {_where(r.flavour, r.strategy, bad)} {r.api} {r.mode} {r.device} {r.optimizer}: "
            f"{r.status} — {r.error}"
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
