"""The regression gate on synthetic results folders: fails on each planted regression, passes on
the same run and on a merely noisier one, and refuses input it cannot compare (no TensorFlow)."""

import itertools
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import cli, results

from bench.analysis import compare
from bench.results.columns import CELLS, DEFAULTS, KEY

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "results" / "baseline"

META = {"versions": {"keras3": {"tensorflow": "2.21.0", "keras": "3.15.1", "python": "3.11.2"}},
        "config": {"profile": "quick", "steps": 10}}


def _rows() -> list[dict]:
    rows = []
    combos = itertools.product(("static", "assign"), ("loop", "fit"), ("function", "xla"), ("adam", "sgd"))
    for i, (scenario, api, mode, opt) in enumerate(combos):
        median = 0.002 + 0.0001 * i
        rows.append(dict(
            scenario=scenario, flavour="keras3", strategy="none", api=api, mode=mode, device="cpu", optimizer=opt,
            replicas=1,
            status="ok", verdict="effective", reported_ok=True, error="", traces=1, retrace_s=0.0,
            first_call_s=0.5, step_s_median=median, step_s_iqr=0.02 * median, noisy=False,
            reference_s=median / 1.1, step_ratio=1.1, steps=10, change_step=5, repeats=1,
        ))
    return rows


def write_run(folder: Path, rows: list[dict], meta: dict = META) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    results.write(folder, results.cells_frame(rows), results.steps_frame([]), meta)
    return folder


def gate(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def runs(tmp_path):
    """A baseline and a function writing CURRENT from edited copies of its rows."""
    base = write_run(tmp_path / "base", _rows())

    def current(edit=lambda rows: None, meta=META):
        rows = _rows()
        edit(rows)
        return write_run(tmp_path / "cur", rows, meta)

    return base, current


def _cell(row: dict) -> str:
    return " ".join(str(row[k]) for k in KEY)


def test_identical_runs_pass(runs, capsys):
    base, current = runs
    code, out, err = gate(capsys, base, current())
    assert (code, err) == (0, "")
    assert out.strip().splitlines() == [out.strip()] and out.startswith("ok: 16 cells compared, 0 regression(s)")


def _more_traces(rows):
    rows[3]["traces"] += 1


def _twice_slower(rows):
    rows[3]["step_ratio"] *= 2
    rows[3]["step_s_median"] *= 2
    rows[3]["step_s_iqr"] *= 2


def _verdict_flip(rows):
    rows[3]["verdict"] = "ignored"


def _reported_flip(rows):
    rows[3]["reported_ok"] = False


def _error(rows):
    rows[3].update(status="error", verdict="", error="RuntimeError: boom")


def _missing(rows):
    del rows[3]


@pytest.mark.parametrize("plant, what", [
    (_more_traces, "traces"), (_twice_slower, "step_ratio"), (_verdict_flip, "verdict"),
    (_reported_flip, "reported_ok"), (_error, "status"), (_missing, "missing"),
])
def test_each_planted_regression_fails_and_names_the_cell(runs, capsys, plant, what):
    base, current = runs
    code, out, _ = gate(capsys, base, current(plant))
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL ")]
    assert len(fails) == 1, out
    assert _cell(_rows()[3]) in fails[0] and f" {what} " in fails[0]
    matched = 15 if what == "missing" else 16
    assert out.splitlines()[-1].startswith(f"FAIL: {matched} cells compared, 1 regression(s)")


def test_a_flip_back_also_fails(runs, tmp_path, capsys):
    # the committed baseline documents behaviour: a change either way is refreshed on purpose
    base, current = runs
    rows = _rows()
    rows[0].update(verdict="ignored", reported_ok=False)
    flipped = write_run(tmp_path / "flipped", rows)
    code, out, _ = gate(capsys, flipped, base)
    assert code == 1 and out.count("FAIL ") == 2


def test_fewer_traces_and_new_cells_are_reported_not_failed(runs, capsys):
    base, current = runs

    def edit(rows):
        rows[0]["traces"] = 0
        rows.append(dict(rows[1], scenario="brand-new"))
    code, out, _ = gate(capsys, base, current(edit))
    assert code == 0
    assert "traces less" in out and "brand-new keras3" in out and "1 new cell(s)" in out


def _slower(row, factor):
    row.update(step_ratio=row["step_ratio"] * factor, step_s_median=row["step_s_median"] * factor,
               step_s_iqr=row["step_s_iqr"] * factor)


def test_threshold_is_the_option(runs, capsys):
    base, current = runs
    slower = current(lambda rows: _slower(rows[3], 1.4))
    assert gate(capsys, base, slower)[0] == 1
    assert gate(capsys, base, slower, "--max-slowdown", "0.5")[0] == 0
    assert gate(capsys, base, slower, "--max-slowdown", "50%")[0] == 0


def test_a_ratio_whose_step_held_still_is_its_reference_moving(runs, capsys):
    # the reference loop timed during a burst of load: the ratio jumps, the step does not
    base, current = runs
    code, out, _ = gate(capsys, base, current(lambda rows: rows[3].update(step_ratio=rows[3]["step_ratio"] * 3)))
    assert code == 0 and "the reference moved" in out


def test_a_slower_machine_is_not_a_regression_but_a_slower_cell_on_it_is(runs, capsys):
    base, current = runs

    def edit(rows):
        for r in rows:  # every step and reference 3x slower: ratios unchanged
            r.update(step_s_median=r["step_s_median"] * 3, step_s_iqr=r["step_s_iqr"] * 3, reference_s=r["reference_s"] * 3)
        _slower(rows[3], 2)
    code, out, _ = gate(capsys, base, current(edit))
    assert code == 1 and out.count("FAIL ") == 1 and _cell(_rows()[3]) in out


def test_noisy_cells_do_not_fail_on_ratio_alone(runs, capsys):
    base, current = runs

    def edit(rows):
        _twice_slower(rows)
        rows[3]["noisy"] = True
        rows[5]["noisy"] = True
        rows[5]["traces"] = 2  # a noisy cell still fails on what is exact
    code, out, _ = gate(capsys, base, current(edit))
    assert code == 1
    assert "noisy timing, not gated" in out
    fails = [line for line in out.splitlines() if line.startswith("FAIL ")]
    assert len(fails) == 1 and " traces " in fails[0] and _cell(_rows()[5]) in fails[0]


def test_a_wide_iqr_widens_the_allowance(runs, capsys):
    base, current = runs

    def wide(factor):
        def edit(rows):
            _slower(rows[3], factor)
            rows[3]["step_s_iqr"] = 0.2 * rows[3]["step_s_median"]
        return edit
    assert gate(capsys, base, current(wide(1.4)))[0] == 0  # 40 % < 25 % + 2 % + 20 %
    assert gate(capsys, base, current(wide(2.0)))[0] == 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.lists(st.floats(0.9, 1.1), min_size=16, max_size=16),
       iqr=st.lists(st.floats(0.0, 0.25), min_size=16, max_size=16))
