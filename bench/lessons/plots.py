"""Lesson figures (seaborn), drawn from the results frames alone: no TensorFlow.

Every figure is meant for a projector: large type, the Okabe-Ito colour-blind-safe palette, and a
title computed from the data that states what the figure shows. Steps are averaged over repeats
before plotting (the probe is exact, so repeats differ only in the loss).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.core.config import MODES  # noqa: E402
from bench.core.verdicts import COLOURS, MISREPORTED_PLOT_MARK  # noqa: E402

#: Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
LR_STYLE = {  # the three LRs of a cell: what was meant, what the weights show, what the print says
    "intended": dict(color="#000000", ls="--", lw=2.5),
    "effective": dict(color="#0072B2", ls="-", lw=3.5),
    "reported": dict(color="#D55E00", ls=":", lw=3, marker="o", ms=5),
}


def theme() -> None:
    sns.set_theme(context="talk", style="whitegrid", palette=OKABE_ITO, font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 80, "axes.titleweight": "bold", "figure.titlesize": 22,
                         "figure.titleweight": "bold"})


def frame(fig, top_in: float, bottom_in: float, left_in: float = 1.3, right_in: float = 0.4, **space) -> None:
    """Fixed margins in inches: room for the title above and the legend below, without the
    repeated redraws an automatic layout costs on figures of many panels."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(top=1 - top_in / h, bottom=bottom_in / h, left=left_in / w, right=1 - right_in / w, **space)


def _title(ax, text: str, color: str = "#000000") -> None:
    # a plain text, not set_title: Axes.set_title re-measures the tick labels at every draw to
    # dodge them, which is most of the drawing time of a figure of many small panels
    ax.text(0.5, 1.03, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=17,
            fontweight="bold", color=color)


def _title_in(title: str) -> float:
    return 0.5 + 0.42 * (title.count("\n") + 1)


