"""Which files to lint, and the Python inside them: ``.py`` files and fenced blocks in Markdown.

A Markdown file's ``python`` blocks are linted one at a time, each after the blocks before it
whose info string says ``setup`` (the lessons' convention: a setup block, then broken and fixed
snippets that each run after it). Lines are mapped back to the Markdown file. A notebook's code
cells are linted together, in order, and findings name the cell (counting every cell from 1, as
the notebook shows them) and the line within it; IPython magics (``%``, ``!``) are skipped.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", ".tox", "build", "dist", "node_modules", ".eggs",
             ".mypy_cache", ".pytest_cache", ".partial"}
SUFFIXES = (".py", ".md", ".ipynb")
_FENCE = re.compile(r"^(\s*)(```|~~~)\s*(python|py)\b([^\n]*)$")


@dataclass
class Unit:
    """Python source to analyse, and for each of its lines the line of the file it came from."""

    code: str
    lines: list[int]          # lines[i] = file line of code line i + 1 (in a notebook: line of its cell)
    own: set[int] | None      # file lines whose findings this unit reports (None: all)
    cells: list[int] | None = None  # notebooks: cells[i] = the cell of code line i + 1


def discover(paths: list[str], exclude: tuple[str, ...] = ()) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix in SUFFIXES and f.is_file() and not (set(f.relative_to(p).parts[:-1]) & SKIP_DIRS):
                    found.append(f)
        else:
            found.append(p)
    return [f for f in dict.fromkeys(found)
            if not any(fnmatch.fnmatch(f.as_posix(), pat) or fnmatch.fnmatch(f.name, pat) for pat in exclude)]


def units(path: Path, text: str) -> list[Unit]:
    if path.suffix == ".ipynb":
        return notebook_units(text)
    if path.suffix != ".md":
        n = text.count("\n") + 1
        return [Unit(text, list(range(1, n + 1)), set(range(1, n + 1)))]
    blocks = markdown_blocks(text)
    out, setup = [], []
    for info, start, body in blocks:
        lines = list(range(start, start + len(body)))
        if "setup" in info.split():
            setup.append((body, lines))
        code_lines, mapped = [], []
        for b, ls in setup if "setup" in info.split() else setup + [(body, lines)]:
            code_lines += b
            mapped += ls
        out.append(Unit("\n".join(code_lines) + "\n", mapped, set(lines) | {l for _, ls in setup for l in ls}))
    return out


def markdown_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """(info string, first code line, code lines) of each fenced Python block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(4).strip()
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        blocks.append((info, i + 2, body))
        i = j + 1
    return blocks


def notebook_units(text: str) -> list[Unit]:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return []
    code, lines, where = [], [], []
    for n, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        for i, line in enumerate(src.splitlines(), start=1):
            code.append("" if line.lstrip().startswith(("%", "!")) else line)
            lines.append(i)
            where.append(n)
    return [Unit("\n".join(code) + "\n", lines, None, where)] if code else []
