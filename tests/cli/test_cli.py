"""Bad input: one line naming the bad value and what is allowed, exit status 2, no traceback."""

import pytest

from bench.core.config import Config
from bench.runner.plan import plan
from bench.scenarios import REGISTRY
from tests.conftest import run_cli


@pytest.mark.parametrize("args, needle", [
    (["run", "--scenarios", "nope"], "--scenarios: unknown id 'nope'; valid: "),
    (["run", "--modes", "eager,jit"], "--modes: unknown id 'jit'; valid: eager, function, xla"),
    (["run", "--flavours", "keras4"], "--flavours: unknown id 'keras4'"),
    (["run", "--devices", "tpu"], "--devices: unknown id 'tpu'; valid: auto, cpu, gpu"),
    (["run", "--steps", "0"], "--steps: 0 is too small"),
    (["run", "--repeats", "-3"], "--repeats: -3 is too small"),
    (["run", "--repeats", "two"], "--repeats: 'two' is not a whole number"),
    (["run", "--profile", "huge"], "--profile: unknown value 'huge'; valid: quick, full"),
    (["run", "--out", "/proc/version/x"], "--out /proc/version/x: not a writable folder"),
    (["run", "--data", "/nonexistent/mnist.npz"], "--data /nonexistent/mnist.npz: no such file"),
    (["report", "/nonexistent-results"], "cells.csv: no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    proc = run_cli(*args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_scenario_lists_every_valid_id():
    proc = run_cli("run", "--scenarios", "static,nope", timeout=60)
    assert proc.returncode == 2
    for sid in REGISTRY:
        assert sid in proc.stderr


def test_list_shows_every_scenario_and_where_it_applies():
    proc = run_cli("list", timeout=60)
    assert proc.returncode == 0
    for sid, s in REGISTRY.items():
        assert sid in proc.stdout and s.doc in proc.stdout
    assert "apis=" in proc.stdout and "flavours=" in proc.stdout


def test_filters_select_the_cells():
    cfg = Config(profile="quick", scenarios=("assign", "static"), flavours=("keras3",), apis=("fit",),
                 modes=("eager", "xla"), devices=("cpu",), optimizers=("sgd",)).resolved()
    cells = plan(cfg, gpus=False)
    assert {(c.scenario, c.api, c.mode, c.optimizer) for c in cells} == {
        (s, "fit", m, "sgd") for s in ("assign", "static") for m in ("eager", "xla")}
    assert len(cells) == 4


def test_auto_devices_add_gpu_only_when_present():
    cfg = Config(profile="quick", scenarios=("static",), flavours=("keras3",)).resolved()
    assert {c.device for c in plan(cfg, gpus=False)} == {"cpu"}
    assert {c.device for c in plan(cfg, gpus=True)} == {"cpu", "gpu"}


def test_a_reader_that_leaves_early_gets_no_traceback():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "bench", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `lr-bench list | head -1` once head has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
