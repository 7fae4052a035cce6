"""The release sweep's machinery on two releases and a tiny filter: TensorFlow 2.15 (Keras 2 as
``tf.keras``) and 2.21 (Keras 3), each in an environment ``uv`` makes (kept in the user's cache, so
a second session reuses them). The report must name what the two runs measured differently, and
the same sweep run again must measure nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bench import results
from bench.analysis import history
from bench.analysis.releases import discover

pytestmark = pytest.mark.slow

RELEASES = "tf-2.15,tf-2.21"
FILTER = ["--scenarios", "lr-alias,assign", "--apis", "loop", "--modes", "eager", "--optimizers", "sgd"]


def _sweep(out, timeout=1800):
    return subprocess.run([sys.executable, "-m", "bench", "sweep", "--releases", RELEASES, "--out", str(out), *FILTER],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    if shutil.which("uv") is None and not (shutil.which("uv", path=str(__import__("pathlib").Path(sys.executable).parent))):
        pytest.fail("uv is not installed; pip install -e .[test] installs it")
    out = tmp_path_factory.mktemp("releases")
    first = _sweep(out)
    assert first.returncode == 0, first.stderr[-3000:]
    return out, first


def test_each_release_ran_in_its_own_environment(swept):
    out, _ = swept
    releases = discover(out)
    assert [r.name for r in releases] == ["tf-2.15", "tf-2.21"]
    assert releases[0].tensorflow.startswith("2.15.") and releases[0].keras.startswith("2.15")
    assert releases[1].tensorflow.startswith("2.21.") and releases[1].keras.startswith("3.")
    old, new = (results.read_cells(r.folder) for r in releases)
    assert set(old["flavour"]) == {"tf_keras", "tf_keras_legacy"}  # no Keras 3 on TensorFlow 2.15
    assert set(new["flavour"]) == {"keras3", "tf_keras", "tf_keras_legacy"}
    assert (old["status"] == "ok").all() and (new["status"] == "ok").all()


def test_the_report_names_every_difference_it_measured(swept):
    out, _ = swept
    text = (out / history.RELEASES_MD).read_text()
    old, new = (results.read_cells(r.folder) for r in discover(out))
    for release, cells in (("2.15", old), ("2.21", new)):
        flavour = "tf_keras" if release == "2.15" else "keras3"  # what tf.keras is on that release
        c = cells[(cells["scenario"] == "lr-alias") & (cells["flavour"] == flavour)]
        (verdict,) = set(c["verdict"])
        word = "through" if release == "2.15" else "from"
        # the measured verdict of each release, as the tf.keras table states it
        assert any(line.startswith("| `lr-alias` |") and f"{verdict} {word} {release}" in line
                   for line in text.splitlines()), text[:3000]
    changed = history.cell_changes(old, new)
    for line in changed["verdict"]:
        assert line in text


def test_a_second_sweep_measures_nothing(swept):
    out, _ = swept
    before = {p.name: json.loads((p / results.META_JSON).read_text())["finished"] for p in out.iterdir() if p.is_dir()}
    again = _sweep(out, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("nothing to run") == 2, again.stdout
    after = {p.name: json.loads((p / results.META_JSON).read_text())["finished"] for p in out.iterdir() if p.is_dir()}
    assert after == before
