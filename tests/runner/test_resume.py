"""`--resume` on a stored run: error cells are run again, a version change is refused, `--force`
starts over. One small run (two cells, four steps) edited between the resumes the way a crash, a
timed-out cell or an upgraded TensorFlow would leave it."""

import json

import pytest

from bench import results
from bench.runner.workers import usable_cores
from bench.runner.store import PARTIAL
from tests.conftest import run_cli

TWO = ["run", "--profile", "quick", "--steps", "4", "--flavours", "keras3", "--devices", "cpu", "--apis", "loop",
       "--modes", "function", "--optimizers", "sgd", "--scenarios", "static,assign", "--workers", "1", "--no-lessons"]


def _stored(out) -> dict[str, dict]:
    """The stored cells, by scenario, with the file each is in."""
    found = {}
    for p in (out / PARTIAL).glob("*.json"):
        if p.name != "run.json":
            result = json.loads(p.read_text())
            found[result["cell"]["scenario"]] = dict(result, path=p)
    return found


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume")
    proc = run_cli(*TWO, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_resume_runs_error_cells_again_and_keeps_the_rest(stored_run):
    out = stored_run
    cells = _stored(out)
    assert {c["cell"]["status"] for c in cells.values()} == {"ok"}
    broken = cells["assign"]
    broken["cell"].update(status="error", error="worker died (signal SIGKILL)")
    broken["path"].write_text(json.dumps({k: v for k, v in broken.items() if k != "path"}))
    proc = run_cli(*TWO, "--out", str(out), "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert results.read_meta(out)["resumed_cells"] == 1  # static kept, assign run again
    got = results.read_cells(out).set_index("scenario")
    assert got.loc["assign", "status"] == "ok" and got.loc["assign", "verdict"] == "effective"
    assert _stored(out)["assign"]["cell"]["status"] == "ok"


def test_resume_across_a_version_change_is_refused_and_force_starts_over(stored_run):
    out = stored_run
    run_json = out / PARTIAL / "run.json"
    fp = json.loads(run_json.read_text())
    real = fp["versions"]["tensorflow"]
    fp["versions"]["tensorflow"] = "2.20.0"  # the stored cells as an older TensorFlow measured them
    run_json.write_text(json.dumps(fp))
    before = (out / "cells.csv").read_bytes()

    refused = run_cli(*TWO, "--out", str(out), "--resume")
    assert refused.returncode == 2, refused.stderr[-2000:]
    line = refused.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"tensorflow=2.20.0, this run has tensorflow={real}" in line and "--force" in line
    assert (out / "cells.csv").read_bytes() == before and json.loads(run_json.read_text()) == fp

    forced = run_cli(*TWO, "--out", str(out), "--resume", "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert results.read_meta(out)["resumed_cells"] == 0  # the stored cells were discarded, not reused
    assert json.loads(run_json.read_text())["versions"]["tensorflow"] == real
    assert set(results.read_cells(out)["status"]) == {"ok"} and len(_stored(out)) == 2


def test_the_run_records_its_worker_pinned_to_a_core(stored_run):
    # one worker on two or more cores: pinned to the first, one TensorFlow thread (tests/measure/test_worker.py
    # reads the affinity itself); the run's meta.json says so
    meta = results.read_meta(stored_run)
    hello = meta["versions"]["keras3"]
    assert (meta["workers"], meta["pinned"]) == (1, True)
    assert hello["core"] == str(min(usable_cores()))
    assert (hello["intra_op_threads"], hello["inter_op_threads"]) == (1, 1)


def test_resume_over_a_finished_folder_measures_nothing_and_then_only_what_is_new(tmp_path):
    """A fresh clone has the results files but no ``.partial``: ``--resume`` takes the cells from
    them, starts no worker when nothing is left, and measures only cells the folder lacks."""
    import shutil

    out = tmp_path / "done"
    first = run_cli(*TWO, "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    shutil.rmtree(out / PARTIAL)
    meta = json.loads((out / results.META_JSON).read_text())
    cells = results.read_cells(out)

    again = run_cli(*TWO, "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "nothing to run: all 2 cells" in again.stdout
    assert json.loads((out / results.META_JSON).read_text()) == meta  # nothing rewritten

    wider = [a if a != "static,assign" else "static,assign,attr-set" for a in TWO]
    more = run_cli(*wider, "--out", str(out), "--resume")
    assert more.returncode == 0, more.stderr[-2000:]
    after = results.read_cells(out)
    assert json.loads((out / results.META_JSON).read_text())["resumed_cells"] == 2
    assert sorted(after["scenario"]) == ["assign", "attr-set", "static"]
    kept = after[after["scenario"] != "attr-set"].set_index("scenario").sort_index()
    for column in ("verdict", "reported_ok", "traces", "step_ratio", "step_s_median"):
        assert kept[column].tolist() == cells.set_index("scenario").sort_index()[column].tolist(), column
    steps = results.read_steps(out)
    assert len(steps[steps["scenario"] == "static"]) == 4  # its steps came back with it


def test_keep_errors_counts_a_finished_folders_error_cells_as_measured(tmp_path):
    # What a release sweep relies on: an older release's own errors are its results, so a second
    # sweep over a finished folder runs nothing, and without the option they are run again.
    import shutil

    out = tmp_path / "finished"
    assert run_cli(*TWO, "--out", str(out)).returncode == 0
    shutil.rmtree(out / PARTIAL)  # as a finished folder comes out of git
    cells = results.read_cells(out)
    cells.loc[cells["scenario"] == "assign", ["status", "error"]] = ["error", "TypeError: not on this release"]
    cells.to_csv(out / "cells.csv", index=False)
    before = (out / "cells.csv").read_bytes()

    kept = run_cli(*TWO, "--out", str(out), "--resume", "--keep-errors")
    assert kept.returncode == 0, kept.stderr[-2000:]
    assert "nothing to run: all 2 cells" in kept.stdout + kept.stderr
    assert (out / "cells.csv").read_bytes() == before

    retried = run_cli(*TWO, "--out", str(out), "--resume")
    assert retried.returncode == 0, retried.stderr[-2000:]
    assert results.read_meta(out)["resumed_cells"] == 1
    assert set(results.read_cells(out)["status"]) == {"ok"}
