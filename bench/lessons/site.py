"""The browsable truth table: a static site in ``<lessons>/site/`` that opens from disk (file://).

``index.html`` carries every single-device cell of the results folder as embedded JSON: its key,
verdict, print check, traces and step ratio, and its LR curves (intended, effective, reported per
step, mean over repeats). A script in the page (``site_assets``) draws the table, filters it by
every key column present (``FILTERS``: a ``release`` column, once results carry one, becomes a
filter with no change here), and draws a selected cell's curves as inline SVG. Every cell links to
its evidence, the lessons about its scenario (page and slides) and the audit, rendered beside it
as ``audit.html``. No server and nothing fetched from the network.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

from bench import results
from bench.core import verdicts
from bench.lessons import site_assets

SITE = "site"
#: The columns the table can be filtered by, in the order the filters are shown; those absent from
#: the results are left out.
FILTERS = ("release", "scenario", "flavour", "api", "mode", "optimizer", "device")
CURVES = {"intended": "lr_intended", "effective": "lr_effective", "reported": "lr_reported"}
AUDIT_PAGE = "audit.html"
RELEASES_PAGE = "releases.html"


def releases_cells(root: Path) -> pd.DataFrame | None:
    """Every single-device cell of a release sweep's folders, with a ``release`` column; None
    without a sweep."""
    from bench.analysis.releases import discover

    found = discover(root)
    if not found:
        return None
    frames = [results.read_cells(r.folder).assign(release=r.label) for r in found]
    cells = pd.concat(frames, ignore_index=True)
    return cells[cells["strategy"] == "none"]


def _num(x, digits: int = 4):
    """A float for JSON, to ``digits`` significant digits; None for NaN (no number to show)."""
    x = float(x)
    return None if math.isnan(x) else float(f"{x:.{digits}g}")


def cell_id(row) -> str:
    return "/".join(str(row[c]) for c in FILTERS if c in row.index)


def data(cells: pd.DataFrame, steps: pd.DataFrame, lessons: dict[str, list[tuple[str, str]]], change) -> dict:
    """Everything the page shows, as JSON-ready data: measured cells only (a skipped or failed cell
    has no verdict to filter by)."""
    ok = cells[cells["status"] == "ok"]
    filters = [c for c in FILTERS if c in ok.columns]
    keys = [c for c in filters if c in steps.columns]
    mean = steps.groupby([*keys, "step"], sort=False)[list(CURVES.values())].mean().reset_index()
    curves = {}
    for key, g in mean.groupby(keys, sort=False):
        g = g.sort_values("step")
        curves["/".join(map(str, key if isinstance(key, tuple) else (key,)))] = {
            "step": [int(s) for s in g["step"]], **{n: [_num(v) for v in g[c]] for n, c in CURVES.items()}}
    rows = []
    for _, r in ok.iterrows():
        ident = "/".join(str(r[c]) for c in keys)
        rows.append({**{c: str(r[c]) for c in filters}, "id": ident, "verdict": r["verdict"],
                     "reported_ok": not r["reported_ok"] == False,  # noqa: E712 (True, False or NaN)
                     "traces": _num(pd.to_numeric(r["traces"], errors="coerce")),
                     "ratio": _num(pd.to_numeric(r["step_ratio"], errors="coerce"), 3)})
    return {
        "filters": filters, "cells": rows, "curves": {r["id"]: curves.get(r["id"]) for r in rows},
        "verdicts": {v: {"colour": verdicts.COLOURS[v], "mark": verdicts.MARK[v]} for v in verdicts.VERDICTS},
        "misreported": verdicts.MISREPORTED_MARK, "lessons": lessons, "change": change, "audit": AUDIT_PAGE,
    }


def _json(value) -> str:
    # inside <script>: no "</" may end the element early
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def index_page(payload: dict, title: str, versions: str, other: tuple[str, str] = ("index.html", "this release")) -> str:
    return site_assets.PAGE.format(
        title=html.escape(title), versions=html.escape(versions), css=site_assets.CSS, js=site_assets.JS,
        other=other[0], other_label=html.escape(other[1]),
        data=_json(payload), legend=html.escape(" · ".join(f"{verdicts.MARK[v]}" for v in verdicts.VERDICTS)
                                                + f" · {verdicts.MISREPORTED_MARK} printed LR ≠ effective"),
        audit=AUDIT_PAGE)


def markdown_page(markdown: str, title: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    return site_assets.DOC.format(title=html.escape(title), css=site_assets.CSS, body=body)


def build(results_dir, out: Path, cells, steps, meta, lessons, change, versions: str) -> list[Path]:
    """``out/site/index.html`` and ``out/site/audit.html`` (when the results have an audit)."""
    site = Path(out) / SITE
    site.mkdir(parents=True, exist_ok=True)
    payload = data(cells, steps, lessons, change)
    written = [site / "index.html"]
    across = releases_cells(Path(results_dir) / "releases")
    other = (RELEASES_PAGE, "every release") if across is not None else ("index.html", "this release")
    results.atomic_write(written[0], index_page(payload, "Does the learning-rate change take effect?", versions, other))
    if across is not None:  # the release sweep beside these results: one row per cell per release
        no_steps = pd.DataFrame(columns=[*FILTERS, "step", *CURVES.values()])
        written.append(site / RELEASES_PAGE)
        payload = dict(data(across, no_steps, lessons, change), curves={})  # no curves: a verdict table
        results.atomic_write(written[-1], index_page(
            payload, "Does the learning-rate change take effect on your release?",
            f"{across['release'].nunique()} releases measured by lr-bench sweep (quick profile); curves are on "
            "this release's page", ("index.html", "this release, with LR curves")))
    audit = Path(results_dir) / "AUDIT.md"
    text = audit.read_text(encoding="utf-8") if audit.is_file() else "No audit in these results: run `lr-bench audit`."
    results.atomic_write(site / AUDIT_PAGE, markdown_page(text, "Audit of the popular LR-reset recipe"))
    return written + [site / AUDIT_PAGE]
