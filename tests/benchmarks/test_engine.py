"""The timing engine's figures: how far apart identical work reads, how much a clean re-run moves,
what the regression gate does at its default allowance, and how long the matrix takes.

Printed, never asserted (the machine is shared). Runs, at each profile (quick: the CI gate's, 7
pairs per cell; full: the publishable one's, 44; ``LR_BENCH_ENGINE_PROFILE=quick`` or ``full``
runs one), the cells whose step is the same compiled work as the bare reference (``static``,
``assign``, ``attr-set``, ``schedule-decay``; loop; function and XLA; every flavour and optimizer)
three times, plus a ``planted-work`` cell (``tests/planted.py``) clean in those runs and made
slower in a fourth; and the whole quick matrix once, for its wall time.
"""

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analysis import compare

ROOT = Path(__file__).resolve().parents[2]
IDENTICAL = ("static", "assign", "attr-set", "schedule-decay")
#: The profiles of the identical-work and gate runs: quick (10 steps, 7 pairs per cell), full (50, 44).
PROFILES = tuple(os.environ.get("LR_BENCH_ENGINE_PROFILE", "quick,full").split(","))
# Every optimizer in every cell (--cover all): the identical-work figures span flavours and optimizers.
RUN = [sys.executable, "-m", "bench", "run", "--cover", "all", "--devices", "cpu", "--apis", "loop",
       "--modes", "function,xla", "--scenarios", ",".join(IDENTICAL + ("planted-work",)), "--no-lessons"]
#: Rows of the planted product: about 30 % more work in the sgd step (784 rows measured +41 to +44 %).
PLANTED_ROWS = int(os.environ.get("LR_BENCH_PLANTED_ROWS_BENCH", "640"))
CLEAN_RUNS = 3


def _run(profile: str, out: Path, rows: int) -> Path:
    env = dict(os.environ, LR_BENCH_SCENARIO_MODULES="tests.planted", LR_BENCH_PLANTED_ROWS=str(rows))
    proc = subprocess.run([*RUN, "--profile", profile, "--out", str(out)], capture_output=True, text=True, timeout=3600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]  # a failed run has no figure to print
    return out


@pytest.fixture(scope="module", params=PROFILES)
def runs(request, tmp_path_factory):
    """(profile, three clean runs, the planted run), one after the other."""
    profile = request.param
    if profile not in ("quick", "full"):  # checked here, so a bad value leaves other test runs alone
        raise pytest.UsageError(f"LR_BENCH_ENGINE_PROFILE={','.join(PROFILES)!r}: use quick, full or quick,full")
    root = tmp_path_factory.mktemp(f"engine-{profile}")
    clean = [_run(profile, root / f"clean{i}", 0) for i in range(CLEAN_RUNS)]
    return profile, clean, _run(profile, root / "planted", PLANTED_ROWS)


def _cells(folder: Path) -> pd.DataFrame:
    cells = pd.read_csv(folder / "cells.csv")
    return cells[cells["status"] == "ok"].set_index(["scenario", "flavour", "mode", "optimizer"])


def test_identical_work_reads_alike(benchmark, figures, runs):
    profile, clean, _ = runs
    frames = [_cells(f) for f in clean]
    ratios = pd.concat([f.loc[list(IDENTICAL), "step_ratio"] for f in frames])
    benchmark.group = f"timing engine, {profile} profile"
    benchmark.pedantic(lambda: None, rounds=1)
    p5, p50, p95 = np.percentile(ratios, [5, 50, 95])
    benchmark.extra_info.update(p5=p5, median=p50, p95=p95, n=len(ratios))
    figures.append(f"identical-work cells (loop, function+xla, every flavour and optimizer, {CLEAN_RUNS} {profile} runs): "
                   f"step_ratio p5-p95 x{p5:.2f}-x{p95:.2f}, median x{p50:.2f}, n={len(ratios)} (target x0.95-x1.05)")
    static = pd.concat([f.loc[["static"]].xs("keras3", level="flavour")["step_ratio"] for f in frames])
    figures.append(f"harness vs bare loop (keras3 static loop cells, paired, {profile} runs): median x{static.median():.3f}, "
                   f"n={len(static)} (target <= 1.02)")


