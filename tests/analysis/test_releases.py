"""lr-bench report DIR DIR...: result folders of two versions side by side."""

import json
import shutil

import pandas as pd

from tests.conftest import run_cli


def test_versions_side_by_side_show_what_changed(tmp_path, small_run):
    old = tmp_path / "tf-old"
    shutil.copytree(small_run, old)
    meta = json.loads((old / "meta.json").read_text())
    meta["versions"]["keras3"]["tensorflow"] = "2.20.0"
    (old / "meta.json").write_text(json.dumps(meta))
    cells = pd.read_csv(old / "cells.csv")
    flip = (cells["scenario"] == "schedule-swap") & (cells["api"] == "loop")
    assert flip.sum() == 1
    cells.loc[flip, "verdict"] = "effective"  # as if the older release had honoured the swap
    cells.to_csv(old / "cells.csv", index=False)

    proc = run_cli("report", str(old), str(small_run), "--out", str(tmp_path / "VERSIONS.md"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "VERSIONS.md").read_text()
    assert "TF 2.20.0" in text and f"TF {json.loads((small_run / 'meta.json').read_text())['versions']['keras3']['tensorflow']}" in text
    assert "**1** of 10 cells differ" in text
    changed = text.split("## Cells whose behaviour differs")[1].split("## Cells that agree")[0]
    row = [l for l in changed.splitlines() if l.startswith("| schedule-swap")]
    assert len(row) == 1 and "✅ effective" in row[0] and "❌ ignored" in row[0]


def test_report_of_a_missing_folder_exits_2(tmp_path, small_run):
    proc = run_cli("report", str(small_run), str(tmp_path / "nope"), timeout=60)
    assert proc.returncode == 2 and "nope/cells.csv: no such file" in proc.stderr
