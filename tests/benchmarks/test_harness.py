"""The bench's own cost: its timing harness against the bare loop, and the quick profile's wall time.

Printed, never asserted: the machine is shared and its timings swing between runs.

- Harness overhead: the steady step timed as the matrix's timing pass times it (the clock around
  one call plus forcing the loss, ``bench.measure.passes.run_repeat``) over the bare loop of the same
  compiled static step (``bench.measure.reference.reference_step_s``), in interleaved rounds of one process so
  both see the same machine; the target is at most 2 %.
- Quick profile: ``lr-bench run --profile quick --flavours keras3`` end to end, target 60 s on two
  cores, with the same overhead read off its static loop cells (their ``step_ratio``).
- Lessons build: ``bench.lessons.build`` from the committed full results in a fresh interpreter,
  its CPU time (the build's own, whatever else shares the machine) and wall time; target 30 s CPU.
"""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.core import timing
from bench.core.config import Config
from bench.core.flavours import FLAVOURS
from bench.scenarios import REGISTRY, Rates

QUICK = Config(profile="quick").resolved()
STEPS = 40          # batches per pass: enough steady steps for a stable median
OVERHEAD_ROUNDS = 7


def _spread(values) -> str:
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return f"{q50:.3f} (IQR {q25:.3f}-{q75:.3f}, n={len(values)})"


@pytest.mark.parametrize("mode", ["function", "xla"])
def test_harness_overhead(benchmark, figures, mode):
    from bench.core import data
    from bench.measure import build, context, passes, reference

    x, y = data.dataset(STEPS * QUICK.batch_size, QUICK.seed, None)
    batches = build.make_batches(x, y, STEPS, QUICK.batch_size)
    rates = Rates.for_optimizer("adam")
    harness, bare = [], []

    def one_round():
        ctx = context.Ctx(REGISTRY["static"], FLAVOURS["keras3"], "loop", mode, "cpu", "adam", rates, STEPS // 2, STEPS)
        rows = passes.run_repeat(ctx, batches, QUICK.seed, probe_pass=False)
        stats = timing.summarise([[r["step_s"] for r in rows]], [[r["traces"] for r in rows]], QUICK.warmup)
        harness.append(stats["step_s_median"])
        ctx = context.Ctx(REGISTRY["static"], FLAVOURS["keras3"], "loop", mode, "cpu", "adam", rates, STEPS // 2, STEPS)
        bare.append(reference.reference_step_s(ctx, batches, QUICK.seed, rounds=3))

    benchmark.group = "harness overhead"
    benchmark.pedantic(one_round, rounds=OVERHEAD_ROUNDS, warmup_rounds=1)
    ratios = np.array(harness[1:]) / np.array(bare[1:])  # the warm-up round is dropped
    benchmark.extra_info.update(mode=mode, harness_step_s=harness[1:], bare_step_s=bare[1:], ratio=ratios.tolist(),
                                ratio_median=float(np.median(ratios)))
    figures.append(f"harness overhead, keras3 loop {mode} adam: timed step / bare loop = {_spread(ratios)}; "
                   f"median step {np.median(harness[1:]) * 1e3:.3f} ms vs {np.median(bare[1:]) * 1e3:.3f} ms "
                   f"(target <= 1.02)")


def test_quick_profile_wall_time(benchmark, figures, tmp_path):
    out = tmp_path / "quick"
    cmd = [sys.executable, "-m", "bench", "run", "--profile", "quick", "--flavours", "keras3", "--out", str(out),
           "--no-lessons"]
    procs = []

    def run():
        procs.append(subprocess.run(cmd, capture_output=True, text=True, timeout=1800))

    t0 = time.perf_counter()
    benchmark.group = "quick profile"
    benchmark.pedantic(run, rounds=1)
    wall = time.perf_counter() - t0
    assert procs[0].returncode == 0, procs[0].stderr[-2000:]  # a failed run has no figure to print
    cells = pd.read_csv(out / "cells.csv")
    steps = pd.read_csv(out / "steps.csv")
    ok = cells[cells["status"] == "ok"]
    static = ok[(ok["scenario"] == "static") & (ok["api"] == "loop") & (ok["mode"] != "eager")]
    # The timing pass's steps, first calls included; the rest of the wall time is start-up, set-up,
    # the probe pass and the reference loops.
    in_steps = steps["step_s"].sum()
    benchmark.extra_info.update(wall_s=wall, cells=len(cells), ok=len(ok), static_loop_ratio=static["step_ratio"].tolist(),
                                step_s_sum=in_steps)
    figures.append(f"quick profile, keras3: {wall:.1f} s wall for {len(cells)} cells (target 60 s on 2 cores); "
                   f"{in_steps:.1f} s of it inside the timing pass's train steps")
    figures.append(f"quick profile, keras3: static loop cells' step / bare loop = {_spread(static['step_ratio'])}")


LESSONS_BUILD = """
import resource, sys, time
t0 = time.perf_counter()
from bench import lessons
lessons.build(sys.argv[1], sys.argv[2])
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t0, cpu.ru_utime + cpu.ru_stime)
"""


def test_lessons_build_time(benchmark, figures, tmp_path):
    root = Path(__file__).resolve().parents[2]
    procs = []

    def build():
        procs.append(subprocess.run([sys.executable, "-c", LESSONS_BUILD, str(root / "results"), str(tmp_path / "lessons")],
                                    capture_output=True, text=True, timeout=600, cwd=root))

    benchmark.group = "lessons build"
    benchmark.pedantic(build, rounds=1)
    assert procs[0].returncode == 0, procs[0].stderr[-2000:]  # a failed build has no figure to print
    wall, cpu = map(float, procs[0].stdout.split())
    benchmark.extra_info.update(wall_s=wall, cpu_s=cpu)
    figures.append(f"lessons build from results/: {cpu:.1f} s CPU, {wall:.1f} s wall (target <= 30 s CPU)")
