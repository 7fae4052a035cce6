"""The matrix runner: plans the cells, feeds them to worker processes, writes tidy results.

Workers import TensorFlow once each and run one cell at a time. Each worker is pinned to a core
of its own with one TensorFlow thread, so timing runs never share a core. Flavours that need
``TF_USE_LEGACY_KERAS=1`` get workers started with it. A worker that dies or hangs costs only its
current cell; every finished cell is stored at once (``bench.store``), so a killed run can be
resumed. The runner never plots and never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import netns, results
from bench.columns import KEY
from bench.config import Config
from bench.eta import Eta, format_seconds
from bench.netns import PRIVATE
from bench.flavours import FLAVOURS
from bench.procs import die_with_parent
from bench.scenarios import REGISTRY
from bench.store import Store, cell_key, fingerprint


def plan(cfg: Config, gpus: int, network: str = PRIVATE) -> list[dict]:
    """Every applicable cell of the configuration, as worker specs, in a stable order.

    ``gpus``: how many GPUs the workers see (a bool says whether there is any); ``network``: where
    multiworker processes run (``bench.netns``)."""
    devices = []
    for d in cfg.devices:
        for dev in (("cpu", "gpu") if gpus else ("cpu",)) if d == "auto" else (d,):
            if dev not in devices:
                devices.append(dev)
    specs = []
    for flavour in cfg.flavours or tuple(FLAVOURS):
        for sid in cfg.scenarios or tuple(REGISTRY):
            scenario = REGISTRY[sid]
            for strategy in cfg.strategies:
                for api in cfg.apis:
                    for mode in cfg.modes:
                        for device in devices:
                            for opt in cfg.optimizers:
                                if not scenario.applies(flavour, api, mode, opt, strategy):
                                    continue
                                key = (sid, flavour, strategy, api, mode, device, opt)
                                if cfg.shard and not in_shard(key, *cfg.shard):
                                    continue
                                specs.append(dict(
                                    zip(KEY, key), replicas=replicas(cfg, strategy, device, int(gpus)),
                                    steps=cfg.steps, repeats=cfg.repeats, warmup=cfg.warmup, seed=cfg.seed,
                                    batch_size=cfg.batch_size, change_step=cfg.change_step, data=cfg.data,
                                    **({"network": network} if strategy == "multiworker" else {}),
                                ))
    return specs


def replicas(cfg: Config, strategy: str, device: str, gpus: int) -> int:
    """Replicas in sync: mirrored on GPUs uses every GPU; otherwise ``--replicas``."""
    if strategy == "none":
        return 1
    if strategy == "mirrored" and device == "gpu":
        return max(gpus, 1)
    return cfg.replicas


def in_shard(key: tuple, k: int, n: int) -> bool:
    """A stable hash of the cell's key picks its shard: the same cell lands in the same shard
    whatever the filters, so shards of one configuration never overlap."""
    return int(hashlib.sha1("/".join(key).encode()).hexdigest(), 16) % n == k - 1


def env_group(spec: dict) -> str:
    """Which kind of worker process a cell needs: its flavour's environment, and for mirrored
    cells on CPU as many logical CPU devices as replicas (both fixed when TensorFlow starts)."""
    group = "legacy" if FLAVOURS[spec["flavour"]].legacy_env else "keras3"
    if spec["strategy"] == "mirrored" and spec["device"] == "cpu":
        group += f"{LOGICAL}{spec['replicas']}"
    return group


LOGICAL = ":cpus="


def error_row(spec: dict, message: str) -> dict:
    row = {k: spec[k] for k in KEY}
    row.update(status="error", error=message, steps=spec["steps"], change_step=spec["change_step"], repeats=spec["repeats"])
    return {"cell": row, "steps": []}


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
                [sys.executable, "-m", "bench.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, env=env, text=True, bufsize=1, preexec_fn=die_with_parent,
            )
        # A thread reads the replies, so waiting for one can time out.
        self._lines = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, self._lines), daemon=True).start()

    def wait_hello(self) -> dict:
        msg = self._read(timeout=300)
        if msg is None or "hello" not in msg:
            self.kill()
            raise RuntimeError(f"a worker failed to start (TensorFlow import?); see {self.log}")
        self.hello = msg["hello"]
        return self.hello

    def _read(self, timeout: float | None) -> dict | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        return json.loads(line) if line else None

    def run(self, spec: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(json.dumps({"cell": spec}) + "\n")
            self.proc.stdin.flush()
            msg = self._read(self.timeout)
        except TimeoutError:
            self.kill()
            return error_row(spec, f"timed out after {self.timeout:g} s (--cell-timeout); worker replaced")
        except (BrokenPipeError, OSError, ValueError):
            msg = None
        if msg is None:  # the process died inside the cell: only this cell is lost
            code = self.proc.wait()
            self.proc = None
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            return error_row(spec, f"worker died ({how}) in this cell; see {self.log}")
        return msg["result"]

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


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")  # end of stream: the worker is gone


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def git_commit() -> str | None:
    here = Path(__file__).parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Interrupted(Exception):
    """Ctrl-C: finished cells are stored; the run can be resumed."""


def run_matrix(cfg: Config, progress: bool | None = None) -> tuple[list[dict], list[dict], dict]:
    """Run every cell not already stored; returns (cell rows, step rows, meta)."""
    started = datetime.now(timezone.utc)
    network = None
    if "multiworker" in cfg.strategies:  # refused (netns.Refused) before any worker starts
        network, warning = netns.choose(cfg.allow_exposed_ports)
        if warning:
            print(f"lr-bench: {warning}", file=sys.stderr)
    cores = usable_cores()
    n_workers = cfg.workers or len(cores)
    pin = n_workers <= len(cores)
    logdir = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    workers = [Worker("keras3", cores[i] if pin else None, logdir / f"worker{i}.log", cfg.cell_timeout) for i in range(n_workers)]
    store = Store(Path(cfg.out))
    stop = threading.Event()
    try:
        for w in workers:  # import TensorFlow in every worker at once
            w.spawn()
        hellos = {"keras3": workers[0].wait_hello()}
        for w in workers[1:]:
            w.wait_hello()
        gpus = len(hellos["keras3"].get("gpus") or [])
        specs = plan(cfg, gpus, network or PRIVATE)
        done = store.start(fingerprint(cfg.to_dict(), hellos["keras3"]),
                           resume=cfg.resume, force=cfg.force)
        finished = {cell_key(s): done[cell_key(s)] for s in specs if cell_key(s) in done}
        todo: queue.Queue = queue.Queue()
        for s in sorted(specs, key=lambda s: (env_group(s) != "keras3", env_group(s))):  # keras3 first, then by group
            if cell_key(s) not in finished:
                todo.put(s)
        lock = threading.Lock()
        bar = _progress(len(specs), progress, initial=len(finished))
        eta = Eta(n_workers)

        def serve(w: Worker) -> None:
            while not stop.is_set():
                try:
                    spec = todo.get_nowait()
                except queue.Empty:
                    return
                group = env_group(spec)
                if group != w.group:
                    w.stop()
                    w.group = group
                try:
                    if w.proc is None:
                        hellos[w.group] = w.start()
                    t0 = time.monotonic()
                    out = w.run(spec)
                    seconds = time.monotonic() - t0
                except Exception as e:
                    if stop.is_set():  # Ctrl-C killed this worker under us: nothing to record
                        return
                    if not isinstance(e, RuntimeError):
                        raise
                    out, seconds = error_row(spec, str(e)), None  # could not even start a worker: record, go on
                if stop.is_set():
                    return
                store.save(out)
                with lock:
                    finished[cell_key(spec)] = out
                    if seconds is not None:
                        eta.finished(spec, seconds)
                    left = eta.remaining([s for s in specs if cell_key(s) not in finished])
                    bar.set_postfix_str(f"left ~{format_seconds(left)} · " + " ".join(spec[k] for k in KEY),
                                        refresh=False)
                    bar.update(1)

        threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            raise Interrupted(f"interrupted: {len(finished)} of {len(specs)} cells kept in {store.dir}; "
                              f"run again with --resume to finish") from None
        finally:
            bar.close()
    finally:
        for w in workers:
            w.kill() if stop.is_set() else w.stop()

    ordered = [finished[cell_key(s)] for s in specs if cell_key(s) in finished]
    meta = dict(
        bench_commit=git_commit(),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        wall_s=round((datetime.now(timezone.utc) - started).total_seconds(), 2),
        resumed_cells=sum(k in done for k in finished),
        cpu=cpu_model(), cores=len(cores), workers=n_workers, pinned=pin,
        platform=platform.platform(), versions=hellos, config=cfg.to_dict(), cells=len(ordered),
        **({"multiworker_network": network} if network else {}),
    )
    return [o["cell"] for o in ordered], [s for o in ordered for s in o["steps"]], meta


def _progress(total: int, enabled: bool | None, initial: int = 0):
    from tqdm import tqdm

    # disable=None: tqdm shows the bar on a terminal and stays quiet otherwise. Its own estimate of
    # the time left assumes every cell costs the same; the postfix carries bench.eta's instead.
    return tqdm(total=total, initial=initial, unit="cell", file=sys.stderr, dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
                disable=None if enabled is None else not enabled)


def run(cfg: Config, progress: bool | None = None) -> Path:
    """Run the matrix and write cells.csv, steps.csv, meta.json, TRUTH.md and AUDIT.md into ``cfg.out``."""
    from bench import audit, report

    t0 = time.perf_counter()
    cells, steps, meta = run_matrix(cfg, progress)
    meta["total_s"] = round(time.perf_counter() - t0, 2)
    out = Path(cfg.out)
    results.write(out, results.cells_frame(cells), results.steps_frame(steps), meta)
    report.write_truth(out)
    audit.write_audit(out)
    return out
