from pathlib import Path

import pytest
from matplotlib.figure import Figure

from bench.lessons import legibility, pages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def committed_build(tmp_path_factory):
    """The lessons built once from the committed results: ({figure file name: (legibility problems,
    number of panel axes)}, folder), each figure checked right after the build saved it.
    test_pages compares the folder with the committed lessons byte for byte; test_figures reads
    the checks, so together they cover exactly the committed PNGs."""
    if not (ROOT / "results" / "cells.csv").is_file():
        pytest.skip("no committed results")
    found = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        name = Path(str(fname)).name.split(".")[1] if Path(str(fname)).name.startswith(".") else Path(str(fname)).stem
        saved = original(self, fname, *args, **kwargs)  # first: the check draws the figure again
        axes = [ax for ax in self.axes if ax.get_visible() and ax.has_data()]
        found[name] = (legibility.problems(self), len(axes))
        return saved

    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", savefig)
    try:
        out = tmp_path_factory.mktemp("committed-lessons")
        pages.build(ROOT / "results", out)
    finally:
        mp.undo()
    return found, out
