"""Multiworker cells: ``MultiWorkerMirroredStrategy`` over worker processes on this machine.

The worker that receives a multiworker cell (``bench.worker``) calls ``run_cell``: it picks free
ports on 127.0.0.1, starts one process of this module per replica with the ``TF_CONFIG`` that
names them all, sends each the cell and waits a bounded time for every answer. When one fails or
the time runs out, all of them are killed (each leads a process group of its own), and they die
with their parent in any case. Each process runs the cell under the strategy and measures the
effective LR from its own copy of the weights. The cell is worker 0's record, with the spread of
the effective LR across workers at every step: workers that disagree make the cell ``diverged``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from bench.procs import die_with_parent

#: Seconds every process of a cell may take, start-up included.
TIMEOUT = 900.0
#: Seconds a collective op waits for the other workers before it fails (a dead peer, a lost port).
COLLECTIVE_TIMEOUT = 120.0


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


def _error(row: dict, message: str) -> dict:
    return {"cell": dict(row, status="error", error=message[:500]), "steps": []}


def run_cell(spec: dict, row: dict, timeout: float = TIMEOUT) -> dict:
    """Run one cell over ``spec["replicas"]`` worker processes; always returns a result."""
    n = int(spec["replicas"])
    ports = free_ports(n)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "LR_BENCH_LOGICAL_CPUS")}
    procs = []
    try:
        for i in range(n):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "bench.multiworker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=sys.stderr, env=dict(env, TF_CONFIG=tf_config(ports, i)), text=True,
                start_new_session=True, preexec_fn=die_with_parent,
            ))
            procs[-1].killed_here = False
        replies: list[str | None] = [None] * n
        failed = threading.Event()

        def talk(i: int) -> None:
            try:
                out, _ = procs[i].communicate(json.dumps({"cell": spec}) + "\n", timeout=timeout)
                replies[i] = out
            except (subprocess.TimeoutExpired, OSError, ValueError):
                pass
            if procs[i].returncode != 0:
                failed.set()  # the others would wait for it until their collectives time out

        threads = [threading.Thread(target=talk, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + timeout
        while any(t.is_alive() for t in threads) and not failed.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        if any(t.is_alive() for t in threads):
            _kill(procs)
            for t in threads:
                t.join(10)
        results = []
        for out in replies:
            last = (out or "").strip().splitlines()[-1:] or [""]
            try:
                results.append(json.loads(last[0])["result"])
            except (ValueError, KeyError, TypeError):
                return _error(row, _failure(procs, timeout))
        return combine(spec, results)
    finally:
        _kill(procs)


def _failure(procs, timeout: float) -> str:
    """Why the cell has no result: the first process that ended on its own, or the time-out."""
    n = len(procs)
    for i, p in enumerate(procs):
        code = p.returncode
        if code is not None and code > 0:
            return f"multiworker process {i} of {n} exited with status {code} without a result; see the worker log"
        if code is not None and code < 0 and not p.killed_here:
            return f"multiworker process {i} of {n} died ({signal.Signals(-code).name}); see the worker log"
    return f"multiworker processes timed out after {timeout:g} s; all {n} were killed"


def _kill(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.killed_here = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def combine(spec: dict, results: list[dict]) -> dict:
    """Worker 0's record, with the effective LR's spread across every worker at every step."""
    from bench.verdict import spread
    from bench.worker import judge

    for i, r in enumerate(results):
        if r["cell"].get("status") != "ok":
            cell = dict(results[0]["cell"], status=r["cell"].get("status", "error"),
                        error=f"worker {i}: {r['cell'].get('error', '')}")
            return {"cell": cell, "steps": []}
    lrs: dict[tuple, list[float]] = {}
    for r in results:
        for s in r["steps"]:
            lrs.setdefault((s["repeat"], s["step"]), []).append(s["lr_effective"])
    chief = results[0]
    for s in chief["steps"]:
        s["lr_spread"] = max(s.get("lr_spread", 0.0), spread(lrs[(s["repeat"], s["step"])]))
    cell = dict(chief["cell"], **judge(spec, chief["steps"], chief["cell"].get("error", "")))
    return {"cell": cell, "steps": chief["steps"]}


def main() -> None:
    """One process of a multiworker cell: reads the cell, runs it, answers with its result."""
    from bench import worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = worker.protocol_stream()
    core = os.environ.get("LR_BENCH_CORE")
    import tensorflow as tf

    worker.configure(tf, core)
    # Created first: the strategy connects the workers before anything else runs in TensorFlow.
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT)
    cluster = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    info = worker.versions()
    msg = json.loads(sys.stdin.readline())
    result = worker.CellRunner(info["gpus"], cluster=cluster).run(msg["cell"])
    out.write(json.dumps({"result": result}, allow_nan=True) + "\n")
    out.flush()
    # Nothing is left to do; skip the interpreter's teardown of the collective runtime, which can
    # wait on peers that have already gone.
    os._exit(0)


if __name__ == "__main__":
    main()
