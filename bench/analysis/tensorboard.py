"""TensorBoard scalars per cell, written from the results rows without TensorFlow (tensorboardX).

One run folder per cell, ``DIR/<scenario>/<flavour>.<strategy>.<api>.<mode>.<device>.<optimizer>``,
with the intended, effective and reported LR and the loss at every step (the mean over repeats).
Each event file is written in a temporary folder beside it and renamed into place when complete.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from tensorboardX import SummaryWriter

from bench import results
from bench.results.columns import KEY

TAGS = {"lr_intended": "lr/intended", "lr_effective": "lr/effective", "lr_reported": "lr/reported", "loss": "loss"}


def _run_name(key: tuple) -> Path:
    scenario, *rest = key
    return Path(scenario) / ".".join(rest)


def write(results_dir, logdir) -> list[Path]:
    """One event file per cell of ``results_dir`` under ``logdir``; returns their paths."""
    steps = results.read_steps(results_dir)
    logdir = Path(logdir)
    cols = list(TAGS)
    mean = steps.groupby(list(KEY) + ["step"], sort=False)[cols].mean().reset_index()
    now = time.time()
    paths = []
    for key, g in mean.groupby(list(KEY), sort=False):
        run = logdir / _run_name(key)
        run.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=run, prefix=".events."))
        try:
            with SummaryWriter(logdir=str(staging), filename_suffix=".lr-bench") as writer:
                for r in g.sort_values("step").itertuples(index=False):
                    for c in cols:
                        value = float(getattr(r, c))
                        if not math.isnan(value):  # nothing to show (a schedule's printed LR)
                            writer.add_scalar(TAGS[c], value, global_step=int(r.step), walltime=now)
            (written,) = staging.glob("events.out.tfevents.*")
            path = run / written.name
            os.replace(written, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        paths.append(path)
    return paths
