"""`lr-bench audit`: the recipe's claims against the shared small run, findings from the results."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from bench import results

from bench.analysis import audit
from tests.conftest import run_cli
from tests.scenarios.test_tail import tail_results


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    src = tail_results(tmp_path_factory)
    out = tmp_path_factory.mktemp("audit")
    for name in ("cells.csv", "steps.csv", "meta.json"):
        shutil.copy(src / name, out / name)
    proc = run_cli("audit", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out, (out / audit.AUDIT_MD).read_text(encoding="utf-8")


def _row(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("| ") and needle in line)


def _expected(cells, scenario, holds) -> str:
    # The finding the audit should reach, worked out here from cells.csv alone.
    c = cells[(cells["scenario"] == scenario) & (cells["status"] == "ok")]
    flags = {bool(holds(v)) for v in c["verdict"]}
    return "**holds**" if flags == {True} else "**fails**" if flags == {False} else "**depends**"


def test_one_row_per_claim_with_versions(audited):
    out, text = audited
    assert text.startswith("# Audit of the popular LR-reset recipe")
    rows = [line for line in text.splitlines() if line[:2] == "| " and line[2:3].isdigit()]
    assert len(rows) == len(audit.CLAIMS)
    meta = results.read_meta(out)
    assert f"tensorflow {meta['versions']['keras3']['tensorflow']}" in text
    assert "class 9 never occurs" in text


def test_findings_follow_the_measured_verdicts(audited):
    out, text = audited
    cells = results.read_cells(out)
    assign = _row(text, "`optimizer.learning_rate.assign(new)` on a float")
    assert assign.endswith(_expected(cells, "assign", lambda v: v == "effective") + " |")
    plain = _row(text, "Plain `=` on `optimizer.learning_rate` does nothing")
    assert plain.endswith(_expected(cells, "attr-set", lambda v: v != "effective") + " |")
    swap = _row(text, "Swapping in a new schedule object")
    assert _expected(cells, "schedule-swap", lambda v: v == "effective") in swap
    # measured (tests/scenarios/test_tail.py): the swap is seen in eager mode only, so the row names the axis
    sw = cells[cells["scenario"] == "schedule-swap"]
    assert set(sw.loc[sw["mode"] == "eager", "verdict"]) == {"effective"}
    assert set(sw.loc[sw["mode"] != "eager", "verdict"]) == {"ignored"}
    assert "**depends** on mode" in swap


def test_print_after_the_step_shows_the_next_steps_lr(audited):
    # Read here against a NumPy schedule, ExponentialDecay(0.01, 10, 0.5) at SGD's base LR: a print
    # after step s reads the LR reported before step s + 1.
    out, text = audited
    steps = results.read_steps(out)
    shown = {}
    for (flavour, mode), s in steps[steps["scenario"] == "schedule-decay"].groupby(["flavour", "mode"]):
        s = s.sort_values("step")
        want = 0.01 * 0.5 ** (s["step"].to_numpy() / 10)
        np.testing.assert_allclose(s["lr_effective"], want, rtol=1e-3, err_msg=f"{flavour} {mode}")
        after = s["lr_reported"].to_numpy()[1:]
        if np.allclose(after, want[1:], rtol=1e-3) and not np.allclose(after, want[:-1], rtol=1e-3):
            shown[flavour, mode] = "next"
        else:
            shown[flavour, mode] = "no number" if np.isnan(after).all() else "other"
    # measured: Keras 3 reports the schedule's value, so the print is one step ahead; tf_keras's
    # legacy optimizer holds the schedule object and reports no number
    assert shown == {("keras3", "eager"): "next", ("keras3", "function"): "next",
                     ("tf_keras_legacy", "eager"): "no number", ("tf_keras_legacy", "function"): "no number"}
    row = _row(text, "The LR printed after each step")
    assert "shows the next step's LR (keras3)" in row and "shows no number (tf_keras_legacy)" in row
    assert row.endswith("| **fails** |")


def test_audit_imports_no_tensorflow(audited):
    out, _ = audited
    code = ("import sys; from bench.analysis import audit; audit.write_audit(sys.argv[1]); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _one_line_exit_2(proc, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_missing_folder_exits_2_with_one_line(tmp_path):
    _one_line_exit_2(run_cli("audit", str(tmp_path / "none"), timeout=60), "cells.csv: no such file")


def test_malformed_results_exit_2_without_writing(tmp_path):
    (tmp_path / "cells.csv").write_text("a,b\n1,2\n")
    _one_line_exit_2(run_cli("audit", str(tmp_path), timeout=60), "missing column(s)")
    assert not (tmp_path / audit.AUDIT_MD).exists()
