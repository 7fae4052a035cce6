"""Sharding: N shards merged equal the unsharded run; merge refuses what does not fit."""

import json
import shutil

import pytest

from bench import results
from bench.core.config import Config
from bench.runner.plan import plan
from tests.conftest import CORE, SMALL, run_cli
from tests.runner.test_reliability import same_measurements


@pytest.mark.parametrize("n", [2, 3, 7])
def test_shards_partition_the_matrix(n):
    cfg = Config(profile="quick").resolved()
    whole = {tuple(getattr(c, k) for k in ("scenario", "flavour", "api", "mode", "device", "optimizer")) for c in plan(cfg, gpus=True)}
    parts = [{tuple(getattr(c, k) for k in ("scenario", "flavour", "api", "mode", "device", "optimizer"))
              for c in plan(Config(profile="quick", shard=(k, n)).resolved(), gpus=True)} for k in range(1, n + 1)]
    assert set().union(*parts) == whole
    assert sum(len(p) for p in parts) == len(whole)
    assert all(parts)  # none empty at this size


def test_two_shards_merged_equal_the_unsharded_run(tmp_path, small_run):
    for k in (1, 2):
        proc = run_cli("run", *SMALL, "--scenarios", CORE, "--shard", f"{k}/2", "--out", str(tmp_path / f"s{k}"))
        assert proc.returncode == 0, proc.stderr
    assert 0 < len(results.read_cells(tmp_path / "s1")) < 10
    proc = run_cli("merge", str(tmp_path / "all"), str(tmp_path / "s1"), str(tmp_path / "s2"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    same_measurements(small_run, tmp_path / "all")
    assert (tmp_path / "all" / "TRUTH.md").is_file()
    # the merged meta spans both shards' runs
    metas = [results.read_meta(tmp_path / d) for d in ("s1", "s2", "all")]
    assert metas[2]["parts_wall_s"] == [metas[0]["wall_s"], metas[1]["wall_s"]]
    assert metas[2]["wall_s"] == pytest.approx(metas[0]["wall_s"] + metas[1]["wall_s"], abs=0.01)
    assert metas[2]["started"] == metas[0]["started"] and metas[2]["finished"] == metas[1]["finished"]

    # the same shard twice overlaps
    bad = run_cli("merge", str(tmp_path / "x"), str(tmp_path / "s1"), str(tmp_path / "s1"), timeout=60)
    assert bad.returncode == 2 and "overlap" in bad.stderr and bad.stderr.count("\n") == 1
    assert not (tmp_path / "x" / "cells.csv").exists()

    # a shard measured on another TensorFlow is refused, naming the folder
    shutil.copytree(tmp_path / "s2", tmp_path / "s2old")
    meta = json.loads((tmp_path / "s2old" / "meta.json").read_text())
    meta["versions"]["keras3"]["tensorflow"] = "2.20.0"
    (tmp_path / "s2old" / "meta.json").write_text(json.dumps(meta))
    bad = run_cli("merge", str(tmp_path / "y"), str(tmp_path / "s1"), str(tmp_path / "s2old"), timeout=60)
    assert bad.returncode == 2 and "s2old" in bad.stderr and "tensorflow=2.20.0" in bad.stderr


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "a/b", "2", "1/2/3"])
def test_bad_shard_exits_2(text):
    proc = run_cli("run", "--shard", text, timeout=60)
    assert proc.returncode == 2 and f"--shard {text}: expected K/N" in proc.stderr
    assert proc.stderr.count("\n") == 1