def test_ten_percent_noise_on_ratios_passes(noise, iqr):
    base = pd.DataFrame(_rows()).set_index(list(KEY))
    cur = base.copy()
    cur["step_ratio"] = cur["step_ratio"].to_numpy() * noise
    cur["step_s_iqr"] = cur["step_s_median"].to_numpy() * iqr
    comp = compare.compare_cells(base, cur)
    assert comp.exit_code == 0 and comp.matched == 16
    # and the same noise on top of a doubled cell still fails that cell alone
    for col in ("step_ratio", "step_s_median"):
        cur.iloc[7, cur.columns.get_loc(col)] = base[col].iloc[7] * 2 * noise[7]
    cur.iloc[7, cur.columns.get_loc("step_s_iqr")] = 0.0
    assert [d.cell for d in compare.compare_cells(base, cur).regressions] == [base.index[7]]


def test_version_difference_is_a_warning(runs, capsys):
    base, current = runs
    meta = {**META, "versions": {"keras3": {**META["versions"]["keras3"], "tensorflow": "2.22.0"}}}
    code, out, _ = gate(capsys, base, current(meta=meta))
    assert code == 0
    assert out.splitlines()[0].startswith("warning: tensorflow 2.21.0 in baseline, 2.22.0 in current")


def test_cpu_difference_is_a_warning(runs, capsys):
    base, current = runs
    code, out, _ = gate(capsys, write_run(base, _rows(), {**META, "cpu": "AMD EPYC"}),
                        current(meta={**META, "cpu": "Intel(R) Xeon(R) Processor"}))
    assert code == 0
    assert out.splitlines()[0].startswith("warning: the baseline was measured on AMD EPYC, the current run on "
                                          "Intel(R) Xeon(R) Processor")
    code, out, _ = gate(capsys, write_run(base, _rows(), {**META, "cpu": "AMD EPYC"}), current(meta={**META, "cpu": "AMD EPYC"}))
    assert code == 0 and "warning" not in out


