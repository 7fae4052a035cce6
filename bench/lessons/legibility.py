"""Whether a figure reads on a projector: no text under a legible size at 1280×720, no two texts
overlapping, no text cut off at the figure's edge.

The figure is scaled to fit a 1280×720 screen, as a projector shows it; a text's size there is its
point size times the pixels per inch of that scaling. Only visible, non-empty texts count.
"""

from __future__ import annotations

from itertools import combinations

from matplotlib.text import Text

SCREEN = (1280, 720)
#: The smallest text, in screen pixels at 1280×720, that the back of a room still reads.
MIN_PX = 14.0
#: Overlaps smaller than this many square pixels (antialiased glyph edges touching) are ignored.
SLACK_PX2 = 4.0


def drawn_texts(fig) -> list[Text]:
    """The texts a draw of the figure really paints (a tick outside the view keeps a label object
    that is never drawn), each once, after the draw placed them."""
    seen: dict[int, Text] = {}
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen.setdefault(id(self), self)

    Text.draw = draw
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return list(seen.values())


def problems(fig) -> list[str]:
    """Every legibility problem of a figure, one line each (empty: it reads)."""
    w, h = fig.get_size_inches()
    px_per_in = min(SCREEN[0] / w, SCREEN[1] / h)
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    out, boxes = [], []
    W, H = fig.bbox.width, fig.bbox.height
    for t in texts:
        label = repr(t.get_text()[:40])
        px = t.get_fontsize() / 72 * px_per_in
        if px < MIN_PX:
            out.append(f"{label}: {px:.1f} px at 1280×720, under {MIN_PX:g}")
        box = t.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > W + 1 or box.y1 > H + 1:
            out.append(f"{label}: cut off at the figure's edge")
        boxes.append((label, box))
    for (a, ba), (b, bb) in combinations(boxes, 2):
        dx = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        dy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if dx > 0 and dy > 0 and dx * dy > SLACK_PX2:
            out.append(f"{a} overlaps {b}")
    return out
