"""RELEASES.md: what each release measured, and in which release each behaviour changed.

Built from a sweep's folders (``bench.analysis.releases.discover``) alone: pandas, no TensorFlow.
Every range it states ("effective through 2.15, ignored from 2.16") is computed from the cells of
those folders; a release that did not measure a cell says nothing about it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import results
from bench.analysis import audit, truth
from bench.analysis.compare import ratio_difference
from bench.analysis.releases import SERIES, Release, by_series, discover, ranges
from bench.core.verdicts import LEGEND, shown
from bench.results.columns import KEY

RELEASES_MD = "RELEASES.md"
#: Step-ratio changes between two releases are named past this, plus the two runs' uncertainty.
RATIO_CHANGE = 0.25


def load(releases: list[Release]) -> dict[Release, pd.DataFrame]:
    return {r: results.read_cells(r.folder) for r in releases}


def _summary(cells: pd.DataFrame) -> str:
    ok = cells[cells["status"] == "ok"]
    if ok.empty:
        return "" if cells.empty else " / ".join(sorted(set(cells["status"])))
    return truth.describe(ok, truth.outcome(ok)).replace("|", "/")


def scenario_lines(releases: list[Release], cells: dict, scenarios: list[str]) -> list[str]:
    """One line per scenario: what ``tf.keras`` gave over each series of releases."""
    lines = []
    for s in scenarios:
        parts = []
        for series, members in by_series(releases).items():
            values = [(r, _summary(cells[r][(cells[r]["scenario"] == s) & (cells[r]["flavour"] == r.tf_keras_flavour)
                                             & (cells[r]["strategy"] == "none")])) for r in members]
            if any(v for _, v in values):
                parts.append(f"{SERIES[series]}: {ranges(values)}")
        if parts:
            lines.append(f"- `{s}` through `tf.keras` — " + "; ".join(parts))
    return lines


def release_matrix(series: list[Release], cells: dict) -> pd.DataFrame:
    """Verdict of ``tf.keras`` (single device) per scenario and release of one series: the
    verdict when every cell of that scenario agrees, else ``mixed``; absent: ``not measured``."""
    from bench.core.verdicts import MIXED, NOT_MEASURED

    rows: dict[str, dict[str, str]] = {}
    for r in series:
        c = cells[r]
        ok = c[(c["status"] == "ok") & (c["flavour"] == r.tf_keras_flavour) & (c["strategy"] == "none")]
        for s, g in ok.groupby("scenario", sort=False):
            v = set(g["verdict"])
            rows.setdefault(s, {})[r.short] = v.pop() if len(v) == 1 else MIXED
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=[r.short for r in series]).fillna(NOT_MEASURED)


def tf_keras_view(releases: list[Release], cells: dict) -> list[str]:
    """What a user of ``tf.keras`` meets, release by release (TensorFlow series only)."""
    tf = [r for r in releases if r.series == "tf"]
    if not tf:
        return []
    scenarios = list(dict.fromkeys(s for r in tf for s in cells[r]["scenario"]))
    lines = ["## What `tf.keras` gives you, release by release", "",
             "`tf.keras` is Keras 2 up to TensorFlow 2.15 (the `tf_keras` flavour's code, then part of "
             "TensorFlow) and Keras 3 from 2.16 on (`keras3`); this table follows it, single device.", "",
             "| scenario | across releases |", "|---|---|"]
    for s in scenarios:
        values = []
        for r in tf:
            c = cells[r]
            values.append((r, _summary(c[(c["scenario"] == s) & (c["flavour"] == r.tf_keras_flavour) & (c["strategy"] == "none")])))
        if any(v for _, v in values):
            lines.append(f"| `{s}` | {ranges(values)} |")
    return lines + [""]


def by_flavour(series: list[Release], cells: dict) -> list[str]:
    """Every scenario and flavour: its verdicts over the series, changed ones first."""
    pairs = list(dict.fromkeys((s, f) for r in series for s, f in zip(cells[r]["scenario"], cells[r]["flavour"])))
    changed, steady = [], []
    for s, f in pairs:
        values = [(r, _summary(cells[r][(cells[r]["scenario"] == s) & (cells[r]["flavour"] == f)])) for r in series]
        line = f"| `{s}` | {f} | {ranges(values)} |"
        (changed if len({v for _, v in values if v}) > 1 else steady).append(line)
    head = ["| scenario | flavour | verdict across releases |", "|---|---|---|"]
    out = [f"**{len(changed)}** of {len(pairs)} scenario × flavour pairs changed between releases.", ""]
    if changed:
        out += ["Changed:", ""] + head + changed + [""]
    if steady:
        out += ["<details><summary>Unchanged</summary>", ""] + head + steady + ["", "</details>", ""]
    return out


def _rows(cells: pd.DataFrame) -> dict[tuple, dict]:
    return {tuple(r[k] for k in KEY): r for r in cells.to_dict("records")}


def cell_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, list[str]]:
    """Cell by cell, what differs from one release to the next: verdicts, ``reported_ok``,
    tracing counts, and step ratios beyond ``RATIO_CHANGE`` plus both runs' uncertainty."""
    b, a = _rows(before), _rows(after)
    out: dict[str, list[str]] = {"verdict": [], "reported": [], "traces": [], "ratio": [], "status": []}
    for key in (k for k in a if k in b):
        x, y = b[key], a[key]
        where = " ".join(key)
        if x["status"] != y["status"]:
            out["status"].append(f"{where}: {x['status']} → {y['status']}")
            continue
        if x["status"] != "ok":
            continue
        if x["verdict"] != y["verdict"]:
            out["verdict"].append(f"{where}: {shown(x['verdict'], None)} → {shown(y['verdict'], None)}")
        elif x["reported_ok"] != y["reported_ok"]:
            out["reported"].append(f"{where}: printed LR {'right' if x['reported_ok'] else 'wrong'} → "
                                   f"{'right' if y['reported_ok'] else 'wrong'}")
        if pd.notna(x["traces"]) and pd.notna(y["traces"]) and int(x["traces"]) != int(y["traces"]):
            out["traces"].append(f"{where}: {int(x['traces'])} → {int(y['traces'])} traces")
        for first, second, word in ((x, y, "slower"), (y, x, "faster")):
            moved = ratio_difference(first, second, RATIO_CHANGE)
            if moved is not None and moved[0]:
                out["ratio"].append(f"{where}: ×{float(x['step_ratio']):.2f} → ×{float(y['step_ratio']):.2f} ({word})")
    return out