def test_the_baseline_measured_on_the_current_cpu_is_used(runs, tmp_path, capsys):
    """A baseline folder keeps a run per CPU model under by-cpu/: the gate compares with the one
    measured on the current run's CPU, and with the top-level run (and a warning) otherwise."""
    base, current = runs
    intel, amd = {**META, "cpu": "Intel(R) Xeon(R) Processor"}, {**META, "cpu": "AMD EPYC"}
    write_run(base, _rows(), intel)
    slower = _rows()
    for r in slower:
        r["step_ratio"] *= 2  # what another CPU's kernels can do to a ratio
    write_run(base / "by-cpu" / "amd-epyc", slower, amd)
    code, out, _ = gate(capsys, base, current(edit=lambda rows: [r.update(step_ratio=r["step_ratio"] * 2) for r in rows],
                                              meta=amd))
    assert code == 0, out
    assert f"baseline: {base / 'by-cpu' / 'amd-epyc'}, measured on the current run's CPU" in out
    assert "warning" not in out
    code, out, _ = gate(capsys, base, current(meta=intel))
    assert code == 0 and "baseline:" not in out and "warning" not in out
    code, out, _ = gate(capsys, base, current(meta={**META, "cpu": "Another CPU"}))
    assert code == 0 and "baseline:" not in out
    assert "warning: the baseline was measured on Intel(R) Xeon(R) Processor, the current run on Another CPU" in out
    # the run picked for the current CPU is also the one the recheck weighs against: a burst of
    # load in one cell, absent from the recheck run, is cleared against it
    burst = current(edit=lambda rows: [r.update(step_ratio=r["step_ratio"] * 2) for r in rows] + [_slower(rows[3], 1.6)],
                    meta=amd)
    code, out, _ = gate(capsys, base, burst)
    assert code == 1 and _cell(_rows()[3]) in out
    code, out, _ = gate(capsys, base, burst, "--recheck", write_run(tmp_path / "again", slower, amd))
    assert code == 0 and "not confirmed" in out, out


def _garbage_cells(folder):
    (folder / "cells.csv").write_bytes(b"\x00\xff\x00not,a\ncsv")


def _no_meta(folder):
    (folder / "meta.json").unlink()


def _bad_meta(folder):
    (folder / "meta.json").write_text("{not json")


def _missing_column(folder):
    df = pd.read_csv(folder / "cells.csv").drop(columns=["traces"])
    df.to_csv(folder / "cells.csv", index=False)


def _duplicate_cell(folder):
    df = pd.read_csv(folder / "cells.csv")
    pd.concat([df, df.iloc[[2]]]).to_csv(folder / "cells.csv", index=False)


def _other_profile(folder):
    df = pd.read_csv(folder / "cells.csv")
    df["steps"], df["change_step"] = 60, 30
    df.to_csv(folder / "cells.csv", index=False)


@pytest.mark.parametrize("spoil, file, needle", [
    (_garbage_cells, "cells.csv", "cells.csv: "),
    (_no_meta, "meta.json", "meta.json: no such file"),
    (_bad_meta, "meta.json", "meta.json: not readable JSON"),
    (_missing_column, "cells.csv", "missing column(s) traces"),
    (_duplicate_cell, "cells.csv", "appears more than once"),
    (_other_profile, "cells.csv", "steps 60 but 10 in "),
])
def test_unusable_input_exits_2_naming_the_file(runs, capsys, spoil, file, needle):
    base, current = runs
    cur = current()
    spoil(cur)
    code, out, err = gate(capsys, base, cur)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(cur / file) in err and needle in err
    assert "Traceback" not in err


