"""Child processes that never outlive their parent (Linux)."""

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
