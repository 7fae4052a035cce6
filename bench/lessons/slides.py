"""A lesson page as a slide deck: question → vote → broken → fixed → evidence → why.

Built from the rendered page (like the notebook), so slides, page and notebook say the same thing.
Each deck is one self-contained HTML file in ``<lessons>/slides/`` that opens from disk: its style
and its few lines of keyboard navigation are inline, its images are the lesson's figures, and
nothing is fetched from the network. Keys: → / space / PageDown next, ← / PageUp back, Home / End;
the slide number is kept in the address (``#3``), and printing gives one slide per page.
"""

from __future__ import annotations

import html
import re

from bench.lessons import notebooks

SLIDES = "slides"
EVIDENCE_HEADING = "## What the bench measured"
WHY_HEADING = "## Why"
_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]+\)$", re.M)

STYLE = """
html, body { margin: 0; height: 100%; background: #222; font-family: system-ui, sans-serif; }
section { display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 3vh 5vw;
          background: #fff; overflow: auto; font-size: 2.6vh; line-height: 1.35; }
section.current { display: block; }
h1 { font-size: 5.5vh; } h2 { font-size: 4.5vh; margin: 0 0 2vh; }
.kind-broken h2 { color: #D55E00; } .kind-fixed h2 { color: #0072B2; }
pre { background: #f4f4f4; padding: 1.5vh 1.5vw; font-size: 2.3vh; overflow: auto; }
img { display: block; max-width: 100%; max-height: 78vh; margin: 0 auto; }
section.figure { padding: 1vh 2vw; } section.figure h2 { font-size: 3vh; margin: 0; }
section.figure img { max-height: 92vh; }
#counter { position: fixed; right: 1.5vw; bottom: 1vh; color: #777; font-size: 2vh; }
@media print { section { display: block; page-break-after: always; height: auto; } #counter { display: none; } }
"""

SCRIPT = r"""
"use strict";
const slides = [...document.querySelectorAll("section")];
let current = 0;
function show(i) {
  current = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle("current", k === current));
  document.getElementById("counter").textContent = (current + 1) + " / " + slides.length;
  history.replaceState(null, "", "#" + (current + 1));
}
document.addEventListener("keydown", (e) => {
  if (["ArrowRight", "PageDown", " "].includes(e.key)) { show(current + 1); e.preventDefault(); }
  if (["ArrowLeft", "PageUp"].includes(e.key)) { show(current - 1); e.preventDefault(); }
  if (e.key === "Home") show(0);
  if (e.key === "End") show(slides.length - 1);
});
document.addEventListener("click", (e) => { if (e.target.tagName !== "A") show(current + (e.clientX > innerWidth / 3 ? 1 : -1)); });
show((parseInt(location.hash.slice(1), 10) || 1) - 1);
"""


def _render(markdown: str) -> str:
    from markdown_it import MarkdownIt

    # the deck sits one folder below the page: its figures are one level up
    return MarkdownIt("commonmark").enable("table").render(markdown.replace("](figures/", "](../figures/"))


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not p.strip().startswith("<!--")]


def _slide(heading: str, body_html: str, kind: str = "") -> tuple[str, str, str]:
    return heading, body_html, kind


def outline(page: str) -> list[tuple[str, str, str]]:
    """(heading, body HTML, kind) per slide of a page."""
    head, _, rest = page.partition(EVIDENCE_HEADING)
    evidence, _, why = rest.partition(WHY_HEADING)
    title = head.splitlines()[0].lstrip("# ").strip()
    chunks = notebooks.cells(head.split("\n", 1)[1])
    question = next((p for kind, _, t in chunks if kind == "markdown" for p in _paragraphs(t)), "")
    out = [_slide(title, _render(question), "question"),
           _slide("Vote", _render(question) + "<p><strong>Hands up for each answer before anything runs.</strong></p>",
                  "vote")]
    lead = ""
    for kind, tag, text in chunks:
        if kind == "markdown":
            paras = _paragraphs(text)
            lead = paras[-1] if paras else ""
        elif tag in ("broken", "fixed"):
            code = f"<pre><code>{html.escape(text)}</code></pre>"
            out.append(_slide(tag.capitalize(), _render(lead) + code, tag))
            lead = ""
    for image in _IMAGE.findall(evidence):
        if "-loss" in image:
            continue  # the page has the loss; the deck keeps the LR and the timing
        alt = image[2:image.index("](")]
        out.append(_slide("Evidence", _render(image).replace(f"<p>{html.escape(alt)}</p>", ""), "figure"))
    findings = evidence.split("Findings over every measured cell", 1)
    if len(findings) == 2:
        bullets = "\n".join(line for line in findings[1].splitlines() if line.startswith("- "))
        out.append(_slide("Evidence: every cell measured", _render(bullets), "findings"))
    if why.strip():
        out.append(_slide("Why", _render(why.strip()), "why"))
    return out


def deck(page: str) -> str:
    """The whole deck of a page as one HTML file."""
    slides = outline(page)
    title = html.escape(slides[0][0].replace("`", ""))
    sections = []
    for i, (heading, body, kind) in enumerate(slides):
        tag = "h1" if i == 0 else "h2"
        heading_html = _render(heading).strip().removeprefix("<p>").removesuffix("</p>")
        sections.append(f'<section class="kind-{kind}{" figure" if kind == "figure" else ""}" id="s{i + 1}">'
                        f"<{tag}>{heading_html}</{tag}>\n{body}</section>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(sections)
            + f'\n<div id="counter"></div>\n<script>{SCRIPT}</script>\n</body></html>\n')
