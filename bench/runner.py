"""The matrix runner: plans the cells, feeds them to worker processes, writes tidy results.

Workers import TensorFlow once each and run one cell at a time. Each worker is pinned to a core
of its own with one TensorFlow thread, so timing runs never share a core. Flavours that need
``TF_USE_LEGACY_KERAS=1`` get workers started with it. The runner never plots and never imports
TensorFlow.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import results
from bench.columns import KEY
from bench.config import Config
from bench.flavours import FLAVOURS
from bench.scenarios import REGISTRY


def plan(cfg: Config, gpus: bool) -> list[dict]:
    """Every applicable cell of the configuration, as worker specs, in a stable order."""
    devices = []
    for d in cfg.devices:
        for dev in (("cpu", "gpu") if gpus else ("cpu",)) if d == "auto" else (d,):
            if dev not in devices:
                devices.append(dev)
    specs = []
    for flavour in cfg.flavours or tuple(FLAVOURS):
        for sid in cfg.scenarios or tuple(REGISTRY):
            scenario = REGISTRY[sid]
            for api in cfg.apis:
                for mode in cfg.modes:
                    for device in devices:
                        for opt in cfg.optimizers:
                            if not scenario.applies(flavour, api, mode, opt):
                                continue
                            specs.append(dict(
                                scenario=sid, flavour=flavour, api=api, mode=mode, device=device, optimizer=opt,
                                steps=cfg.steps, repeats=cfg.repeats, warmup=cfg.warmup, seed=cfg.seed,
                                batch_size=cfg.batch_size, change_step=cfg.change_step, data=cfg.data,
                            ))
    return specs


def env_group(flavour: str) -> str:
    return "legacy" if FLAVOURS[flavour].legacy_env else "keras3"


@dataclass
class Worker:
    """One worker process; started lazily, restarted after a crash."""

    group: str
    core: int | None
    log: Path
    proc: subprocess.Popen | None = None
    hello: dict = field(default_factory=dict)

    def start(self) -> dict:
        self.spawn()
        return self.wait_hello()

    def spawn(self) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        env.pop("TF_USE_LEGACY_KERAS", None)
        if self.group == "legacy":
            env["TF_USE_LEGACY_KERAS"] = "1"
        if self.core is not None:
            env["LR_BENCH_CORE"] = str(self.core)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.log, "ab"), env=env, text=True, bufsize=1,
        )

    def wait_hello(self) -> dict:
        msg = self._read()
        if msg is None or "hello" not in msg:
            raise RuntimeError(f"worker failed to start; see {self.log}")
        self.hello = msg["hello"]
        return self.hello

    def _read(self) -> dict | None:
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def run(self, spec: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(json.dumps({"cell": spec}) + "\n")
            self.proc.stdin.flush()
            msg = self._read()
        except (BrokenPipeError, ValueError):
            msg = None
        if msg is None:  # the process died inside the cell: only this cell is lost
            code = self.proc.wait()
            self.proc = None
            row = {k: spec[k] for k in KEY}
            row.update(status="error", error=f"worker died (exit {code}) in this cell; see {self.log}",
                       steps=spec["steps"], change_step=spec["change_step"], repeats=spec["repeats"])
            return {"cell": row, "steps": []}
        return msg["result"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=Path(__file__).parent,
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


def run_matrix(cfg: Config, progress: bool | None = None) -> tuple[list[dict], list[dict], dict]:
    """Run every cell; returns (cell rows, step rows, meta)."""
    started = datetime.now(timezone.utc)
    cores = usable_cores()
    n_workers = max(1, int(cfg.extra.get("workers") or len(cores)))
    pin = n_workers <= len(cores)
    logdir = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    workers = [Worker("keras3", cores[i] if pin else None, logdir / f"worker{i}.log") for i in range(n_workers)]
    for w in workers:  # import TensorFlow in every worker at once
        w.spawn()
    hello = workers[0].wait_hello()
    for w in workers[1:]:
        w.wait_hello()
    specs = plan(cfg, gpus=bool(hello.get("gpus")))
    specs.sort(key=lambda s: env_group(s["flavour"]) != "keras3")  # keras3 first; stable otherwise

    todo: queue.Queue = queue.Queue()
    for s in specs:
        todo.put(s)
    cell_rows, step_rows, hellos = [], [], {}
    lock = threading.Lock()
    bar = _progress(len(specs), progress)

    def serve(w: Worker) -> None:
        while True:
            try:
                spec = todo.get_nowait()
            except queue.Empty:
                return
            group = env_group(spec["flavour"])
            if group != w.group:
                w.stop()
                w.group = group
            if w.proc is None:
                hellos[w.group] = w.start()
            out = w.run(spec)
            with lock:
                cell_rows.append(out["cell"])
                step_rows.extend(out["steps"])
                bar.set_postfix_str(" ".join(spec[k] for k in KEY), refresh=False)
                bar.update(1)

    hellos["keras3"] = hello
    threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    finally:
        for w in workers:
            w.stop()
        bar.close()

    order = {tuple(s[k] for k in KEY): i for i, s in enumerate(plan(cfg, gpus=bool(hello.get("gpus"))))}
    cell_rows.sort(key=lambda r: order.get(tuple(r[k] for k in KEY), len(order)))
    meta = dict(
        bench_commit=git_commit(),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        wall_s=round((datetime.now(timezone.utc) - started).total_seconds(), 2),
        cpu=cpu_model(), cores=len(cores), workers=n_workers, pinned=pin,
        platform=platform.platform(),
        versions={g: {k: v for k, v in h.items()} for g, h in hellos.items()},
        config=cfg.to_dict(), cells=len(cell_rows),
    )
    return cell_rows, step_rows, meta


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    # disable=None: tqdm shows the bar on a terminal and stays quiet otherwise
    return tqdm(total=total, unit="cell", disable=None if enabled is None else not enabled,
                file=sys.stderr, dynamic_ncols=True)


def run(cfg: Config, progress: bool | None = None) -> Path:
    """Run the matrix and write cells.csv, steps.csv, meta.json and TRUTH.md into ``cfg.out``."""
    from bench import report

    t0 = time.perf_counter()
    cells, steps, meta = run_matrix(cfg, progress)
    out = Path(cfg.out)
    cells_df, steps_df = results.cells_frame(cells), results.steps_frame(steps)
    results.write(out, cells_df, steps_df, meta)
    report.write_truth(out)
    meta["total_s"] = round(time.perf_counter() - t0, 2)
    return out
