"""The panels of a lesson's LR figure: cells whose curves and verdicts are the same are one panel.

A lesson's figure used to draw a panel per (scenario, flavour, api) and mode, so a scenario that
behaves alike in eager, ``tf.function`` and XLA showed the same curve three times. Here the cells of
one scenario (in the figure's optimizer, device and api) are grouped: two cells share a panel when
they got the same verdict, the same ``reported_ok``, and their intended, effective and reported
LRs agree at every step to the verdicts' tolerance. Each panel's caption names what it stands for
("same in eager, function and xla"). Panels are then cut into figures of at most ``PER_FIGURE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bench.core.config import MODES, RTOL

#: At most this many panels per figure: six stay legible at 1280×720.
PER_FIGURE = 6
CURVES = ("lr_intended", "lr_effective", "lr_reported")


@dataclass
class Panel:
    scenario: str
    api: str
    verdict: str
    reported_ok: bool
    steps: pd.DataFrame                       # step and the three LR columns of its first cell
    members: list[tuple[str, str]] = field(default_factory=list)  # (flavour, mode) it stands for

    def same_as(self, verdict: str, reported_ok: bool, curves: np.ndarray) -> bool:
        mine = self.steps[list(CURVES)].to_numpy(dtype=np.float64)
        if (verdict, reported_ok) != (self.verdict, self.reported_ok) or mine.shape != curves.shape:
            return False
        return bool(np.allclose(curves, mine, rtol=RTOL, atol=0.0, equal_nan=True))


def _list(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def caption(panel: Panel, flavours: list[str], modes: list[str]) -> str:
    """What a panel stands for: 'keras3 · loop · same in eager, function and xla'."""
    by_flavour: dict[str, list[str]] = {}
    for f, m in panel.members:
        by_flavour.setdefault(f, []).append(m)
    mode_sets = {tuple(ms) for ms in by_flavour.values()}
    if len(mode_sets) == 1:  # a rectangle: these flavours × these modes
        ms = list(next(iter(mode_sets)))
        where = "every flavour" if len(flavours) > 1 and list(by_flavour) == flavours else _list(by_flavour)
        return f"{where} · {panel.api} · " + (f"same in {_list(ms)}" if len(ms) > 1 else ms[0])
    return f"{panel.api} · " + "; ".join(f"{f}: {_list(ms)}" for f, ms in by_flavour.items())


def collapse(cells: pd.DataFrame, steps: pd.DataFrame, sel) -> list[Panel]:
    """The distinct panels of a selection (``plots.Selection``), scenario by scenario, in the
    selection's row order and then mode order. ``steps`` are already averaged over repeats."""
    ok = sel.filter(cells)
    verdicts = {(r.scenario, r.flavour, r.api, r.mode): (r.verdict, not r.reported_ok == False)  # noqa: E712
                for r in ok.itertuples()}
    series = {k: g.sort_values("step") for k, g in steps.groupby(["scenario", "flavour", "api", "mode"], sort=False)}
    modes = [m for m in MODES if m in set(ok["mode"])]
    panels: list[Panel] = []
    for scenario, flavour, api in sel.rows(cells):
        mine = [p for p in panels if p.scenario == scenario and p.api == api]
        for mode in modes:
            key = (scenario, flavour, api, mode)
            if key not in verdicts or key not in series:
                continue
            verdict, reported_ok = verdicts[key]
            d = series[key][["step", *CURVES]].reset_index(drop=True)
            curves = d[list(CURVES)].to_numpy(dtype=np.float64)
            match = next((p for p in mine if p.same_as(verdict, reported_ok, curves)), None)
            if match is None:
                match = Panel(scenario, api, verdict, reported_ok, d)
                mine.append(match)
                panels.append(match)
            match.members.append((flavour, mode))
    return panels


def chunks(panels: list[Panel], size: int = PER_FIGURE) -> list[list[Panel]]:
    """Figures of at most ``size`` panels; a scenario is not split across figures unless it alone
    has more panels than one figure holds."""
    out: list[list[Panel]] = [[]]
    by_scenario: dict[str, list[Panel]] = {}
    for p in panels:
        by_scenario.setdefault(p.scenario, []).append(p)
    for group in by_scenario.values():
        if out[-1] and len(out[-1]) + len(group) > size:
            out.append([])
        for p in group:
            if len(out[-1]) == size:
                out.append([])
            out[-1].append(p)
    return [c for c in out if c]


def figures(cells: pd.DataFrame, steps: pd.DataFrame, sel, only_misreported: bool = False):
    """(cells drawn, panels drawn, [(selection of one figure, its panels)]): the selection's panels
    cut into figures, each with a selection narrowed to its own rows for its loss and timing
    figures. ``only_misreported`` keeps the panels whose print was wrong (if any)."""
    means = steps_mean(sel.filter(steps))
    panels = collapse(cells, means, sel)
    if only_misreported and any(not p.reported_ok for p in panels):
        panels = [p for p in panels if not p.reported_ok]
    parts = []
    for group in chunks(panels):
        rows = {(p.scenario, f, p.api) for p in group for f, _ in p.members}
        sub = replace(sel, scenarios=tuple(dict.fromkeys(p.scenario for p in group)),
                      panels=tuple(r for r in sel.panels if r in rows))
        parts.append((sub, group))
    return sum(len(p.members) for p in panels), len(panels), parts


def steps_mean(steps: pd.DataFrame) -> pd.DataFrame:
    """Steps averaged over repeats (the probe is exact, so repeats differ only in the loss)."""
    cols = ["lr_intended", "lr_effective", "lr_reported", "loss"]
    return steps.groupby(["scenario", "flavour", "api", "mode", "step"], sort=False)[cols].mean().reset_index()
