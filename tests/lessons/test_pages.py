"""Lessons built from results files: without TensorFlow, fast, complete, and true to the rows.

The results are the session's quick Keras 3 run (shared with test_matrix); one more tiny run
checks that ``lr-bench run`` ends by building the lessons and writes TensorBoard scalars.
"""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
import pytest

from bench import results
from bench.lessons import pages

from bench.lessons import notebooks

from bench.lessons import sources as lesson_source
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
FIGURE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")

#: Its build time is a benchmark (tests/benchmarks/test_harness.py), printed rather than asserted.
BUILD = """
import sys
from bench.lessons import pages
pages.build(sys.argv[1], sys.argv[2])
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.fixture(scope="module")
def built(quick_keras3, tmp_path_factory):
    """Lessons built from the quick run in a fresh interpreter: (folder, imported TF or Keras?)."""
    out = tmp_path_factory.mktemp("lessons")
    proc = subprocess.run([sys.executable, "-c", BUILD, str(quick_keras3), str(out)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tf_loaded, keras_loaded = proc.stdout.split()
    return out, tf_loaded == "True" or keras_loaded == "True"


def test_build_needs_no_tensorflow(built):
    assert not built[1], "building lessons imported TensorFlow or Keras"


def test_every_lesson_has_a_page_and_a_notebook(built):
    out = built[0]
    for lesson in lesson_source.load():
        assert (out / f"{lesson.slug}.md").is_file() and (out / f"{lesson.slug}.ipynb").is_file(), lesson.slug
    assert (out / pages.FIGURES / pages.TRUTH_FIGURE).stat().st_size > 10_000


def test_every_referenced_figure_exists_and_every_figure_is_referenced(built):
    out = built[0]
    referenced = set()
    for page in out.glob("*.md"):
        for target in FIGURE.findall(page.read_text()):
            assert (out / target).is_file(), (page.name, target)
            referenced.add(Path(target).name)
    # the truth table (in as many parts as its rows need) is shown by the workshop plan, not a page
    on_disk = {p.name for p in (out / pages.FIGURES).glob("*.png") if not re.fullmatch(r"truth-table(-\d+)?\.png", p.name)}
    assert on_disk == referenced


def test_pages_show_the_source_snippets_verbatim(built):
    out = built[0]
    for lesson in lesson_source.load():
        page = (out / f"{lesson.slug}.md").read_text()
        assert lesson_source.snippets(page) == lesson.snippets, lesson.slug


def test_notebook_is_the_page(built):
    out = built[0]
    for lesson in lesson_source.load():
        page = (out / f"{lesson.slug}.md").read_text()
        nb = nbformat.read(out / f"{lesson.slug}.ipynb", as_version=4)
        code = [(c.metadata["tags"][0], c.source) for c in nb.cells if c.cell_type == "code"]
        assert code == [(s.kind, s.code.rstrip("\n")) for s in lesson.snippets]
        text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for kind, _, chunk in notebooks.cells(page):
            if kind == "markdown":
                assert chunk in text


def test_findings_are_the_counts_in_cells_csv(built, quick_keras3):
    cells = results.read_cells(quick_keras3)
    page = (built[0] / "02-schedule-swap.md").read_text()
    swap = cells[(cells["scenario"] == "schedule-swap") & (cells["status"] == "ok")]
    counts = Counter(swap["verdict"])
    line = next(line for line in page.splitlines() if line.startswith("- `schedule-swap`"))
    for verdict, n in counts.items():
        assert f"{verdict} in {n}" in line, line
    assert f"of {len(swap)} cells" in line
    misreported = int((swap["reported_ok"] == False).sum())  # noqa: E712
    assert (f"differed from the weights' in {misreported}" in line) == (misreported > 0), line


def test_change_table_matches_steps_csv(built, quick_keras3):
    steps = results.read_steps(quick_keras3)
    page = (built[0] / "02-schedule-swap.md").read_text()
    change = int(results.read_cells(quick_keras3)["change_step"].iloc[0])
    row = steps[(steps["scenario"] == "schedule-swap") & (steps["api"] == "loop") & (steps["mode"] == "function")
                & (steps["optimizer"] == "sgd") & (steps["step"] == change)].iloc[0]
    expected = f"| `schedule-swap` | keras3 · loop | function | {row.lr_intended:.4g} | {row.lr_effective:.4g} |"
    assert expected in page


def test_absent_scenarios_are_named_not_described(built, quick_keras3):
    present = set(results.read_cells(quick_keras3)["scenario"])
    for lesson in lesson_source.load():
        page = (built[0] / f"{lesson.slug}.md").read_text()
        evidence = page.split("## What the bench measured", 1)[1].split("\n## ", 1)[0]
        ids = pages.scenarios_of(lesson, results.read_cells(quick_keras3))
        if not ids:
            assert not FIGURE.search(evidence), lesson.slug  # no figure without data
        for pattern in lesson.scenarios:
            if pattern != lesson_source.MISREPORTED and not lesson_source.matching(pattern, present):
                assert "not in these results" in evidence, (lesson.slug, pattern)


def test_bad_results_folder_exits_2_with_one_line(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("lessons", str(tmp_path / "missing"), "--out", str(out), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "cells.csv: no such file" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(out.glob("*.md"))


def test_unreadable_steps_file_exits_2(quick_keras3, tmp_path):
    for name in ("cells.csv", "meta.json"):
        (tmp_path / name).write_bytes((quick_keras3 / name).read_bytes())
    (tmp_path / "steps.csv").write_text("scenario,step\nx,1\n")
    proc = run_cli("lessons", str(tmp_path), "--out", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2 and "missing column(s)" in proc.stderr and "Traceback" not in proc.stderr


def test_committed_lessons_are_built_from_committed_results(committed_build):
    # Also what shows the build deterministic: the committed files came from another process, on
    # another day, and every byte must come out the same (figures included).
    _, built_dir = committed_build
    files = list(built_dir.rglob("*.*"))
    assert files, "the build wrote nothing"
    for path in files:
        rel = path.relative_to(built_dir)
        committed = ROOT / "lessons" / rel
        assert committed.is_file() and committed.read_bytes() == path.read_bytes(), f"lessons/{rel} is stale"


def test_a_lesson_whose_cells_retraced_shows_what_the_retraces_cost(committed_build):
    # a step ratio is a median over steady steps, which a few retraced steps do not move: the page
    # carries the retracing table, one row per compiled cell, with the tracing count from cells.csv
    _, built_dir = committed_build
    page = (built_dir / "04-retracing.md").read_text()
    assert "What the retraces cost" in page
    cells = results.read_cells(ROOT / "results")
    floats = cells[(cells["scenario"] == "float-arg") & (cells["mode"] != "eager") & (cells["status"] == "ok")]
    assert not floats.empty
    for (flavour, mode), g in floats.groupby(["flavour", "mode"]):
        traces = int(g["traces"].max())
        assert traces > 1 and f"| `float-arg` | {flavour} | loop · {mode} | {traces} | {traces - 1} |" in page
    assert "Retraces are not in these ratios" in page


def test_a_generated_notebook_runs_end_to_end(built, tmp_path):
    import nbclient  # a test dependency (the test extra): missing, it fails rather than skips

    nb = nbformat.read(built[0] / "01-equals.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "asked for 0.1, the step used 0.01" in printed and "asked for 0.05, the step used 0.05" in printed


@pytest.fixture(scope="module")
def run_with_lessons(tmp_path_factory):
    """One cell run through the CLI without --no-lessons, with --tensorboard."""
    out = tmp_path_factory.mktemp("run")
    proc = run_cli("run", "--profile", "quick", "--flavours", "keras3", "--devices", "cpu", "--scenarios",
                   "schedule-swap", "--apis", "loop", "--modes", "function", "--optimizers", "sgd", "--workers", "1",
                   "--out", str(out), "--tensorboard", str(out / "tb"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_run_builds_lessons_beside_a_non_default_out(run_with_lessons):
    built = run_with_lessons / "lessons"
    assert (built / "02-schedule-swap.md").is_file() and (built / "figures" / "02-schedule-swap-lr.png").is_file()


def test_tensorboard_scalars_are_the_steps_rows(run_with_lessons):
    import tensorflow as tf

    files = list((run_with_lessons / "tb").rglob("events.out.tfevents.*"))
    assert len(files) == 1 and "schedule-swap" in files[0].parts
    seen: dict = {}
    for raw in tf.data.TFRecordDataset(str(files[0])):  # TensorFlow's reader checks the CRCs
        event = tf.compat.v1.Event.FromString(raw.numpy())
        for v in event.summary.value:
            seen[(v.tag, event.step)] = v.simple_value
    steps = results.read_steps(run_with_lessons)
    for column, tag in (("lr_effective", "lr/effective"), ("lr_intended", "lr/intended"), ("loss", "loss"),
                        ("lr_reported", "lr/reported")):
        want = steps[column].to_numpy(dtype=np.float64)
        got = np.array([seen.get((tag, s), np.nan) for s in steps["step"]], dtype=np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-6)  # NaN (no number to show) is left out on both sides


def test_tensorboard_dir_unwritable_exits_2():
    proc = run_cli("run", "--profile", "quick", "--tensorboard", "/proc/version/tb", timeout=120)
    assert proc.returncode == 2 and "--tensorboard /proc/version/tb: not a writable folder" in proc.stderr
