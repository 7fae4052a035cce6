"""``--fix``: apply the findings' edits to their files, last edit first so positions stay valid."""

from __future__ import annotations

from pathlib import Path


def apply(path: Path, findings) -> int:
    """Rewrite ``path`` with every edit the findings carry; returns how many findings were fixed."""
    edits = [(e, f) for f in findings for e in f.edits]
    if not edits:
        return 0
    lines = path.read_text().splitlines(keepends=True)
    done, last = set(), None
    for e, f in sorted(edits, key=lambda ef: (ef[0].line, ef[0].col), reverse=True):
        if last is not None and (e.end_line, e.end_col) > last:
            continue  # overlaps an edit already made: left for the next run
        head = lines[e.line - 1][:e.col]
        tail = lines[e.end_line - 1][e.end_col:]
        lines[e.line - 1:e.end_line] = [head + e.text + tail]
        last = (e.line, e.col)
        done.add(id(f))
    path.write_text("".join(lines))
    return len(done)
