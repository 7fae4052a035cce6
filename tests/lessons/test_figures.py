"""Every lesson figure, as built from the committed results, reads on a 1280×720 projector: no
text under the legible size, no two texts overlapping, none cut off; and no LR figure holds more
than ``panels.PER_FIGURE`` panels. The figures are checked as the build draws them (each one right
after it is saved), so the check covers exactly the committed PNGs, which
test_pages.test_committed_lessons_are_built_from_committed_results keeps equal to that same build
(``committed_build`` in conftest.py).
"""

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from bench.lessons import legibility, panels, plots

ROOT = Path(__file__).resolve().parents[2]


def test_every_committed_figure_was_checked(committed_build):
    found, _ = committed_build
    committed = {p.stem for p in (ROOT / "lessons" / "figures").glob("*.png")}
    assert committed and committed <= set(found), sorted(committed - set(found))


def test_no_text_is_too_small_overlapping_or_cut_off(committed_build):
    found, _ = committed_build
    bad = {name: probs for name, (probs, _) in found.items() if probs}
    assert not bad, "\n".join(f"{n}: {'; '.join(p[:5])}" for n, p in sorted(bad.items()))


def test_lr_figures_hold_at_most_six_panels(committed_build):
    found, _ = committed_build
    counts = {name: n for name, (_, n) in found.items() if name.split("-lr")[0] != name and "-lr" in name}
    assert counts and max(counts.values()) <= panels.PER_FIGURE, counts
    assert counts["01-equals-lr"] <= 6


def test_the_checker_catches_overlap_small_type_and_clipping():
    # In the lessons' own theme, as a build draws them: matplotlib's default one puts both axes'
    # "0.0" at the origin, over each other, and a process that has not built lessons has it.
    plots.theme()
    fig, ax = plt.subplots(figsize=(16, 9))
    ax.text(0.5, 0.5, "one label", fontsize=20)
    ax.text(0.5, 0.5, "another label", fontsize=20)
    ax.text(0.1, 0.1, "tiny", fontsize=6)
    fig.text(0.99, 0.5, "falls off the right edge", fontsize=20)
    found = legibility.problems(fig)
    plt.close(fig)
    assert any("overlaps" in p for p in found) and any("tiny" in p and "px" in p for p in found)
    assert any("cut off" in p for p in found)
    fig, ax = plt.subplots(figsize=(16, 9))
    ax.set_title("alone", fontsize=20)
    ax.set_xlim(0, 1), ax.tick_params(labelsize=16)
    assert legibility.problems(fig) == []
    plt.close(fig)


def test_small_type_is_judged_at_projector_scale():
    # 13 pt is legible on a 16×9 inch figure shown at 1280×720, not on one four times as wide
    for width, ok in ((16, True), (64, False)):
        fig = plt.figure(figsize=(width, 9))
        fig.text(0.3, 0.5, "label", fontsize=13)
        assert (legibility.problems(fig) == []) is ok, width
        plt.close(fig)


matplotlib.use("Agg")