def save(fig, path: Path) -> Path:
    """Write the PNG beside its final name, then rename: a reader never sees half a figure."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        # no Software/date metadata: the same results give byte-identical figures
        fig.savefig(tmp, format="png", dpi=80, metadata={"Software": None})
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


def _verdict_of(cells, scenario, flavour, api, mode, optimizer, device) -> tuple[str, bool]:
    c = cells[(cells["scenario"] == scenario) & (cells["flavour"] == flavour) & (cells["api"] == api)
              & (cells["mode"] == mode) & (cells["optimizer"] == optimizer) & (cells["device"] == device)]
    if c.empty or c.iloc[0]["status"] != "ok":
        return "not measured", True
    return c.iloc[0]["verdict"], not c.iloc[0]["reported_ok"] == False  # noqa: E712 (True, False or NaN)


def lr_figure(cells, steps, sel: Selection, title: str, path: Path) -> Path:
    """Intended, effective and reported LR per step: a row per (scenario, flavour, api), a column
    per mode, the change step marked."""
    rows, modes = sel.rows(cells), _modes(sel.filter(cells))
    data = _mean_steps(sel.filter(steps))
    fig, axes = plt.subplots(len(rows), len(modes), figsize=(6 * len(modes) + 1.5, 3.2 * len(rows) + 3.2),
                             squeeze=False, sharex=True, sharey="row")
    frame(fig, top_in=_title_in(title), bottom_in=1.8, left_in=2.0, hspace=0.45, wspace=0.08)
    change = _change_step(cells)
    # one pass over the rows, not a mask per panel: figures of many panels stay quick
    panels = {k: g for k, g in data.groupby(["scenario", "flavour", "api", "mode"], sort=False)}
    empty = data.iloc[:0]
    for i, (scenario, flavour, api) in enumerate(rows):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            d = panels.get((scenario, flavour, api, mode), empty)
            for name, style in LR_STYLE.items():
                ax.plot(d["step"], d[f"lr_{name}"], label=name, **style)
            if len(d) and d["lr_reported"].isna().all():
                ax.text(0.98, 0.95, "print: not a number", transform=ax.transAxes, ha="right", va="top",
                        fontsize=14, color=LR_STYLE["reported"]["color"])
            if change is not None:
                ax.axvline(change - 0.5, color="#666666", lw=1.5)
            verdict, reported_ok = _verdict_of(cells, scenario, flavour, api, mode, sel.optimizer, sel.device)
            _title(ax, f"{mode}: {verdict}{'' if reported_ok else ' ' + MISREPORTED_PLOT_MARK + ' misreported'}",
                   color=COLOURS.get(verdict, "#000000"))
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
            if j == 0:
                ax.set_ylabel(f"{scenario}\n{flavour} · {api}\nLR", fontsize=15)
            if i == len(rows) - 1:
                ax.set_xlabel("step")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False,
               title=f"{sel.label()} · change before step {change} (grey line) · effective = solved from the "
                     "weights; reported = optimizer.learning_rate", title_fontsize=13)
    fig.suptitle(title, x=0.01, ha="left")
    return save(fig, path)


def loss_figure(cells, steps, sel: Selection, title: str, path: Path) -> Path:
    """Loss per step, one line per (scenario, flavour, api), a column per mode."""
    modes = _modes(sel.filter(cells))
    data = _mean_steps(sel.filter(steps))
    n_rows = len(sel.rows(cells))
    legend_in = 1.0 + 0.45 * -(-n_rows // 3)
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes) + 1.5, 5.5 + legend_in), squeeze=False, sharey=True)
    frame(fig, top_in=_title_in(title), bottom_in=legend_in + 0.8, wspace=0.1)
    change = _change_step(cells)
    styles = ["-", "--", ":", "-."]
    for j, mode in enumerate(modes):
        ax = axes[0][j]
        for k, (scenario, flavour, api) in enumerate(sel.rows(cells)):
            d = data[(data["scenario"] == scenario) & (data["flavour"] == flavour) & (data["api"] == api)
                     & (data["mode"] == mode)]
            if len(d):
                # a thinner, differently dashed line per row: identical curves stay visible
                ax.plot(d["step"], d["loss"], lw=max(1.5, 4.5 - 0.8 * k), ls=styles[k % len(styles)],
                        color=OKABE_ITO[k % len(OKABE_ITO)], label=f"{scenario} ({flavour} · {api})")
        if change is not None:
            ax.axvline(change - 0.5, color="#666666", lw=1.5)
        _title(ax, mode)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("loss")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, max(1, len(labels))), frameon=False,
               fontsize=14, title=f"{sel.label()} · mean over repeats · grey line: the change", title_fontsize=13)
    fig.suptitle(title, x=0.01, ha="left")
    return save(fig, path)


def timing_figure(cells, sel: Selection, title: str, path: Path) -> Path:
    """Median step time over the bare compiled step, a bar per (scenario, flavour, api) and mode,
    each annotated with the cell's tracing count."""
    ok = sel.filter(cells)
    modes, rows = _modes(ok), sel.rows(cells)
    legend_in = 1.0 + 0.45 * -(-len(rows) // 3)
    fig, ax = plt.subplots(figsize=(max(14, 1.1 * len(rows) * len(modes) + 4), 6 + legend_in))
    frame(fig, top_in=_title_in(title), bottom_in=legend_in + 0.8)
    width = 0.8 / max(1, len(rows))
    for k, (scenario, flavour, api) in enumerate(rows):
        for j, mode in enumerate(modes):
            c = ok[(ok["scenario"] == scenario) & (ok["flavour"] == flavour) & (ok["api"] == api) & (ok["mode"] == mode)]
            if c.empty:
                continue
            ratio = float(pd.to_numeric(c["step_ratio"], errors="coerce").median())
            traces = int(pd.to_numeric(c["traces"], errors="coerce").max())
            x = j + (k - (len(rows) - 1) / 2) * width
            ax.bar(x, ratio, width=width * 0.95, color=OKABE_ITO[k % len(OKABE_ITO)],
                   label=f"{scenario} ({flavour} · {api})" if j == 0 else None)
            ax.annotate(f"{traces}", (x, ratio), ha="center", va="bottom", fontsize=17, xytext=(0, 3),
                        textcoords="offset points")
    ax.axhline(1.0, color="#000000", lw=1.5, ls="--")
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel("step time / bare compiled step")
    ratios = pd.to_numeric(ok["step_ratio"], errors="coerce").dropna()
    if len(ratios) and ratios.min() > 0 and ratios.max() / ratios.min() > 20:
        # a retrace per step can cost hundreds of bare steps: on a linear axis the rest vanish
        ax.set_yscale("log")
        ax.set_ylabel("step time / bare compiled step (log)")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, max(1, len(rows))), frameon=False,
               fontsize=14, title=f"{sel.label()} · number on a bar: tf.function traces of the cell's train step "
                                  "(0 = eager) · dashed: the bare step", title_fontsize=13)
    fig.suptitle(title, x=0.01, ha="left")
    return save(fig, path)


def _change_step(cells: pd.DataFrame) -> int | None:
    vals = pd.to_numeric(cells["change_step"], errors="coerce").dropna().unique()
    return int(vals[0]) if len(vals) == 1 else None
