"""Optimizers in pairs (``--cover pairs``, the quick profile's default): one optimizer per cell,
both along every axis of every scenario, the same cells whatever else the run selects; and the
gate compares such a run with a baseline of every optimizer (no TensorFlow)."""

import collections

import pytest

from bench import cli
from bench.core.config import Config
from bench.core.cover import covered_keys
from bench.runner.plan import plan
from tests.analysis.test_compare import META, _rows, gate, write_run

AXES = ("scenario", "flavour", "strategy", "api", "mode", "device")


def _keys(cfg: Config, gpus=True) -> set[tuple]:
    return {(*(getattr(c, a) for a in AXES), c.optimizer) for c in plan(cfg.resolved(), gpus=gpus)}


def test_pairs_run_each_cell_once_with_both_optimizers_along_every_axis():
    every = _keys(Config(profile="quick", cover="all"))
    pairs = _keys(Config(profile="quick"))
    assert pairs < every
    # every cell of the matrix once, with one optimizer
    assert collections.Counter(k[:-1] for k in pairs) == collections.Counter(set(k[:-1] for k in every))
    assert len(pairs) < 0.6 * len(every)
    # per scenario, every value of every other axis meets each optimizer that the value has at all
    for axis in AXES[1:]:
        i = AXES.index(axis)
        want, got = collections.defaultdict(set), collections.defaultdict(set)
        for k in every:
            want[(k[0], k[i])].add(k[-1])
        for k in pairs:
            got[(k[0], k[i])].add(k[-1])
        assert want == got, axis


def test_the_full_profile_and_cover_all_measure_every_optimizer():
    every = _keys(Config(profile="full"))
    assert every == _keys(Config(profile="quick", cover="all"))
    assert len(every) > len(_keys(Config(profile="quick")))
    assert _keys(Config(profile="full", cover="pairs")) == _keys(Config(profile="quick"))


def test_pairs_pick_the_same_cells_whatever_the_run_selects():
    pairs = _keys(Config(profile="quick"))
    some = _keys(Config(profile="quick", scenarios=("assign", "float-arg"), flavours=("tf_keras",), modes=("xla",)))
    assert some and some == {k for k in pairs if k[0] in ("assign", "float-arg") and k[1] == "tf_keras" and k[4] == "xla"}
    assert _keys(Config(profile="quick", optimizers=("sgd", "adam"))) == pairs
    shards = set().union(*(_keys(Config(profile="quick", shard=(k, 3))) for k in (1, 2, 3)))
    assert shards == pairs
    # one optimizer asked for: that one, in every cell it applies to
    only_sgd = _keys(Config(profile="quick", optimizers=("sgd",)))
    assert only_sgd == {k for k in _keys(Config(profile="quick", cover="all")) if k[-1] == "sgd"}


def test_cover_option_and_bad_value(capsys):
    assert cli.main(["run", "--cover", "most", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cover" in err and "'most'" in err and "all, pairs" in err


@pytest.mark.parametrize("cover, code", [("pairs", 0), ("all", 1)])
def test_gate_compares_a_pairs_run_with_a_baseline_of_every_optimizer(tmp_path, capsys, cover, code):
    base = write_run(tmp_path / "base", _rows())
    cells = {(r["scenario"], r["flavour"], r["strategy"], r["api"], r["mode"], r["device"], r["optimizer"]): r
             for r in _rows()}
    kept = covered_keys(cells, "pairs")
    assert len(kept) == len(cells) // 2
    current = write_run(tmp_path / "cur", [cells[k] for k in sorted(kept)],
                        {**META, "config": {**META["config"], "cover": cover}})
    got, out, _ = gate(capsys, base, current)
    assert got == code, out
    if cover == "pairs":
        assert f"{len(kept)} cells compared, 0 regression(s)" in out
        assert f"{len(cells) - len(kept)} baseline cells of the other optimizer are not compared" in out
    else:  # a run that claims every optimizer and lacks half of them regressed
        assert out.count("missing") == len(cells) - len(kept)
