"""Lesson figures (seaborn), drawn from the results frames alone: no TensorFlow.

Every figure is meant for a projector: large type, the Okabe-Ito colour-blind-safe palette, and a
title computed from the data that states what the figure shows. Steps are averaged over repeats
before plotting (the probe is exact, so repeats differ only in the loss).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.core.config import MODES  # noqa: E402
from bench.core.verdicts import COLOURS, MISREPORTED_PLOT_MARK  # noqa: E402
from bench.results.files import staging_file  # noqa: E402

#: Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
LR_STYLE = {  # the three LRs of a cell: what was meant, what the weights show, what the print says
    "intended": dict(color="#000000", ls="--", lw=2.5),
    "effective": dict(color="#0072B2", ls="-", lw=3.5),
    "reported": dict(color="#D55E00", ls=":", lw=3, marker="o", ms=5),
}


#: Every figure is drawn for a 1280×720 projector: 16 × 9 inches at 80 dpi, no text under ``MIN_PT``.
SIZE, DPI, MIN_PT, TITLE_PT = (16, 9), 80, 13, 19


def theme() -> None:
    sns.set_theme(context="talk", style="whitegrid", palette=OKABE_ITO, font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 80, "axes.titleweight": "bold", "figure.titlesize": 22,
                         "figure.titleweight": "bold"})


def save(fig, path: Path) -> Path:
    """Write the PNG beside its final name, then rename: a reader never sees half a figure."""
    path = Path(path)
    fd, tmp = staging_file(path.parent, f".{path.stem}.", ".png")
    os.close(fd)
    try:
        # no Software/date metadata: the same results give byte-identical figures
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


@dataclass(frozen=True)
class Selection:
    """Which cells a lesson's figures show: one optimizer and device, one api per scenario (the
    loop where it ran), and a panel row per flavour only for the scenarios whose outcomes differ
    between flavours."""

    scenarios: tuple[str, ...]
    optimizer: str
    device: str
    panels: tuple[tuple[str, str, str], ...]  # (scenario, flavour, api) rows, in order

    def rows(self, cells: pd.DataFrame) -> list[tuple[str, str, str]]:
        """The panel rows that have at least one measured cell."""
        ok = self.filter(cells)
        have = set(zip(ok["scenario"], ok["flavour"], ok["api"]))
        return [p for p in self.panels if p in have]

    def filter(self, frame: pd.DataFrame) -> pd.DataFrame:
        # Column masks first (steps.csv of a full run has hundreds of thousands of rows), then the
        # panels' (scenario, flavour, api) triples on what is left.
        keep = (frame["scenario"].isin(self.scenarios) & (frame["optimizer"] == self.optimizer)
                & (frame["device"] == self.device))
        if "status" in frame:
            keep &= frame["status"] == "ok"
        sub = frame[keep]
        return sub[pd.MultiIndex.from_frame(sub[["scenario", "flavour", "api"]]).isin(self.panels)]

    def label(self) -> str:
        return f"{self.optimizer} · {self.device}"


def _prefer(values, preferred: tuple[str, ...]) -> str:
    values = list(dict.fromkeys(values))
    return next((p for p in preferred if p in values), values[0])


def select(cells: pd.DataFrame, scenarios: list[str]) -> Selection | None:
    ok = cells[cells["scenario"].isin(scenarios) & (cells["status"] == "ok")]
    if ok.empty:
        return None
    optimizer = _prefer(ok["optimizer"], ("sgd", "adam"))
    device = _prefer(ok["device"], ("cpu",))
    ok = ok[(ok["optimizer"] == optimizer) & (ok["device"] == device)].copy()
    panels = []
    for scenario in (s for s in scenarios if s in set(ok["scenario"])):
        mine = ok[ok["scenario"] == scenario]
        api = _prefer(mine["api"], ("loop", "fit"))
        mine = mine[mine["api"] == api]
        outcome = mine["verdict"] + mine["reported_ok"].map({False: " misreported"}).fillna("")
        flavours = list(dict.fromkeys(mine["flavour"]))
        if not (outcome.groupby(mine["mode"]).nunique() > 1).any():
            # every flavour gives the same outcomes here: one row, in the preferred flavour
            flavours = [_prefer(flavours, ("keras3", "tf_keras", "tf_keras_legacy"))]
        panels += [(scenario, f, api) for f in flavours]
    return Selection(tuple(dict.fromkeys(p[0] for p in panels)), optimizer, device, tuple(panels))


def _modes(frame: pd.DataFrame) -> list[str]:
    return [m for m in MODES if m in set(frame["mode"])]


def _mean_steps(steps: pd.DataFrame) -> pd.DataFrame:
    cols = ["lr_intended", "lr_effective", "lr_reported", "loss"]
    return steps.groupby(["scenario", "flavour", "api", "mode", "step"], sort=False)[cols].mean().reset_index()


def grid(n: int) -> tuple[int, int]:
    """Rows and columns for n panels: one row up to three, then two rows."""
    return (1, max(1, n)) if n <= 3 else (2, -(-n // 2))


def lr_figure(panels: list, flavours: list[str], modes: list[str], sel: Selection, change: int | None,
              title: str, path: Path) -> Path:
    """Intended, effective and reported LR per step, one panel per group of cells whose curves and
    verdicts are the same (``bench.lessons.panels``), its caption naming what it stands for."""
    from bench.lessons.panels import caption

    n_rows, n_cols = grid(len(panels))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=SIZE, squeeze=False, sharex=True, layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.remove()
    for ax, p in zip(axes.flat, panels):
        d = p.steps
        for name, style in LR_STYLE.items():
            ax.plot(d["step"], d[f"lr_{name}"], label=name, **style)
        if len(d) and d["lr_reported"].isna().all():
            ax.text(0.97, 0.94, "print: not a number", transform=ax.transAxes, ha="right", va="top",
                    fontsize=MIN_PT + 1, color=LR_STYLE["reported"]["color"])
        if change is not None:
            ax.axvline(change - 0.5, color="#666666", lw=1.5)
        flag = "" if p.reported_ok else f" {MISREPORTED_PLOT_MARK} misreported"
        ax.set_title(f"{p.scenario}\n{p.verdict}{flag}", color=COLOURS.get(p.verdict, "#000000"), fontsize=16)
        ax.set_xlabel(_wrap_caption(caption(p, flavours, modes), n_cols), fontsize=MIN_PT + 1)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
        ax.tick_params(labelsize=MIN_PT + 1)
    axes[0][0].set_ylabel("LR")
    if n_rows > 1:
        axes[1][0].set_ylabel("LR")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=MIN_PT + 2,
               title=f"{sel.label()} · x: training step · grey line: the change, before step {change} · effective ="
                     " solved from the weights; reported = optimizer.learning_rate", title_fontsize=MIN_PT)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    return save(fig, path)


def _wrap_caption(text: str, n_cols: int) -> str:
    return "\n".join(textwrap.wrap(text, {1: 90, 2: 60}.get(n_cols, 42), break_on_hyphens=False))


def _row_label(scenario: str, flavour: str, api: str) -> str:
    return f"{scenario} ({flavour} · {api})"


def loss_figure(cells, steps, sel: Selection, title: str, path: Path) -> Path:
    """Loss per step, one line per (scenario, flavour, api), a column per mode."""
    modes, rows = _modes(sel.filter(cells)), sel.rows(cells)
    data = _mean_steps(sel.filter(steps))
    fig, axes = plt.subplots(1, len(modes), figsize=SIZE, squeeze=False, sharey=True, layout="constrained")
    change = _change_step(cells)
    styles = ["-", "--", ":", "-."]
    for j, mode in enumerate(modes):
        ax = axes[0][j]
        for k, (scenario, flavour, api) in enumerate(rows):
            d = data[(data["scenario"] == scenario) & (data["flavour"] == flavour) & (data["api"] == api)
                     & (data["mode"] == mode)]
            if len(d):
                # a thinner, differently dashed line per row: identical curves stay visible
                ax.plot(d["step"], d["loss"], lw=max(1.5, 4.5 - 0.8 * k), ls=styles[k % len(styles)],
                        color=OKABE_ITO[k % len(OKABE_ITO)], label=_row_label(scenario, flavour, api))
        if change is not None:
            ax.axvline(change - 0.5, color="#666666", lw=1.5)
        ax.set_title(mode, fontsize=17)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("loss")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(3, max(1, len(labels))), frameon=False,
               fontsize=MIN_PT + 1, title=f"{sel.label()} · mean over repeats · grey line: the change",
               title_fontsize=MIN_PT)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    return save(fig, path)


def timing_figure(cells, sel: Selection, title: str, path: Path) -> Path:
    """Median step time over the bare static step of the same mode (and worker, flavour,
    optimizer): a group of bars per (scenario, flavour, api), a bar per mode, each annotated with
    the cell's tracing count."""
    ok = sel.filter(cells)
    modes, rows = _modes(ok), sel.rows(cells)
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    height = 0.8 / max(1, len(modes))
    ends = []
    for k, (scenario, flavour, api) in enumerate(rows):
        for j, mode in enumerate(modes):
            c = ok[(ok["scenario"] == scenario) & (ok["flavour"] == flavour) & (ok["api"] == api) & (ok["mode"] == mode)]
            if c.empty:
                continue
            ratio = float(pd.to_numeric(c["step_ratio"], errors="coerce").median())
            traces = int(pd.to_numeric(c["traces"], errors="coerce").max())
            y = k + (j - (len(modes) - 1) / 2) * height
            ax.barh(y, ratio, height=height * 0.92, color=OKABE_ITO[j % len(OKABE_ITO)], label=mode if k == 0 else None)
            ax.annotate(f"{traces}", (ratio, y), ha="left", va="center", fontsize=MIN_PT + 1, xytext=(3, 0),
                        textcoords="offset points")
            ends.append(ratio)
    ax.axvline(1.0, color="#000000", lw=1.5, ls="--")
    ax.set_yticks(range(len(rows)), [f"{s}\n{f} · {a}" for s, f, a in rows], fontsize=MIN_PT + 1)
    ax.invert_yaxis()  # the first row on top, as the page lists them
    ax.set_xlabel("step time / bare static step")
    ratios = pd.to_numeric(ok["step_ratio"], errors="coerce").dropna()
    if len(ratios) and ratios.min() > 0 and ratios.max() / ratios.min() > 20:
        # a retrace per step can cost hundreds of bare steps: on a linear axis the rest vanish
        ax.set_xscale("log")
        ax.set_xlabel("step time / bare static step (log)")
        ax.set_xlim(right=max(ends) * 3)  # room for the counts beside the bars
    elif ends:
        ax.set_xlim(0, max(ends) * 1.12)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(modes), frameon=False, fontsize=MIN_PT + 2,
               title=f"{sel.label()} · bare static step: the same worker, flavour and mode with the LR never changed"
                     " (dashed, ×1) · number on a bar: tf.function traces (0 = eager)", title_fontsize=MIN_PT)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    return save(fig, path)


def _change_step(cells: pd.DataFrame) -> int | None:
    vals = pd.to_numeric(cells["change_step"], errors="coerce").dropna().unique()
    return int(vals[0]) if len(vals) == 1 else None
