"""The regression gate catches a step made slower, and only that: a planted slowdown of one
scenario's compiled step fails ``compare``, and still fails it with a second slow run as the
recheck (as CI runs it); an unchanged re-run passes it, at the default allowance.
"""

import os

from tests.runner.test_reliability import _cli

# 30 steps: 27 steady steps paired with their reference steps, so a median holds still
ARGS = ["run", "--profile", "quick", "--steps", "30", "--flavours", "keras3", "--devices", "cpu", "--optimizers", "sgd",
        "--apis", "loop", "--modes", "function,xla", "--scenarios", "static,assign,planted-work",
        "--no-lessons", "--workers", "1"]


def _run(out, rows: int, times: int = 1):
    env = dict(os.environ, LR_BENCH_SCENARIO_MODULES="tests.planted", LR_BENCH_PLANTED_ROWS=str(rows),
               LR_BENCH_PLANTED_TIMES=str(times))
    proc = _cli(*ARGS, "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_compare_passes_an_unchanged_rerun_and_fails_a_planted_slowdown(tmp_path):
    base = _run(tmp_path / "base", 0)
    same = _run(tmp_path / "same", 0)
    slow = _run(tmp_path / "slow", 784, times=3)  # three products of the whole first kernel: about twice the step
    clean = _cli("compare", str(base), str(same))
    assert clean.returncode == 0, clean.stdout
    planted = _cli("compare", str(base), str(slow))
    assert planted.returncode == 1, planted.stdout
    failed = [line for line in planted.stdout.splitlines() if line.startswith("FAIL ")]
    # the planted cells, by their step ratio, and nothing else
    assert failed and all("planted-work" in line and "step_ratio" in line for line in failed), planted.stdout
    # measured again, as CI rechecks a failed gate: a slower step is slower in every run
    again = _run(tmp_path / "again", 784, times=3)
    rechecked = _cli("compare", str(base), str(slow), "--recheck", str(again))
    assert rechecked.returncode == 1, rechecked.stdout
    confirmed = [line for line in rechecked.stdout.splitlines() if line.startswith("FAIL ")]
    assert confirmed and all("planted-work" in line and "confirmed" in line for line in confirmed), rechecked.stdout
