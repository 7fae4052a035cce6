import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from bench.lessons import legibility, pages
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def committed_build(tmp_path_factory):
    """The lessons built once from the committed results: ({figure file name: (legibility problems,
    number of panel axes)}, folder), each figure checked right after the build saved it.
    test_pages compares the folder with the committed lessons byte for byte; test_figures reads
    the checks, so together they cover exactly the committed PNGs. Built once per session, in the
    folder the test processes share (``tests.conftest.shared``)."""
    if not (ROOT / "results" / "cells.csv").is_file():
        pytest.skip("no committed results")

    def make(folder):
        found = {}
        original = Figure.savefig

        def savefig(self, fname, *args, **kwargs):
            path = Path(str(fname))
            name = path.name.split(".")[1] if path.name.startswith(".") else path.stem
            saved = original(self, fname, *args, **kwargs)  # first: the check draws the figure again
            axes = [ax for ax in self.axes if ax.get_visible() and ax.has_data()]
            found[name] = (legibility.problems(self), len(axes))
            return saved

        mp = pytest.MonkeyPatch()
        mp.setattr(Figure, "savefig", savefig)
        try:
            pages.build(ROOT / "results", folder / "lessons")
        finally:
            mp.undo()
        (folder / "checks.json").write_text(json.dumps(found))

    folder = shared(tmp_path_factory, "committed-lessons", make)
    found = {name: tuple(check) for name, check in json.loads((folder / "checks.json").read_text()).items()}
    return found, folder / "lessons"
