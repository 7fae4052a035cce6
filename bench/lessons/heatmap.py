"""The truth-table heatmap: one cell per scenario and flavour · api · mode, coloured by verdict.

Drawn from the results frames alone (seaborn, no TensorFlow), in the lessons' projector theme
(``bench.lessons.plots``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.lines
import matplotlib.patches
import numpy as np
import pandas as pd
import seaborn as sns

from bench.core.verdicts import COLOURS, MISREPORTED_PLOT_MARK, MIXED, NOT_MEASURED
from bench.lessons.plots import MIN_PT, SIZE, TITLE_PT, save
from bench.lessons.plots import plt  # matplotlib on the Agg backend, as plots sets it


def truth_matrix(cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdict per scenario × (flavour, api, mode), over optimizers and devices ("mixed" when they
    disagree), and whether any of those cells was misreported."""
    ok = cells[cells["status"] == "ok"]

    def verdict(g):
        v = set(g["verdict"])
        return v.pop() if len(v) == 1 else MIXED

    keys = ["scenario", "flavour", "api", "mode"]
    v = ok.groupby(keys, sort=False).apply(verdict, include_groups=False).rename("verdict")
    m = ok.groupby(keys, sort=False)["reported_ok"].apply(lambda s: bool((s == False).any()))  # noqa: E712
    scenarios = list(dict.fromkeys(cells["scenario"]))
    cols = list(dict.fromkeys(zip(cells["flavour"], cells["api"], cells["mode"])))
    verdicts = v.unstack(["flavour", "api", "mode"]).reindex(index=scenarios, columns=pd.MultiIndex.from_tuples(cols))
    misreported = m.unstack(["flavour", "api", "mode"]).reindex(index=scenarios, columns=pd.MultiIndex.from_tuples(cols))
    return verdicts.fillna(NOT_MEASURED), misreported.fillna(False).astype(bool)


#: Scenario rows one 720-pixel figure holds at the projector's smallest type.
MAX_ROWS = 20


def truth_figures(cells: pd.DataFrame, title: str, first: Path) -> list[Path]:
    """The heatmap, its scenarios split evenly over as few figures as hold them at ``MAX_ROWS``
    each: ``first``, then ``first`` with ``-2``, ``-3``... before its suffix."""
    scenarios = list(dict.fromkeys(cells["scenario"]))
    parts = -(-len(scenarios) // MAX_ROWS)
    size = -(-len(scenarios) // parts)
    out = []
    for i in range(parts):
        chunk = scenarios[i * size:(i + 1) * size]
        path = first if i == 0 else first.with_name(f"{first.stem}-{i + 1}{first.suffix}")
        part = f" ({i + 1} of {parts})" if parts > 1 else ""
        out.append(truth_figure(cells[cells["scenario"].isin(chunk)], title + part, path))
    return out


def truth_figure(cells: pd.DataFrame, title: str, path: Path) -> Path:
    """The heatmap at 1280×720: modes along the bottom, each flavour · api group named on top."""
    verdicts, misreported = truth_matrix(cells)
    names = list(COLOURS)
    codes = verdicts.map(names.index).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    sns.heatmap(codes, ax=ax, cmap=matplotlib.colors.ListedColormap(list(COLOURS.values())),
                vmin=-0.5, vmax=len(names) - 0.5, cbar=False, linewidths=1, linecolor="#DDDDDD",
                xticklabels=[m for _, _, m in verdicts.columns], yticklabels=list(verdicts.index))
    for (i, j), bad in np.ndenumerate(misreported.to_numpy()):
        if bad:
            ax.text(j + 0.5, i + 0.5, MISREPORTED_PLOT_MARK, ha="center", va="center", fontsize=MIN_PT + 3,
                    color="#FFFFFF", fontweight="bold")
    groups: dict[tuple[str, str], list[int]] = {}
    for j, (f, a, _) in enumerate(verdicts.columns):
        groups.setdefault((f, a), []).append(j)
    for cols in list(groups.values())[1:]:
        ax.axvline(cols[0], color="#000000", lw=2.5)
    top = ax.secondary_xaxis("top")
    top.set_xticks([(c[0] + c[-1] + 1) / 2 for c in groups.values()], [f"{f}\n{a}" for f, a in groups],
                   fontsize=MIN_PT)
    top.tick_params(length=0)
    ax.tick_params(axis="x", labelrotation=90, labelsize=MIN_PT)
    ax.tick_params(axis="y", labelrotation=0, labelsize=MIN_PT)
    present = [n for n in names if (verdicts == n).to_numpy().any()]
    handles = [matplotlib.patches.Patch(facecolor=COLOURS[n], edgecolor="#999999", label=n) for n in present]
    handles.append(matplotlib.lines.Line2D([], [], ls="", marker=f"${MISREPORTED_PLOT_MARK}$", ms=14, color="#000000",
                                           label="reported LR ≠\neffective"))
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=MIN_PT + 1)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    return save(fig, path)


def release_figure(matrix: pd.DataFrame, title: str, caption: str, path: Path) -> Path:
    """Scenarios (rows) by release (columns), coloured by the verdict ``tf.keras`` gave."""
    names = list(COLOURS)
    codes = matrix.map(names.index).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    sns.heatmap(codes, ax=ax, cmap=matplotlib.colors.ListedColormap(list(COLOURS.values())),
                vmin=-0.5, vmax=len(names) - 0.5, cbar=False, linewidths=1, linecolor="#DDDDDD",
                xticklabels=list(matrix.columns), yticklabels=list(matrix.index))
    ax.tick_params(axis="x", labelrotation=0, labelsize=MIN_PT)
    ax.tick_params(axis="y", labelrotation=0, labelsize=MIN_PT)
    ax.set_xlabel(caption, fontsize=MIN_PT)
    present = [n for n in names if (matrix == n).to_numpy().any()]
    handles = [matplotlib.patches.Patch(facecolor=COLOURS[n], edgecolor="#999999", label=n) for n in present]
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=MIN_PT + 1)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    return save(fig, path)
