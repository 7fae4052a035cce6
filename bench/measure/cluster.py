"""Multiworker cells: ``MultiWorkerMirroredStrategy`` over worker processes on this machine.

The worker that receives a multiworker cell (``bench.measure.cells``) calls ``run_cell``. The first time,
it starts one process of ``bench.measure.cluster_worker`` per replica with the ``TF_CONFIG`` that names them all, inside
a private network namespace (``bench.procs.netns``): TensorFlow's servers listen on every interface of
their namespace, and that namespace has only its own loopback. Only a run given
``--allow-exposed-ports`` on a machine without namespaces starts them in the machine's own network,
on free ports of 127.0.0.1. The processes are kept for the cells that follow. Each cell is
sent to every process, and every answer is awaited a bounded time. When one process ends or the
time runs out, all of them are killed (each leads a process group of its own) and the next cell
starts new ones; they die with their parent in any case. Each process runs the cell under the
strategy and measures the effective LR from its own copy of the weights. The cell is worker 0's
record, with the spread of the effective LR across workers at every step: workers that disagree
make the cell ``diverged``. No TensorFlow in this module: it only starts and reads processes.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

from bench.core.verdicts import judge, spread
from bench.procs import die_with_parent, netns, pump_lines
from bench.results import protocol
from bench.results.protocol import CellResult, CellSpec, failed

#: Seconds every process may take over one cell, start-up included.
TIMEOUT = 900.0
#: Seconds a collective op waits for the other workers before it fails (a dead peer, a lost port).
COLLECTIVE_TIMEOUT = 120.0
#: The first port of a cluster in its private namespace, where every port is free.
PRIVATE_PORT = 20000


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 right now (held open together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


class Cluster:
    """The processes of one multiworker strategy, kept for the cells that follow: starting them
    (TensorFlow's import, the strategy's connection) costs more than a quick cell."""

    def __init__(self, n: int, network: str):
        self.n, self.network = n, network
        if network == netns.PRIVATE:
            self.namespace = netns.Namespace()
            ports, preexec = list(range(PRIVATE_PORT, PRIVATE_PORT + n)), self.namespace.preexec
        else:  # opted in: the servers listen on every interface of this machine
            self.namespace = None
            ports, preexec = free_ports(n), die_with_parent
        env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "LR_BENCH_LOGICAL_CPUS")}
        self.procs: list[subprocess.Popen] = []
        self.lines: queue.Queue = queue.Queue()  # (process index, line); "" when its output ends
        self.killed = False
        for i in range(n):
            p = subprocess.Popen(
                [sys.executable, "-m", "bench.measure.cluster_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=sys.stderr, env=dict(env, TF_CONFIG=tf_config(ports, i)), text=True, bufsize=1,
                start_new_session=True, preexec_fn=preexec,
            )
            self.procs.append(p)
            threading.Thread(target=pump_lines, args=(p.stdout, self.lines, i), daemon=True).start()

    def alive(self) -> bool:
        return not self.killed and all(p.poll() is None for p in self.procs)

    def run(self, spec: CellSpec, timeout: float) -> CellResult:
        """Send the cell to every process and wait for every answer; on any failure, kill them all."""
        try:
            for p in self.procs:
                p.stdin.write(protocol.cell_line(spec))
                p.stdin.flush()
        except OSError:
            pass  # a process is gone: its reader reports the end of its stream
        deadline = time.monotonic() + timeout
        replies: list[CellResult | None] = [None] * self.n
        while any(r is None for r in replies):
            try:
                i, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                return failed(spec, f"multiworker processes timed out after {timeout:g} s; all {self.n} were killed")
            if not line:  # one process ended: the others would wait on it in their collectives
                self.kill()
                return failed(spec, self._death(i))
            replies[i] = protocol.decode(line)[1]
        if not all(r.ok for r in replies):
            self.kill()  # a failed collective can leave the strategy unusable: start afresh next time
        return combine(spec, replies)

    def _death(self, i: int) -> str:
        p = self.procs[i]
        try:
            code = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        how = (f"exited with status {code}" if code is not None and code >= 0 else
               f"died ({signal.Signals(-code).name})" if code is not None else "closed its output")
        return f"multiworker process {i} of {self.n} {how} without a result; the others were killed; see the worker log"

    def kill(self) -> None:
        self.killed = True
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.namespace is not None:
            self.namespace.close()


_cluster: Cluster | None = None


def run_cell(spec: CellSpec, timeout: float = TIMEOUT) -> CellResult:
    """Run one cell over ``spec.replicas`` worker processes; always returns a result."""
    global _cluster
    n, network = int(spec.replicas), spec.network
    if _cluster is None or (_cluster.n, _cluster.network) != (n, network) or not _cluster.alive():
        if _cluster is not None:
            _cluster.kill()
        _cluster = Cluster(n, network)
    return _cluster.run(spec, timeout)


def shutdown() -> None:
    if _cluster is not None:
        _cluster.kill()


def combine(spec: CellSpec, results: list[CellResult]) -> CellResult:
    """Worker 0's record, with the effective LR's spread across every worker at every step."""
    for i, r in enumerate(results):
        if not r.ok:
            return failed(results[0].cell, f"worker {i}: {r.cell.get('error', '')}", r.cell.get("status", "error"))
    lrs: dict[tuple, list[float]] = {}
    for r in results:
        for s in r.steps:
            lrs.setdefault((s["repeat"], s["step"]), []).append(s["lr_effective"])
    chief = results[0]
    for s in chief.steps:
        s["lr_spread"] = max(s["lr_spread"], spread(lrs[(s["repeat"], s["step"])]))
    cell = dict(chief.cell, **judge(spec.change_step, chief.steps, chief.cell.get("error", "")))
    return CellResult(cell, chief.steps)
