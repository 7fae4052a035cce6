"""A lesson page as a Jupyter notebook: the same text, its snippets as code cells.

Built from the rendered page rather than from the source, so the notebook and the page can never
drift apart: Markdown between the tagged Python blocks becomes Markdown cells, each block a code
cell tagged with its kind (setup, broken, fixed). Cells run top to bottom in one kernel.
"""

from __future__ import annotations

import nbformat

from bench.lessons.sources import _FENCE


def cells(page: str) -> list[tuple[str, str, str]]:
    """(cell type, kind, text) in page order; kind is '' for Markdown."""
    out, pos = [], 0
    for m in _FENCE.finditer(page):
        text = page[pos:m.start()].strip("\n")
        if text.strip():
            out.append(("markdown", "", text))
        out.append(("code", m.group(1), m.group(2).rstrip("\n")))
        pos = m.end()
    tail = page[pos:].strip("\n")
    if tail.strip():
        out.append(("markdown", "", tail))
    return out


def from_page(page: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, tag, text) in enumerate(cells(page)):
        # fixed ids: the same page gives a byte-identical notebook
        if kind == "code":
            cell = nbformat.v4.new_code_cell(text, id=f"cell-{i}", metadata={"tags": [tag]})
        else:
            cell = nbformat.v4.new_markdown_cell(text, id=f"cell-{i}")
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"
