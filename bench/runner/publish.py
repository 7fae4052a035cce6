"""What a results folder contains, written in one place for ``lr-bench run`` and ``merge`` alike.

``cells.csv``, ``steps.csv`` and ``meta.json`` (atomically, together), then ``TRUTH.md`` and
``AUDIT.md`` built from them; optionally the lessons and TensorBoard scalars. Reads and writes
files only: no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import results


def publish(out, cells: list[dict] | pd.DataFrame, steps: list[dict] | pd.DataFrame, meta: dict) -> Path:
    """Write the results folder ``out`` from cell rows, step rows and the run's meta."""
    from bench.analysis import audit, truth

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = cells.reindex(columns=results.cells_frame([]).columns) if isinstance(cells, pd.DataFrame) else results.cells_frame(cells)
    steps = steps.reindex(columns=results.steps_frame([]).columns) if isinstance(steps, pd.DataFrame) else results.steps_frame(steps)
    results.write(out, cells, steps, meta)
    truth.write_truth(out)
    audit.write_audit(out)
    return out


def contents(out) -> list[Path]:
    """The files ``publish`` writes into ``out``, in the order it writes them."""
    from bench.analysis.audit import AUDIT_MD

    out = Path(out)
    return [out / name for name in (results.CELLS_CSV, results.STEPS_CSV, results.META_JSON, results.TRUTH_MD, AUDIT_MD)]


def extras(out, lessons_dir=None, tensorboard_dir=None) -> list[str]:
    """The optional outputs of a results folder: lesson pages, figures and notebooks built from
    it, and per-cell TensorBoard scalars. Returns one line per output written."""
    said = []
    if tensorboard_dir is not None:
        from bench.analysis import tensorboard

        said.append(f"wrote {len(tensorboard.write(out, tensorboard_dir))} TensorBoard runs into {tensorboard_dir}")
    if lessons_dir is not None:
        from bench import lessons

        said.append(f"wrote {len(lessons.build(out, Path(lessons_dir)))} lesson files into {lessons_dir}")
    return said
