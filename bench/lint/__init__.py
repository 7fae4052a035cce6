"""``lr-bench lint``: the measured learning-rate pitfalls, found in source before it trains.

Nothing here imports TensorFlow: the source is read with ``ast``, and every finding cites the
verdicts the bench measured for that pattern, from ``measured.json`` shipped beside this file.
Modules: ``aliases`` (import spellings), ``analysis`` (one ordered pass over a module),
``rules`` (one small rule per pitfall, registered on import), ``evidence`` (the measured
verdicts), ``engine`` (rules + evidence + ``# noqa``), ``sources`` (files, Markdown blocks),
``config``, ``formats``, ``fix``, ``docs``, ``cli``.
"""

from bench.lint.engine import Finding, lint_text
from bench.lint.rules import REGISTRY

__all__ = ["REGISTRY", "Finding", "lint_text"]
