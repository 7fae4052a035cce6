"""How many steps of a cell are paired with a reference step: every one, except eager cells of the
full profile, which pair two steps of every four (one of each order)."""

from __future__ import annotations

from types import SimpleNamespace

from bench import results
from bench.core.config import PROFILES
from bench.measure.passes import paired, ref_first
from tests.conftest import run_cli

STEPS = 12  # full profile: warm-up min(5, 12 // 4) = 3, so steps 4..11 are steady


def test_pairing_every_other_step_keeps_both_orders():
    ctx = SimpleNamespace(pair_every=2)
    chosen = [s for s in range(16) if paired(ctx, s)]
    assert chosen == [0, 1, 4, 5, 8, 9, 12, 13]
    assert [ref_first(s) for s in chosen] == [True, False] * 4  # as many before the step as after
    assert all(paired(SimpleNamespace(pair_every=1), s) for s in range(16))


def test_full_profile_eager_cells_pair_every_other_step_and_compiled_cells_every_step(tmp_path):
    proc = run_cli("run", "--profile", "full", "--steps", str(STEPS), "--flavours", "keras3", "--devices", "cpu",
                   "--scenarios", "static", "--optimizers", "sgd", "--modes", "eager,function", "--workers", "1",
                   "--out", str(tmp_path), "--no-lessons")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = results.read_cells(tmp_path).set_index(["api", "mode"])
    assert PROFILES["full"].eager_pair_every == 2
    for api in ("loop", "fit"):
        eager, function = cells.loc[(api, "eager")], cells.loc[(api, "function")]
        assert int(function.step_ratio_n) == len(range(1 + 3, STEPS))  # every steady step: 4..11
        assert int(eager.step_ratio_n) == 4  # steps 4, 5, 8 and 9
        assert eager.step_ratio > 0 and function.step_ratio > 0