def test_clean_reruns_move_little(benchmark, figures, runs):
    profile, clean, _ = runs
    frames = [_cells(f)["step_ratio"] for f in clean]
    changes = pd.concat([(b / a - 1).abs().dropna() for a, b in itertools.combinations(frames, 2)])
    benchmark.group = f"timing engine, {profile} profile"
    benchmark.pedantic(lambda: None, rounds=1)
    within = float((changes <= 0.10).mean())
    benchmark.extra_info.update(within_10pct=within, p95=float(changes.quantile(0.95)), n=len(changes))
    figures.append(f"the same compiled cell in two clean {profile} runs: step_ratio change <= 10 % for {within:.0%} of "
                   f"{len(changes)} pairs, p95 {changes.quantile(0.95):.0%}, max {changes.max():.0%} "
                   f"(target <= 10 % for 95 %)")


def test_gate_at_default_allowance(benchmark, figures, runs):
    profile, clean, planted = runs
    benchmark.group = f"timing engine, {profile} profile"
    benchmark.pedantic(lambda: None, rounds=1)
    alarms = [len(compare.compare(a, b).regressions) for a, b in itertools.combinations(clean, 2)]
    caught = compare.compare(clean[0], planted)
    failed = sorted({d.label for d in caught.regressions})
    planted_cells = [f"planted-work {f} none loop {m} cpu sgd" for f in ("keras3", "tf_keras", "tf_keras_legacy")
                     for m in ("function", "xla")]
    # What the gate judges: the paired step ratio's growth; raw step times of two runs, timed minutes
    # apart, move with the machine as well (printed beside it).
    def growth(column):
        return _cells(planted).loc["planted-work", column] / _cells(clean[0]).loc["planted-work", column] - 1
    size, raw = growth("step_ratio"), growth("step_s_median")
    benchmark.extra_info.update(false_alarms=alarms, planted_failed=failed, planted_ratio_growth=size.tolist(),
                                planted_step_growth=raw.tolist())
    figures.append(f"gate at --max-slowdown {compare.MAX_SLOWDOWN} ({profile} runs): false alarms in {len(alarms)} clean re-run pairs: "
                   f"{alarms} (target 0)")
    figures.append(f"gate: planted slowdown, step_ratio {size.median():+.0%} (median over its {len(size)} cells, "
                   f"{size.min():+.0%} to {size.max():+.0%}; raw step time {raw.median():+.0%}): "
                   f"{sum(c in failed for c in planted_cells)} of {len(planted_cells)} "
                   f"planted cells fail, {len([c for c in failed if c not in planted_cells])} other cells fail "
                   f"(target: fails a 30 % slowdown)")


def test_quick_matrix_wall_time(benchmark, figures, tmp_path):
    out = tmp_path / "quick"
    cmd = [sys.executable, "-m", "bench", "run", "--profile", "quick", "--devices", "cpu", "--out", str(out), "--no-lessons"]
    procs = []
    t0 = time.perf_counter()
    benchmark.group = "quick profile"
    benchmark.pedantic(lambda: procs.append(subprocess.run(cmd, capture_output=True, text=True, timeout=3600)), rounds=1)
    wall = time.perf_counter() - t0
    assert procs[0].returncode == 0, procs[0].stderr[-2000:]
    cells = pd.read_csv(out / "cells.csv")
    benchmark.extra_info.update(wall_s=wall, cells=len(cells))
    figures.append(f"lr-bench run --profile quick (every scenario and flavour): {wall:.0f} s wall for {len(cells)} "
                   f"cells on {os.cpu_count()} cores (target <= 240 s)")
    meta = json.loads((ROOT / "results" / "meta.json").read_text())
    figures.append(f"lr-bench run (full profile), the committed results/: {meta.get('wall_s', float('nan')):.0f} s wall "
                   f"for {meta.get('cells')} cells, as its meta.json records (target <= 900 s)")