def test_missing_folder_and_bad_threshold_exit_2(runs, tmp_path, capsys):
    base, _ = runs
    code, _, err = gate(capsys, tmp_path / "nowhere", base)
    assert code == 2 and str(tmp_path / "nowhere" / "cells.csv") in err
    for bad in ("fast", "0", "-0.1", "nan", "inf"):
        code, _, err = gate(capsys, base, base, "--max-slowdown", bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and f"--max-slowdown: {bad}" in err.replace("'", "")


@pytest.mark.skipif(not (BASELINE / "cells.csv").is_file(), reason="no committed baseline")
def test_committed_baseline_passes_itself_and_fails_one_more_trace(tmp_path, capsys):
    code, out, _ = gate(capsys, BASELINE, BASELINE)
    assert code == 0, out
    copy = tmp_path / "copy"
    shutil.copytree(BASELINE, copy)
    cells = pd.read_csv(copy / "cells.csv", keep_default_na=False, na_values=[""])
    # the baseline's columns, save those added after it was measured (read with their DEFAULTS)
    assert list(cells.columns) == [c for c in CELLS if c in cells.columns]
    assert set(CELLS) - set(cells.columns) <= set(DEFAULTS)
    i = cells.index[(cells["status"] == "ok") & (cells["mode"] == "function")][0]
    cells.loc[i, "traces"] += 1
    cells.to_csv(copy / "cells.csv", index=False)
    code, out, _ = gate(capsys, BASELINE, copy)
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("FAIL ")] == [
        line for line in out.splitlines() if " ".join(cells.loc[i, list(KEY)]) in line and " traces " in line]


def test_meta_without_versions_still_compares(runs, capsys):
    base, current = runs
    code, out, err = gate(capsys, base, current(meta={"versions": ["not", "a", "mapping"]}))
    assert (code, err) == (0, "") and "warning" not in out


# --- a filtered or sharded run: too few timed cells to tell the machine from a cell ---

def test_the_run_wide_speed_needs_the_minimum_of_timed_cells():
    rows = {i: r for i, r in enumerate(_rows())}
    slower = {i: dict(r, step_s_median=r["step_s_median"] * 3) for i, r in rows.items()}
    few = compare.MIN_CELLS_FOR_SPEED - 1
    assert compare.machine_speed({i: rows[i] for i in range(few)}, slower) is None
    assert compare.machine_speed({i: rows[i] for i in range(few + 1)}, slower) == pytest.approx(3.0)


def _few(rows):
    del rows[compare.MIN_CELLS_FOR_SPEED - 1:]  # a filtered run: fewer cells than the speed check needs


def test_with_too_few_cells_a_ratio_jump_fails_on_the_ratio_alone(runs, tmp_path, capsys):
    # Sixteen cells tell a reference loop caught by load from a slower step (the step held still:
    # passed). In a run of four there is no run-wide speed to judge the step against, so the
    # ratio decides.
    def jump(rows):
        rows[3]["step_ratio"] *= 3
    base, current = runs
    assert gate(capsys, base, current(jump))[0] == 0
    rows = _rows()
    _few(rows)
    base = write_run(tmp_path / "few-base", rows)
    rows = _rows()
    _few(rows)
    jump(rows)
    code, out, _ = gate(capsys, base, write_run(tmp_path / "few-cur", rows))
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL ")]
    assert len(fails) == 1 and _cell(rows[3]) in fails[0] and " step_ratio " in fails[0]
    assert out.splitlines()[-1].startswith(f"FAIL: {compare.MIN_CELLS_FOR_SPEED - 1} cells compared, 1 regression(s)")


def test_with_too_few_cells_a_slower_machine_still_passes(tmp_path, capsys):
    rows = _rows()
    _few(rows)
    base = write_run(tmp_path / "base", rows)
    for r in rows:  # every step and reference 3x slower: ratios unchanged
        r.update(step_s_median=r["step_s_median"] * 3, step_s_iqr=r["step_s_iqr"] * 3, reference_s=r["reference_s"] * 3)
    code, out, _ = gate(capsys, base, write_run(tmp_path / "cur", rows))
    assert code == 0 and "FAIL" not in out


# --- tracing counts that could not be read, and cells that stopped failing ---

@pytest.mark.parametrize("base_traces, cur_traces, fails, note", [
    (1, float("nan"), True, "count lost"),  # it can no longer be gated
    (float("nan"), 1, False, "counted now"),
    (float("nan"), float("nan"), False, None),  # the same unknown count in both: nothing changed
])
def test_nan_trace_counts(tmp_path, capsys, base_traces, cur_traces, fails, note):
    def run(name, traces):
        rows = _rows()
        rows[3]["traces"] = traces
        return write_run(tmp_path / name, rows)
    code, out, _ = gate(capsys, run("base", base_traces), run("cur", cur_traces))
    assert code == int(fails), out
    lines = [line for line in out.splitlines() if _cell(_rows()[3]) in line]
    if note is None:
        assert lines == [] and out.startswith("ok: 16 cells compared, 0 regression(s)")
    else:
        assert len(lines) == 1 and " traces " in lines[0] and lines[0].endswith(note)
        assert lines[0].startswith("FAIL ") == fails


