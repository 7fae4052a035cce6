"""The time left is predicted per cell from the finished cells most like it."""

import pytest

from bench.results.protocol import CellSpec
from bench.runner.eta import Eta, format_seconds


def _spec(scenario, api, mode):
    return CellSpec(scenario, "keras3", "none", api, mode, "cpu", "adam", replicas=1, steps=10, repeats=1, warmup=2,
                    seed=0, batch_size=32, change_step=5)


def test_each_cell_is_predicted_from_the_most_similar_finished_cells():
    eta = Eta(workers=2)
    assert eta.remaining([_spec("static", "loop", "xla")]) is None  # nothing known yet: no guess
    eta.finished(_spec("float-arg", "loop", "xla"), 40.0)
    eta.finished(_spec("static", "loop", "xla"), 2.0)
    eta.finished(_spec("static", "loop", "eager"), 1.0)
    assert eta.predict(_spec("float-arg", "loop", "xla")) == 40.0   # the same scenario, api and mode
    assert eta.predict(_spec("assign", "loop", "xla")) == 21.0      # the same api and mode
    assert eta.predict(_spec("assign", "fit", "eager")) == 1.0      # the same mode
    assert eta.predict(_spec("assign", "fit", "function")) == pytest.approx(43 / 3)  # any cell
    # two workers share what is left; a single cell cannot be shared
    left = [_spec("float-arg", "loop", "xla"), _spec("static", "loop", "xla")]
    assert eta.remaining(left) == 21.0
    assert eta.remaining(left[:1]) == 40.0
    assert eta.remaining([]) == 0.0


def test_format():
    assert format_seconds(None) == "?"
    assert format_seconds(75) == "01:15"
    assert format_seconds(3725) == "1:02:05"
