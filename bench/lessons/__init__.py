"""The lessons, built from a results folder alone (no TensorFlow): pages, figures and notebooks.

``sources`` reads the lesson sources shipped in ``src/``; ``pages`` builds each page from its
source and the measured cells; ``plots`` draws the figures; ``notebooks`` turns a page into a
notebook.
"""

from bench.lessons.pages import build

__all__ = ["build"]
