"""The lessons' snippets through the linter: every broken snippet is flagged, no fixed one is.

Each snippet is linted after its lesson's setup block, as the lesson runs it, against Keras 3 (the
Keras the snippets run on), with the default rules plus any rule whose scenario the lesson
teaches (so the opt-in LR012 runs on the lesson about schedules that do not restart).
"""

import re
from pathlib import Path

import pytest

from bench.lint import lint_text, sources
from bench.lint.config import Options
from bench.lint.rules import REGISTRY

LESSONS = sorted((Path(__file__).parents[2] / "bench" / "lessons" / "src").glob("*.md"))


def _scenarios(text: str) -> set[str]:
    m = re.search(r"^scenarios:\s*(.+)$", text, re.M)
    return {s.strip().rstrip("*") for s in m.group(1).split(",")} if m else set()


def _codes(taught: set[str]) -> tuple[str, ...]:
    return tuple(sorted(set(Options().codes()) | {c for c, r in REGISTRY.items() if taught & set(r.scenarios)}))


def _snippets(kind: str):
    for lesson in LESSONS:
        text = lesson.read_text()
        blocks = sources.markdown_blocks(text)
        setup = [b for info, _, b in blocks if "setup" in info.split()]
        for i, (info, _, body) in enumerate(b for b in blocks if kind in b[0].split()):
            yield pytest.param(lesson, "\n".join(sum(setup, []) + body) + "\n", _scenarios(text),
                               id=f"{lesson.stem}-{kind}{i}")


def test_the_lessons_have_snippets_of_both_kinds():
    assert LESSONS and len(list(_snippets("broken"))) >= len(LESSONS)
    assert len(list(_snippets("fixed"))) >= len(LESSONS)


@pytest.mark.parametrize("lesson,code,taught", list(_snippets("broken")))
def test_broken_snippet_is_flagged(lesson, code, taught):
    found = lint_text(code, "snippet.py", "keras3", _codes(taught))
    assert found, f"{lesson.name}: nothing flagged in\n{code}"
    measured = {f.scenario for f in found}
    assert measured & taught or taught == {"misreported"}, (lesson.name, measured, taught)


@pytest.mark.parametrize("lesson,code,taught", list(_snippets("fixed")))
def test_fixed_snippet_is_not_flagged(lesson, code, taught):
    found = lint_text(code, "snippet.py", "keras3", _codes(taught))
    assert found == [], f"{lesson.name}: " + "; ".join(f"{f.line}: {f.code} {f.message}" for f in found)


def test_the_print_lesson_is_flagged_at_the_swap_its_setup_makes():
    lesson = next(p for p in LESSONS if p.stem.startswith("07"))
    found = lint_text(lesson.read_text(), str(lesson), "keras3", Options().codes())
    lines = lesson.read_text().splitlines()
    assert [(f.code, lines[f.line - 1].strip()[:22]) for f in found] == [("LR003", "opt.learning_rate = ne")]
