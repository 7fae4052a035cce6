"""The lessons, built from a results folder alone (no TensorFlow): pages, figures, notebooks,
slides, the browsable truth table and the cheat sheet.

``sources`` reads the lesson sources shipped in ``src/``; ``pages`` builds each page from its
source and the measured cells, and everything else from the same rows; ``panels`` groups the cells
a figure draws alike into one panel; ``plots``, ``heatmap`` and ``titles`` draw and title the
figures, which ``legibility`` checks for a 1280×720 projector; ``notebooks`` and ``slides`` turn a
page into a notebook and a deck; ``site`` (with ``site_assets``) writes the truth-table site;
``cheatsheet`` the attendees' one page.
"""

from bench.lessons.pages import build

__all__ = ["build"]
