"""Every built-in optimizer of every flavour, with clipping, weight decay, EMA, gradient
accumulation, loss scaling and a user's subclass, trains to the end under
EffectiveLRMonitor(on_mismatch="warn"): each is measured to within rtol of the LR assigned before
each step, or named once as not measurable. The README's table says the same as this run."""

import re
from pathlib import Path

import pytest

import tensorflow  # noqa: E402,F401  required: a broken install fails here, not skips
import tf_keras  # noqa: E402,F401  required: a broken install fails here, not skips

from tests.watch.corpus import optimizer_table  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module", params=optimizer_table.FLAVOURS)
def flavour_run(request):
    return request.param, optimizer_table.run(request.param)


@pytest.mark.slow
def test_every_optimizer_trains_on_and_is_measured_or_named(flavour_run):
    flavour, rows = flavour_run
    assert len(rows) >= 15
    for name, row in rows.items():
        assert row["completed"], (flavour, name, row.get("error"))
        if row["notes"]:  # not measurable: said once, and nothing else said
            assert len(row["notes"]) == 1 and row["notes"][0].startswith("not measurable: "), (flavour, name, row)
            assert row["warnings"] == 1 and row["measured"] == [], (flavour, name, row)
        else:  # measured at every step that applied an update, within rtol, without a warning
            assert row["warnings"] == 0, (flavour, name, row)
            assert len(row["measured"]) == len(set(row["measured"])) >= 4, (flavour, name, row)
            assert row["max_error"] < 1e-3, (flavour, name, row)


@pytest.mark.slow
def test_readme_table_says_what_the_run_measured(flavour_run):
    flavour, rows = flavour_run
    column = 1 + optimizer_table.FLAVOURS.index(flavour)
    text = README.read_text(encoding="utf-8")
    documented = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in rows:
            documented[cells[0]] = re.split(r",", cells[column])[0]
    assert set(documented) == set(rows)
    assert documented == {name: optimizer_table.verdict(row) for name, row in rows.items()}
