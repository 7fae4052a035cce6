"""Lesson sources: one Markdown file per lesson in ``bench/lessons/src/`` (package data, so an
installed bench finds them), read without TensorFlow.

A source is front matter (``title``, ``scenarios``) and a Markdown body. The body carries the
question, the snippets and the why; the line ``<!-- evidence -->`` marks where the page gets the
measured evidence. Snippets are fenced blocks tagged ``python setup``, ``python broken`` or
``python fixed``: pages and notebooks copy them verbatim, and the tests run each broken and fixed
block after the lesson's setup, so the snippet a workshop shows is the snippet that was checked.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from bench.core import verdicts

SOURCES = Path(__file__).resolve().parent / "src"
EVIDENCE = "<!-- evidence -->"
KINDS = ("setup", "broken", "fixed")
#: the ``scenarios`` entry that selects every scenario with a misreported cell
MISREPORTED = verdicts.MISREPORTED

_FENCE = re.compile(r"^```python[ \t]+(\w+)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


class SourceError(ValueError):
    """A lesson source that does not follow the format above."""


@dataclass(frozen=True)
class Snippet:
    kind: str  # setup | broken | fixed
    code: str


@dataclass(frozen=True)
class Lesson:
    slug: str                   # the file name without .md, e.g. "01-equals"
    title: str
    scenarios: tuple[str, ...]  # ids or fnmatch patterns, or MISREPORTED
    body: str                   # Markdown, with the EVIDENCE marker

    @property
    def snippets(self) -> list[Snippet]:
        return snippets(self.body)

    @property
    def setup(self) -> str:
        return "\n".join(s.code for s in self.snippets if s.kind == "setup")

    def matches(self, scenario_ids) -> list[str]:
        """The scenario ids, of those given, that this lesson is about (in the order given)."""
        return [s for s in scenario_ids if any(matching(p, [s]) for p in self.scenarios)]


def matching(pattern: str, scenario_ids) -> list[str]:
    """The ids that an id or fnmatch pattern of a lesson's ``scenarios`` selects."""
    return [s for s in scenario_ids if fnmatch.fnmatchcase(s, pattern)]


def snippets(markdown: str) -> list[Snippet]:
    """Every tagged Python block of a Markdown text, in order."""
    out = []
    for m in _FENCE.finditer(markdown):
        if m.group(1) not in KINDS:
            raise SourceError(f"code block tagged {m.group(1)!r}; expected one of {', '.join(KINDS)}")
        out.append(Snippet(m.group(1), m.group(2)))
    return out


def parse(path: Path) -> Lesson:
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise SourceError(f"{path}: no front matter; expected '---', 'title: ...', 'scenarios: ...', '---'")
    head, body = text[4:].split("\n---\n", 1)
    meta = {}
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip().strip("'\"")
    missing = [k for k in ("title", "scenarios") if not meta.get(k)]
    if missing:
        raise SourceError(f"{path}: front matter lacks {', '.join(missing)}")
    if body.count(EVIDENCE) != 1:
        raise SourceError(f"{path}: needs exactly one {EVIDENCE!r} line")
    lesson = Lesson(Path(path).stem, meta["title"], tuple(s.strip() for s in meta["scenarios"].split(",") if s.strip()),
                    body.strip("\n") + "\n")
    kinds = {s.kind for s in lesson.snippets}
    if not {"broken", "fixed"} <= kinds:
        raise SourceError(f"{path}: needs at least one 'python broken' and one 'python fixed' block")
    return lesson


def load(folder: Path = SOURCES) -> list[Lesson]:
    paths = sorted(Path(folder).glob("*.md"))
    if not paths:
        raise SourceError(f"{folder}: no lesson sources (*.md)")
    return [parse(p) for p in paths]