def test_an_error_cell_that_now_runs_is_reported_not_failed(tmp_path, capsys):
    rows = _rows()
    _error(rows)
    rows[3].update(traces=float("nan"), step_s_median=float("nan"), step_ratio=float("nan"))
    base = write_run(tmp_path / "base", rows)
    code, out, _ = gate(capsys, base, write_run(tmp_path / "cur", _rows()))
    assert code == 0, out
    line = next(line for line in out.splitlines() if _cell(_rows()[3]) in line)
    assert not line.startswith("FAIL") and " status " in line and "error" in line and "ok" in line
    assert out.splitlines()[-1].startswith("ok: 16 cells compared, 0 regression(s)")


# --- a baseline written before the strategy columns existed ---

def test_a_baseline_from_before_the_strategy_columns_compares(runs, capsys):
    base, current = runs
    pd.read_csv(base / "cells.csv").drop(columns=["strategy", "replicas"]).to_csv(base / "cells.csv", index=False)
    pd.read_csv(base / "steps.csv").drop(columns=["strategy", "lr_spread"]).to_csv(base / "steps.csv", index=False)
    cells = results.read_cells(base)
    assert set(cells["strategy"]) == {"none"} and set(cells["replicas"]) == {1}
    code, out, err = gate(capsys, base, current())
    assert (code, err) == (0, "") and out.startswith("ok: 16 cells compared, 0 regression(s), 0 new cell(s)")
    # and it still gates: a planted regression against the old folder fails
    code, out, _ = gate(capsys, base, current(_more_traces))
    assert code == 1 and _cell(_rows()[3]) in next(line for line in out.splitlines() if line.startswith("FAIL "))


def _again(tmp_path, edit):
    rows = _rows()
    edit(rows)
    return write_run(tmp_path / "again", rows)


def test_a_recheck_run_confirms_a_slower_cell_and_clears_a_burst_of_load(runs, tmp_path, capsys):
    base, current = runs
    slower = current(lambda rows: _slower(rows[3], 1.6))
    label = _cell(_rows()[3])
    # the second run shows the same cell slower: the regression stands
    code, out, _ = gate(capsys, base, slower, "--recheck", _again(tmp_path, lambda rows: _slower(rows[3], 1.5)))
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("FAIL ")] == [
        line for line in out.splitlines() if label in line and "confirmed" in line and "not confirmed" not in line]
    # the second run has it as in the baseline: one run's burst of load, listed and passed
    code, out, _ = gate(capsys, base, slower, "--recheck", _again(tmp_path, lambda rows: None))
    assert code == 0, out
    assert any(label in line and "not confirmed" in line for line in out.splitlines()), out


def test_a_recheck_clears_nothing_but_step_ratios(runs, tmp_path, capsys):
    base, current = runs
    both = current(lambda rows: (_verdict_flip(rows), _slower(rows[3], 1.6)))
    code, out, _ = gate(capsys, base, both, "--recheck", _again(tmp_path, lambda rows: None))
    failed = [line for line in out.splitlines() if line.startswith("FAIL ")]
    assert code == 1 and len(failed) == 1 and " verdict " in failed[0], out


def test_a_cell_the_recheck_did_not_measure_stays_failed(runs, tmp_path, capsys):
    base, current = runs
    slower = current(lambda rows: _slower(rows[3], 1.6))
    code, out, _ = gate(capsys, base, slower, "--recheck", _again(tmp_path, lambda rows: rows.pop(3)))
    assert code == 1 and "not measured in the recheck run" in out, out


def test_a_recheck_of_another_profile_exits_2_naming_it(runs, tmp_path, capsys):
    base, current = runs
    other = _again(tmp_path, lambda rows: [r.update(steps=30) for r in rows])
    code, out, err = gate(capsys, base, current(), "--recheck", other)
    assert code == 2 and str(other / "cells.csv") in err and "steps 30" in err and not out
