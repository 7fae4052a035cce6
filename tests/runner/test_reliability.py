"""Failure injection: crashes, hangs, kill -9, Ctrl-C, resume, determinism, atomic writes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench import results
from bench.results import files
from bench.runner.store import PARTIAL
from tests.conftest import CORE, SMALL

FAULTS = dict(os.environ, LR_BENCH_SCENARIO_MODULES="tests.faults")


def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or os.environ)


def _children(pid):
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _gone(pids, within=15.0):
    deadline = time.time() + within
    while time.time() < deadline:
        if not [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]:
            return True
        time.sleep(0.2)
    return False


def _state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_crashing_or_hanging_cell_costs_only_that_cell(tmp_path):
    proc = _cli("run", *SMALL, "--apis", "loop", "--scenarios", "static,fault-segfault,fault-hang,fault-raise,assign",
                "--cell-timeout", "30", "--out", str(tmp_path), env=FAULTS)
    assert proc.returncode == 0, proc.stderr
    cells = results.read_cells(tmp_path).set_index("scenario")
    assert cells.loc["static", "status"] == "ok" and cells.loc["assign", "status"] == "ok"
    assert cells.loc["assign", "verdict"] == "effective"  # measured after two replaced workers
    assert cells.loc["fault-segfault", "status"] == "error"
    assert "SIGSEGV" in cells.loc["fault-segfault", "error"]
    assert cells.loc["fault-hang", "status"] == "error"
    assert "timed out after 30 s" in cells.loc["fault-hang", "error"]
    assert cells.loc["fault-raise", "status"] == "error"
    assert "RuntimeError: injected failure" in cells.loc["fault-raise", "error"]


def _interruptible():
    # Ctrl-C as a terminal delivers it: a test session started in the background by a shell
    # without job control inherits SIGINT ignored, and so would the run, which then never sees it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "bench", "run", *SMALL, "--scenarios", CORE, "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)


def _wait_for_cells(out, n, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in (out / PARTIAL).glob("*.json") if p.name != "run.json"]
        if len(done) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("no cells finished in time")


def same_measurements(a, b):
    ca, cb = results.read_cells(a), results.read_cells(b)
    key = ["scenario", "flavour", "api", "mode", "device", "optimizer"]
    assert not cb.duplicated(key).any()
    m = ca.merge(cb, on=key, suffixes=("_a", "_b"))
    assert len(m) == len(ca) == len(cb) == 10
    assert (m["status_a"] == "ok").all() and (m["verdict_a"] == m["verdict_b"]).all()
    assert (m["reported_ok_a"] == m["reported_ok_b"]).all() and (m["traces_a"] == m["traces_b"]).all()
    sa, sb = results.read_steps(a), results.read_steps(b)
    s = sa.merge(sb, on=key + ["repeat", "step"], suffixes=("_a", "_b"))
    assert len(s) == len(sa) == len(sb) == 100
    # bit-identical curves: across runs, worker counts and an interruption
    assert (s["loss_a"] == s["loss_b"]).all()
    assert (s["lr_effective_a"] == s["lr_effective_b"]).all()


def test_kill_9_then_resume_gives_the_uninterrupted_cells(tmp_path, small_run):
    proc = _start(tmp_path)
    _wait_for_cells(tmp_path, 3, proc)
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "cells.csv").exists()  # nothing half-written
    assert _gone(kids), "worker processes outlived the killed runner"
    stored = len([p for p in (tmp_path / PARTIAL).glob("*.json") if p.name != "run.json"])
    assert 3 <= stored < 10
    done = _cli("run", *SMALL, "--scenarios", CORE, "--out", str(tmp_path), "--resume")
    assert done.returncode == 0, done.stderr
    assert results.read_meta(tmp_path)["resumed_cells"] == stored
    same_measurements(small_run, tmp_path)


def test_ctrl_c_keeps_finished_cells_and_resume_refuses_other_settings(tmp_path, small_run):
    proc = _start(tmp_path)
    _wait_for_cells(tmp_path, 2, proc)
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err and "Exception in thread" not in err
    assert _gone(kids)
    other = _cli("run", *SMALL, "--scenarios", CORE, "--steps", "12", "--out", str(tmp_path), "--resume")
    assert other.returncode == 2
    assert other.stderr.strip().count("\n") == 0 and "steps=10" in other.stderr and "--force" in other.stderr
    done = _cli("run", *SMALL, "--scenarios", CORE, "--out", str(tmp_path), "--resume")
    assert done.returncode == 0, done.stderr
    same_measurements(small_run, tmp_path)


def test_a_failed_write_leaves_the_previous_results(tmp_path, monkeypatch):
    (tmp_path / "cells.csv").write_text("old cells")
    (tmp_path / "steps.csv").write_text("old steps")
    real = files._stage
    calls = []

    def failing(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(path, text)

    monkeypatch.setattr(files, "_stage", failing)
    with pytest.raises(OSError):
        results.write(tmp_path, pd.DataFrame(), pd.DataFrame(), {})
    assert (tmp_path / "cells.csv").read_text() == "old cells"
    assert (tmp_path / "steps.csv").read_text() == "old steps"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.csv", "steps.csv"]  # no temp files left
