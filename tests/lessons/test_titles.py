"""The timing caption of a lesson's figure: what it says about ratios near the bare step and about
retraces, which a median over the steady steps leaves out."""

import pandas as pd

from bench.lessons import titles
from bench.lessons.plots import Selection


def _cells(ratios, traces=None, retrace_s=None):
    n = len(ratios)
    return pd.DataFrame(dict(
        scenario=["s"] * n, flavour=[f"f{i}" for i in range(n)], api=["loop"] * n, mode=["function"] * n,
        optimizer=["sgd"] * n, device=["cpu"] * n, status=["ok"] * n, step_ratio=ratios,
        traces=traces or [1] * n, retrace_s=retrace_s or [0.0] * n))


def _sel(cells):
    return Selection(("s",), "sgd", "cpu", tuple((r.scenario, r.flavour, r.api) for r in cells.itertuples()))


def _caption(cells):
    return " ".join(titles.timing_title(cells, _sel(cells)).split())


def test_cells_near_the_bare_step_are_counted_as_timing_noise():
    cells = _cells([1.02, 1.10, 1.90])
    assert _caption(cells) == ("Slowest: s (f2) in function at ×1.90 the bare static step (1 trace); 2 of 3 cells "
                               "shown cost at most 25% more than the bare step, which is timing noise")


def test_when_no_cell_is_near_the_bare_step_the_caption_says_so():
    assert _caption(_cells([1.5, 1.9])).endswith("none of the 2 cells shown is within 25% of the bare step")


def test_the_costliest_retraces_are_named_apart_from_the_ratios():
    cells = _cells([1.1, 1.2], traces=[6, 2], retrace_s=[3.18, 0.5])
    assert _caption(cells).endswith("Retraces are not in these ratios: s (f0) in function spent 3.18 s more in its "
                                    "retraced steps than in as many others")
