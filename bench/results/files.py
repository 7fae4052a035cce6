"""The results files: written atomically, read back with their schema checked.

Every writer goes through ``atomic_write`` (a temporary file in the same folder, then a rename), so
a killed run never leaves a truncated file behind. Readers need pandas, never TensorFlow.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from bench.results.columns import CELLS, DEFAULTS, KEY, STEPS

CELLS_CSV, STEPS_CSV, META_JSON, TRUTH_MD = "cells.csv", "steps.csv", "meta.json", "TRUTH.md"


class ResultsError(ValueError):
    """A results folder or file that cannot be read as lr-bench results."""


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (/proc), since setting
    it to read it back races with other threads creating files."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def staging_file(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new temporary file in ``folder`` (its final name's folder, so the rename is atomic), with
    the mode ``open`` would give the final file (0644 under the usual umask; ``mkstemp`` alone
    gives 0600, and the rename would keep it)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, Path(tmp)


def _stage(path: Path, text: str) -> Path:
    fd, tmp = staging_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: readers see the old file or the new one."""
    atomic_write_all({Path(path): text})


def atomic_write_all(files: dict[Path, str]) -> None:
    """Write every file to a temporary name first, then rename them all, so a failure while
    writing leaves the previous files untouched."""
    staged = {}
    try:
        for path, text in files.items():
            staged[path] = _stage(Path(path), text)
        for path, tmp in staged.items():
            os.replace(tmp, path)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def cells_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=list(CELLS))


def steps_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=list(STEPS))


def write(out: Path, cells: pd.DataFrame, steps: pd.DataFrame, meta: dict) -> None:
    out = Path(out)
    atomic_write_all({
        out / STEPS_CSV: steps.to_csv(index=False),
        out / CELLS_CSV: cells.to_csv(index=False),
        out / META_JSON: json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n",
    })


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise ResultsError(f"{path}: no such file; expected lr-bench results (run 'lr-bench run --out DIR' first)")
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except Exception as e:
        raise ResultsError(f"{path}: not a readable CSV ({type(e).__name__})") from None
    for col, value in DEFAULTS.items():  # a folder written before the column existed
        if col in columns and col not in df.columns:
            df[col] = value
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ResultsError(f"{path}: missing column(s) {', '.join(missing)}; expected the lr-bench schema")
    return df[list(columns) + [c for c in df.columns if c not in columns]]


def read_cells(folder) -> pd.DataFrame:
    df = _read_csv(Path(folder) / CELLS_CSV, CELLS)
    for col in KEY + ("status", "verdict", "error"):
        df[col] = df[col].astype(object).fillna("").astype(str)
    df["reported_ok"] = df["reported_ok"].map({True: True, False: False, "True": True, "False": False})
    return df


def read_steps(folder) -> pd.DataFrame:
    return _read_csv(Path(folder) / STEPS_CSV, STEPS)


def read_meta(folder) -> dict:
    path = Path(folder) / META_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; expected lr-bench results") from None
    except (OSError, ValueError) as e:
        raise ResultsError(f"{path}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(meta, dict):
        raise ResultsError(f"{path}: expected a JSON object, found {type(meta).__name__}")
    return meta
