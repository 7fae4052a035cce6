"""Lint a file: analyse it, run the selected rules, cite what was measured, honour ``# noqa``."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.lint import evidence, sources
from bench.lint.analysis import Analysis
from bench.lint.rules import REGISTRY, Edit

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
PARSE_ERROR = "LR000"


@dataclass
class Finding:
    path: str
    line: int
    col: int                  # 1-based, as linters print it
    end_line: int
    end_col: int
    code: str
    message: str
    severity: str = "warning"  # "info": fine on the target, shown with --all
    scenario: str = ""
    measured: dict = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    cell: int | None = None    # notebooks: the cell, counting every cell from 1 (line is within it)

    @property
    def rule(self) -> str:
        r = REGISTRY.get(self.code)
        return r.name if r else "parse-error"


def noqa_codes(line: str) -> set[str] | None:
    """None: no noqa; empty set: a bare noqa (everything); else the codes named."""
    m = _NOQA.search(line)
    if not m:
        return None
    return {c.upper() for c in re.split(r"[\s,]+", m.group("codes") or "") if c}


def lint_text(text: str, path: str, target: str, codes: tuple[str, ...], show_all: bool = False,
              evidence_path: str | None = None) -> list[Finding]:
    found: dict[tuple, Finding] = {}
    for unit in sources.units(Path(path), text):
        for f in _lint_unit(unit, path, target, codes, show_all, evidence_path):
            found.setdefault((f.cell or 0, f.line, f.col, f.code), f)
    return [found[k] for k in sorted(found)]


def _suppressed(code: str, line: str) -> bool:
    sup = noqa_codes(line)
    return sup is not None and code != PARSE_ERROR and (not sup or code in sup)


def _lint_unit(unit, path, target, codes, show_all, evidence_path):
    def file_line(n: int) -> int:
        return unit.lines[n - 1] if 0 < n <= len(unit.lines) else n

    try:
        tree = ast.parse(unit.code)
    except SyntaxError as e:
        line = file_line(e.lineno or 1)
        # A Markdown block may be a fragment (`...`, a signature): only a .py file must parse.
        if (unit.own is None or line in unit.own) and path.endswith(".py"):
            yield Finding(path, line, (e.offset or 1), line, (e.offset or 1), PARSE_ERROR,
                          f"could not parse: {e.msg}", severity="error")
        return
    a = Analysis(tree)
    code_lines = unit.code.splitlines()

    def char_line(n: int) -> str:
        return code_lines[n - 1] if 0 < n <= len(code_lines) else ""

    def char(n: int, col: int) -> int:  # ast columns count UTF-8 bytes; editors count characters
        return len(char_line(n).encode()[:col].decode(errors="ignore"))

    for code in codes:
        rule = REGISTRY[code]
        for hit in rule.check(a, target):
            n = hit.line or hit.node.lineno
            line = file_line(n)
            if unit.own is not None and line not in unit.own or _suppressed(code, char_line(n)):
                continue
            c = evidence.cite(hit.scenario, target, hit.modes, hit.apis, path=evidence_path)
            concern = rule.concern(c) if c.measured else True
            if not concern and not show_all:
                continue
            edits = []
            safe = all(evidence.cite(s, target, path=evidence_path).fine() for s in hit.fix_needs)
            if concern and hit.edits and unit.cells is None and safe:  # notebooks are not rewritten
                edits = [Edit(file_line(e.line), char(e.line, e.col), file_line(e.end_line), char(e.end_line, e.end_col),
                              e.text) for e in hit.edits]
            col = char(n, hit.col if hit.col is not None else hit.node.col_offset) + 1
            end_n = getattr(hit.node, "end_lineno", None) or n
            end_line = file_line(end_n)
            end_col = char(end_n, getattr(hit.node, "end_col_offset", None) or 0) + 1
            yield Finding(path, line, col, end_line, end_col, code, f"{hit.what}: {c.text()}{rule.detail(c)}",
                          severity="warning" if concern else "info", scenario=hit.scenario,
                          measured={"verdicts": dict(c.counts), "cells": c.total, "versions": c.versions,
                                    "flavour": target, "modes": list(c.modes)},
                          edits=edits, cell=unit.cells[n - 1] if unit.cells and 0 < n <= len(unit.cells) else None)
