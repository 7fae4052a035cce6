"""Worker processes as the runner sees them: started lazily, fed cells, replaced after a crash
or a hang. A worker that dies or hangs costs only its current cell. No TensorFlow here: the
process it starts (``bench.measure.worker``) imports it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import die_with_parent, pump_lines
from bench.results import protocol
from bench.results.protocol import CellResult, CellSpec, failed
from bench.runner.plan import LOGICAL


@dataclass
class Worker:
    """One worker process; started lazily, replaced after a crash or a hang."""

    group: str
    core: int | None
    log: Path
    timeout: float | None = None  # seconds a cell may take
    proc: subprocess.Popen | None = None
    hello: dict = field(default_factory=dict)
    _lines: queue.Queue | None = None

    def start(self) -> dict:
        self.spawn()
        return self.wait_hello()

    def spawn(self) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        env.pop("TF_USE_LEGACY_KERAS", None)
        env.pop("LR_BENCH_LOGICAL_CPUS", None)
        base, _, cpus = self.group.partition(LOGICAL)
        if base == "legacy":
            env["TF_USE_LEGACY_KERAS"] = "1"
        if cpus:
            env["LR_BENCH_LOGICAL_CPUS"] = cpus
        env.pop("LR_BENCH_CORE", None)
        if self.core is not None:
            env["LR_BENCH_CORE"] = str(self.core)
            # One core: NumPy's BLAS threads (the probe's) would only spin on it beside TensorFlow.
            env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.measure.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, env=env, text=True, bufsize=1, preexec_fn=die_with_parent,
            )
        # A thread reads the replies, so waiting for one can time out.
        self._lines = queue.Queue()
        threading.Thread(target=pump_lines, args=(self.proc.stdout, self._lines), daemon=True).start()

    def wait_hello(self) -> dict:
        msg = self._read(timeout=300)
        if msg is None or msg[0] != "hello":
            self.kill()
            raise RuntimeError(f"a worker failed to start (TensorFlow import?); see {self.log}")
        self.hello = msg[1]
        return self.hello

    def _read(self, timeout: float | None) -> tuple[str, object] | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        return protocol.decode(line) if line else None

    def run(self, spec: CellSpec) -> CellResult:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(protocol.cell_line(spec))
            self.proc.stdin.flush()
            msg = self._read(self.timeout)
        except TimeoutError:
            self.kill()
            return failed(spec, f"timed out after {self.timeout:g} s (--cell-timeout); worker replaced")
        except (BrokenPipeError, OSError, ValueError):
            msg = None
        if msg is None:  # the process died inside the cell: only this cell is lost
            code = self.proc.wait()
            self.proc = None
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            return failed(spec, f"worker died ({how}) in this cell; see {self.log}")
        return msg[1]

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))
