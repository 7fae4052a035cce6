"""Results folders of several releases side by side: where did behaviour change?

Reads results files only. ``lr-bench report DIR DIR...`` renders the long table (one row per cell
per folder, with the versions as columns), changed cells first. A release sweep
(``bench.runner.sweep``) writes one folder per release under ``results/releases/``: ``tf-2.12`` …
(each TensorFlow with its own Keras) and ``keras-3.0`` … (each Keras 3 minor on a TensorFlow it
works with); ``discover`` finds them in release order, one series each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench import results
from bench.core.verdicts import shown
from bench.results.columns import KEY
from bench.results.meta import versions

#: The two series of a sweep, by folder name: each TensorFlow minor, and each Keras 3 minor.
SERIES = {"tf": "TensorFlow", "keras": "Keras 3"}
_NAME = re.compile(r"^(tf|keras)-(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Release:
    """One results folder of a sweep: its series and minor version, and what it ran on."""

    folder: Path
    series: str          # "tf" or "keras"
    minor: tuple[int, int]
    tensorflow: str
    keras: str
    tf_keras: str

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def short(self) -> str:
        """The release as its series names it: ``2.16`` (TensorFlow) or ``3.5`` (Keras 3)."""
        return f"{self.minor[0]}.{self.minor[1]}"

    @property
    def label(self) -> str:
        if self.series == "tf":
            return f"TF {self.short}"
        return f"Keras {self.short} (TF {'.'.join(self.tensorflow.split('.')[:2])})"

    @property
    def tf_keras_flavour(self) -> str:
        """The flavour ``tf.keras`` is on this release: Keras 2 up to TensorFlow 2.15, Keras 3 after."""
        return "tf_keras" if self.keras.startswith("2.") else "keras3"


def discover(root) -> list[Release]:
    """The sweep's folders under ``root`` that hold results, ordered by series, then version."""
    found = []
    for folder in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        m = _NAME.match(folder.name)
        if not m or not (folder / results.CELLS_CSV).is_file():
            continue
        v = versions(results.read_meta(folder))
        found.append(Release(folder, m.group(1), (int(m.group(2)), int(m.group(3))), str(v.get("tensorflow") or "?"),
                             str(v.get("keras") or "?"), str(v.get("tf_keras") or "")))
    return sorted(found, key=lambda r: (list(SERIES).index(r.series), r.minor))


def by_series(releases: list[Release]) -> dict[str, list[Release]]:
    """The releases of each series, in order."""
    out: dict[str, list[Release]] = {}
    for r in releases:
        out.setdefault(r.series, []).append(r)
    return out


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


def ranges(values: list[tuple[Release, str]]) -> str:
    """A value per release in one series, as the releases over which it held: ``effective
    through 2.15, ignored from 2.16``; ``2.12–2.14`` for a run in the middle; one value: ``every
    release``. Releases that did not measure it (value ``""``) are left out."""
    runs: list[list] = []
    for release, value in values:
        if not value:
            continue
        if runs and runs[-1][0] == value:
            runs[-1][2] = release
        else:
            runs.append([value, release, release])
    if len(runs) == 1:
        return f"{runs[0][0]} in every release measured"
    parts = []
    for i, (value, first, last) in enumerate(runs):
        if i == 0:
            parts.append(f"{value} through {last.short}")
        elif i == len(runs) - 1:
            parts.append(f"{value} from {first.short}")
        else:
            parts.append(f"{value} in {first.short}" + (f"–{last.short}" if last is not first else ""))
    return ", ".join(parts)
