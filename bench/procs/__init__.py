"""Child processes: they never outlive their parent (Linux), and their output is read line by line."""

from __future__ import annotations

import signal


def die_with_parent() -> None:
    """``preexec_fn`` for subprocesses: the child gets SIGKILL when its parent dies, even by
    ``kill -9``, so none is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def pump_lines(stream, lines, tag=None) -> None:
    """Put every line of a child's ``stream`` into the queue ``lines`` (as ``(tag, line)`` when a
    tag is given), then ``""`` once the stream ends; run in a thread, so that a reader can wait
    for a line with a timeout."""
    for line in stream:
        lines.put(line if tag is None else (tag, line))
    lines.put("" if tag is None else (tag, ""))
