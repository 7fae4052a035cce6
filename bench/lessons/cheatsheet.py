"""The attendees' one-page cheat sheet (PNG and PDF): per flavour, the ways of changing the LR that
took effect in every cell measured, those that depend on the mode or api, and those that never did.

Computed from the results rows alone. A scenario whose intended LR equals its baseline at every
step (nothing is changed: the static and schedule-only references) is not a recipe and is left out.
Text sizes follow the lessons' projector rule (``plots.MIN_PT`` on a 16 × 9 inch page).
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.verdicts import COLOURS, EFFECTIVE, IGNORED, MISREPORTED_PLOT_MARK
from bench.lessons.plots import MIN_PT, SIZE, TITLE_PT, plt, save
from bench.results.files import staging_file

NAME = "cheat-sheet"
WIDTH = 50  # characters per line in a column
LINE_IN = MIN_PT * 1.45 / 72


def recipes(cells: pd.DataFrame, steps: pd.DataFrame) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """{flavour: {"works"|"depends"|"never": [(scenario, note)]}}, scenarios in results order."""
    changed = steps.groupby("scenario", sort=False).apply(
        lambda g: not np.allclose(g["lr_intended"], g["lr_baseline"], rtol=1e-9), include_groups=False)
    ok = cells[(cells["status"] == "ok") & cells["scenario"].map(changed).fillna(False).astype(bool)]
    out: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for flavour, g in ok.groupby("flavour", sort=False):
        sheet = out.setdefault(flavour, {"works": [], "depends": [], "never": []})
        for scenario, s in g.groupby("scenario", sort=False):
            eff = s["verdict"] == EFFECTIVE
            if eff.all():
                lags = (s["reported_ok"] == False).any()  # noqa: E712
                sheet["works"].append((scenario, f" {MISREPORTED_PLOT_MARK} print differs" if lags else ""))
            elif eff.any():
                where = [f"{a} {m}" for (a, m), d in s.groupby(["api", "mode"], sort=False)
                         if (d["verdict"] == EFFECTIVE).all()]
                sheet["depends"].append((scenario, f" (only {', '.join(where)})" if where else " (some cells)"))
            else:
                sheet["never"].append((scenario, ""))
    return out


def _recipe_text(scenario: str) -> str:
    from bench.scenarios import REGISTRY  # no TensorFlow: scenarios import it only in workers

    doc = REGISTRY[scenario].doc if scenario in REGISTRY else ""
    code = re.match(r"`([^`]+)`", doc)  # the statement itself, where the description starts with it
    return code.group(1) if code else ""


def _names(recipes: list[tuple[str, str]]) -> list[str]:
    """Scenario ids as a wrapped list, never broken inside an id."""
    return textwrap.wrap(", ".join(s + note for s, note in recipes), WIDTH, break_on_hyphens=False)


def _lines(parts: dict, code_lines: int) -> float:
    """The height of one flavour's column, in lines, with ``code_lines`` lines of code per recipe
    that works (-1: those recipes as a wrapped list of names, as the ones that never worked)."""
    n = 1.6
    for part in ("works", "depends", "never"):
        if parts[part]:
            n += 1.3 + 0.5
            if part == "never" or (part == "works" and code_lines < 0):
                n += len(_names(parts[part]))
            else:
                n += sum(1 + (min(code_lines, len(textwrap.wrap(_recipe_text(s), WIDTH))) if part == "works" else 0)
                         for s, _ in parts[part])
    return n


def figure(cells: pd.DataFrame, steps: pd.DataFrame, title: str, footer: str):
    sheet = recipes(cells, steps)
    fig = plt.figure(figsize=SIZE)
    w, h = SIZE
    fig.text(0.3 / w, 1 - 0.25 / h, title, fontsize=TITLE_PT, fontweight="bold", va="top")
    col_w = (w - 0.6) / max(1, len(sheet))
    # As much of each recipe's code as fits above the footer: two lines, one, none, or names only.
    room = (h - 1.0 - 0.3 - LINE_IN * (1 + len(textwrap.wrap(footer, 150)))) / LINE_IN
    code_lines = next((c for c in (2, 1, 0) if all(_lines(p, c) <= room for p in sheet.values())), -1)
    for k, (flavour, parts) in enumerate(sheet.items()):
        x, y = 0.3 + k * col_w, h - 1.0
        fig.text(x / w, y / h, flavour, fontsize=MIN_PT + 4, fontweight="bold", va="top")
        y -= LINE_IN * 1.6
        for part, colour, heading in (("works", COLOURS[EFFECTIVE], "Works in every cell"),
                                      ("depends", "#555555", "Depends on api or mode"),
                                      ("never", COLOURS[IGNORED], "Never took effect")):
            if not parts[part]:
                continue
            fig.text(x / w, y / h, heading, fontsize=MIN_PT + 1, fontweight="bold", color=colour, va="top")
            y -= LINE_IN * 1.3
            listed = part == "never" or (part == "works" and code_lines < 0)
            if listed:
                for line in _names(parts[part]):
                    fig.text(x / w, y / h, line, fontsize=MIN_PT, va="top")
                    y -= LINE_IN
            for scenario, note in parts[part] if not listed else []:
                fig.text(x / w, y / h, scenario + note, fontsize=MIN_PT, fontweight="bold", va="top")
                y -= LINE_IN
                if part == "works":
                    for line in textwrap.wrap(_recipe_text(scenario), WIDTH)[:max(0, code_lines)]:
                        fig.text((x + 0.2) / w, y / h, line, fontsize=MIN_PT, family="monospace", va="top")
                        y -= LINE_IN
            y -= LINE_IN * 0.5
    fig.text(0.3 / w, 0.2 / h, "\n".join(textwrap.wrap(footer, 150)), fontsize=MIN_PT, color="#333333", va="bottom")
    return fig


def write(cells, steps, title: str, footer: str, folder: Path) -> list[Path]:
    """``folder/cheat-sheet.png`` and ``.pdf``; the PDF without a creation date, so the same
    results give the same bytes."""
    folder = Path(folder)
    pdf = folder / f"{NAME}.pdf"
    fig = figure(cells, steps, title, footer)
    fd, tmp = staging_file(folder, f".{NAME}.", ".pdf")
    os.close(fd)
    try:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None})
        os.replace(tmp, pdf)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [save(fig, folder / f"{NAME}.png"), pdf]
