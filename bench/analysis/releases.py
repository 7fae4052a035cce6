"""Several results folders side by side, one TensorFlow version each: where did behaviour change?

Reads results files only. The long table (one row per cell per folder, with the versions as
columns) is what ``lr-bench report DIR DIR...`` renders, changed cells first.
"""

from __future__ import annotations

import pandas as pd

from bench import results
from bench.core.verdicts import shown
from bench.results.columns import KEY
from bench.results.meta import versions


def _label(meta: dict, folder) -> str:
    first = versions(meta)
    return f"TF {first.get('tensorflow', '?')}" + (f" · Keras {first['keras']}" if first.get("keras") else "")


def long_table(dirs: list) -> pd.DataFrame:
    frames = []
    for d in dirs:
        cells, meta = results.read_cells(d), results.read_meta(d)
        first = versions(meta)
        frames.append(cells.assign(results_dir=str(d), version=_label(meta, d),
                                   tensorflow=first.get("tensorflow"), keras=first.get("keras"),
                                   tf_keras=first.get("tf_keras")))
    return pd.concat(frames, ignore_index=True)


def _shown(r) -> str:
    if r.status != "ok":
        return r.status
    return shown(r.verdict, r.reported_ok)


def render(dirs: list) -> str:
    table = long_table(dirs)
    labels = list(dict.fromkeys(table["version"]))
    if len(labels) < len(dirs):  # two folders of one version: tell them apart by folder
        table["version"] = table["version"] + " (" + table["results_dir"] + ")"
        labels = list(dict.fromkeys(table["version"]))
    table["shown"] = [_shown(r) for r in table.itertuples()]
    wide = table.pivot_table(index=list(KEY), columns="version", values="shown", aggfunc="first").reindex(columns=labels)
    changed = wide.nunique(axis=1, dropna=False) > 1
    lines = ["# Across versions", "", f"{len(dirs)} results folders: " + ", ".join(labels) + ".", ""]
    lines += [f"**{int(changed.sum())}** of {len(wide)} cells differ between them.", ""]
    for title, part in (("Cells whose behaviour differs", wide[changed]), ("Cells that agree", wide[~changed])):
        if part.empty:
            continue
        lines += [f"## {title}", "", "| " + " | ".join(KEY) + " | " + " | ".join(labels) + " |",
                  "|" + "---|" * (len(KEY) + len(labels))]
        for key, row in part.iterrows():
            lines.append("| " + " | ".join(key) + " | " + " | ".join(str(row[l]) if pd.notna(row[l]) else "—" for l in labels) + " |")
        lines.append("")
    return "\n".join(lines)
