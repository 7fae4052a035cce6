"""How the monitor speaks: its exceptions, its warnings, and where the warnings point.

A warning points at the user's own line (the ``model.fit`` call, the loop's step), found by
walking out of this library, Keras and TensorFlow, so ``-W error::bench.watch.LRWatchWarning``
and warning filters by module work as they do for the user's own code. A mismatch is one
*episode*: one warning where it starts, one summary where it ends (or when training ends), not
one per step.
"""

from __future__ import annotations

import math
import os
import sys
import warnings


class LRMismatchError(AssertionError):
    """The effective learning rate differs from the reported or the expected one."""


class RetraceError(RuntimeError):
    """A guarded ``tf.function`` was traced more often than allowed."""


class LRWatchWarning(UserWarning):
    """Something the monitor saw about the learning rate: a no-op write, a step it cannot
    measure, weights that stopped being finite. Filter this class to silence them all."""


class LRMismatchWarning(LRWatchWarning):
    """The effective learning rate differs from the reported or the expected one."""


def _library_dirs() -> tuple[str, ...]:
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here]
    for name in ("keras", "tf_keras", "tensorflow", "absl", "contextlib", "functools"):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.abspath(path)) if name not in ("contextlib", "functools")
                        else os.path.abspath(path))
    return tuple(dirs)


def user_frame():
    """The innermost frame that is not in this library, Keras, TensorFlow or contextlib."""
    skip = _library_dirs()
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(skip) and not frame.f_code.co_filename.startswith("<frozen"):
            return frame
        frame = frame.f_back
    return None


def warn(message: str, category=LRWatchWarning) -> None:
    """``warnings.warn`` attributed to the user's line."""
    frame = user_frame()
    if frame is None:
        warnings.warn(message, category, stacklevel=2)
        return
    module = frame.f_globals.get("__name__", "__main__")
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, module=module,
                           registry=registry, module_globals=frame.f_globals)


def fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else "n/a"


class Episodes:
    """Mismatches grouped into runs of consecutive measured steps; one warning each way."""

    def __init__(self):
        self.open: dict | None = None   # the mismatch going on: first, last, count, worst

    def mismatch(self, rec: dict, message: str) -> None:
        if self.open is None:
            self.open = dict(first=rec["step"], last=rec["step"], count=1, effective=[rec["lr_effective"]],
                             reported=[rec["lr_reported"]], expected=[rec["lr_expected"]])
            warn(message + "; further mismatches are summarised when they stop", LRMismatchWarning)
            return
        ep = self.open
        ep["last"], ep["count"] = rec["step"], ep["count"] + 1
        for key in ("effective", "reported", "expected"):
            ep[key].append(rec["lr_" + key])

    def match(self, step: int) -> None:
        if self.open is not None:
            self.close(f"matched again at step {step}")

    def close(self, why: str) -> None:
        ep, self.open = self.open, None
        if ep is None:
            return

        def span(xs):
            xs = [x for x in xs if math.isfinite(x)]
            if not xs:
                return "n/a"
            lo, hi = min(xs), max(xs)
            return fmt(lo) if lo == hi else f"{fmt(lo)} to {fmt(hi)}"

        warn(f"steps {ep['first']}-{ep['last']}: the effective learning rate differed at {ep['count']} measured "
             f"step(s): effective {span(ep['effective'])}, reported {span(ep['reported'])}, expected "
             f"{span(ep['expected'])}; {why}", LRMismatchWarning)