def upgrade_notes(series: list[Release], cells: dict) -> list[str]:
    lines = []
    for before, after in zip(series, series[1:]):
        changes = cell_changes(cells[before], cells[after])
        verdicts, reported = changes["verdict"], changes["reported"]
        head = f"### {before.label} → {after.label}"
        switched = []
        if before.tf_keras_flavour != after.tf_keras_flavour:  # tf.keras became another Keras
            view = [cells[r][cells[r]["flavour"] == r.tf_keras_flavour].assign(flavour="tf.keras") for r in (before, after)]
            switched = cell_changes(*view)["verdict"]
        if not any(changes.values()) and not switched:
            lines += [head, "", "Nothing measured changed.", ""]
            continue
        lines += [head, ""]
        if switched:
            lines.append(f"- **`tf.keras` is now {after.tf_keras_flavour}, not {before.tf_keras_flavour}**: its verdict "
                         f"changed in {len(switched)} cells: " + "; ".join(switched[:6]) +
                         (f"; and {len(switched) - 6} more" if len(switched) > 6 else ""))
        for title, items in (("Verdict changed", verdicts), ("The printed LR changed", reported),
                             ("Tracing count changed", changes["traces"]), ("Step ratio moved beyond noise", changes["ratio"]),
                             ("Status changed", changes["status"])):
            if items:
                lines.append(f"- **{title}** in {len(items)} cells: " + "; ".join(items[:6]) +
                             (f"; and {len(items) - 6} more" if len(items) > 6 else ""))
        lines.append("")
    return lines


def last_run(meta: dict) -> str:
    """What the folder's last run measured and how long it took: a resumed run measures only the
    cells the folder lacked, so its time is not the time of the whole release."""
    took = meta.get("total_s", meta.get("wall_s"))
    took = f"{took} s" if took is not None else "?"
    resumed = meta.get("resumed_cells") or 0
    if not resumed:
        return f"all cells, {took}"
    return f"{meta.get('cells', 0) - resumed} cells, {took} (resumed)"


def render(root) -> str:
    releases = discover(root)
    if not releases:
        raise results.ResultsError(f"{root}: no release folders (tf-X.Y or keras-X.Y holding {results.CELLS_CSV})")
    cells = load(releases)
    lines = ["# Across releases", "",
             "The quick matrix on every release measured, each in an environment of its own (`lr-bench sweep`). "
             "Ranges below are computed from these folders; a release missing from a range did not measure it.", "",
             "| release | folder | TensorFlow | Keras | tf_keras | cells | last run |", "|---|---|---|---|---|---|---|"]
    for r in releases:
        lines.append(f"| {r.label} | `{r.name}` | {r.tensorflow} | {r.keras} | {r.tf_keras or '—'} | {len(cells[r])} | "
                     f"{last_run(results.read_meta(r.folder))} |")
    lines += [""] + tf_keras_view(releases, cells)
    for s, series in by_series(releases).items():
        lines += [f"## {SERIES[s]} releases, scenario by flavour", ""] + by_flavour(series, cells)
        lines += [f"## Upgrade notes: {SERIES[s]}", "",
                  "What changes, cell by cell, when moving from one release to the next. A verdict that changes "
                  "without anything raising is a silent change of behaviour.", ""] + upgrade_notes(series, cells)
    lines += audit.recipe_history(releases) + [LEGEND]
    return "\n".join(lines) + "\n"


def write_releases(root) -> Path:
    path = Path(root) / RELEASES_MD
    results.atomic_write(path, render(root))
    return path
