"""The matrix runner: plans the cells, feeds them to worker processes, collects their results.

Workers import TensorFlow once each and run one cell at a time. Each worker is pinned to a core
of its own with one TensorFlow thread, so timing runs never share a core. Flavours that need
``TF_USE_LEGACY_KERAS=1`` get workers started with it. Every finished cell is stored at once
(``bench.runner.store``), so a killed run can be resumed; ``bench.runner.publish`` then writes the
results folder. The runner never plots and never imports TensorFlow.
"""

from __future__ import annotations

import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.core.config import Config
from bench.core.flavours import available
from bench.procs import netns
from bench.procs.netns import PRIVATE
from bench.results.meta import fingerprint, installed_versions
from bench.results.protocol import failed
from bench.runner.eta import Eta, format_seconds
from bench.runner.plan import env_group, plan
from bench.runner.store import Store
from bench.runner.workers import Worker, usable_cores


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


class NoFlavour(Exception):
    """Every flavour asked for is missing from the installed TensorFlow/Keras."""


class NothingToRun(Exception):
    """``--resume`` found every planned cell in the finished results folder: nothing is written."""


def run_matrix(cfg: Config, progress: bool | None = None) -> tuple[list[dict], list[dict], dict]:
    """Run every cell not already stored; returns (cell rows, step rows, meta)."""
    started = datetime.now(timezone.utc)
    network = None
    if "multiworker" in cfg.strategies:  # refused (netns.Refused) before any worker starts
        network, warning = netns.choose(cfg.allow_exposed_ports)
        if warning:
            print(f"lr-bench: {warning}", file=sys.stderr)
    present, absent = available(cfg.flavours or None)
    for name, why in absent.items():  # a flavour this release does not have: left out, not an error
        print(f"lr-bench: flavour {name} left out: {why}", file=sys.stderr)
    if not present:
        raise NoFlavour("no flavour of this run exists on the installed TensorFlow/Keras: "
                        + "; ".join(f"{n}: {w}" for n, w in absent.items()))
    cores = usable_cores()
    n_workers = cfg.workers or len(cores)
    pin = n_workers <= len(cores)
    logdir = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    workers = [Worker("keras3", cores[i] if pin else None, logdir / f"worker{i}.log", cfg.cell_timeout) for i in range(n_workers)]
    store = Store(Path(cfg.out))
    stop = threading.Event()
    # What the workers will run, read from package metadata: a resumed run whose cells are all
    # stored needs no worker, and none is started.
    done = store.start(fingerprint(cfg.to_dict(), installed_versions()), resume=cfg.resume, force=cfg.force,
                       keep_errors=cfg.keep_errors)
    hellos: dict = {}
    try:
        if any(d in ("auto", "gpu") for d in cfg.devices):  # how many GPUs: only a worker can tell
            specs = None
        else:
            specs = plan(cfg, 0, network or PRIVATE, present)
            if all(s.key in store.from_folder and s.key in done for s in specs):
                raise NothingToRun(f"nothing to run: all {len(specs)} cells of {cfg.out} were measured with the "
                                   f"same settings and versions")
        pending = None if specs is None else sorted((s for s in specs if s.key not in done), key=_group_order)
        if pending is None or pending:
            # Import TensorFlow in every worker that will have a cell, at once, in the environment of
            # the first cells (a TensorFlow import costs seconds: none is made only to be replaced).
            first = "keras3" if pending is None else env_group(pending[0])
            starting = workers if pending is None else workers[:len(pending)]
            for w in starting:
                w.group = first
                w.spawn()
            hellos = {first: starting[0].wait_hello()}
            for w in starting[1:]:
                w.wait_hello()
        if specs is None:
            specs = plan(cfg, len(hellos["keras3"].get("gpus") or []), network or PRIVATE, present)
        finished = {s.key: done[s.key] for s in specs if s.key in done}
        todo: queue.Queue = queue.Queue()
        for s in sorted(specs, key=_group_order):
            if s.key not in finished:
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
                    out, seconds = failed(spec, str(e)), None  # could not even start a worker: record, go on
                if stop.is_set():
                    return
                store.save(out)
                with lock:
                    finished[spec.key] = out
                    if seconds is not None:
                        eta.finished(spec, seconds)
                    left = eta.remaining([s for s in specs if s.key not in finished])
                    bar.set_postfix_str(f"left ~{format_seconds(left)} · " + " ".join(spec.key),
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

    ordered = [finished[s.key] for s in specs if s.key in finished]
    meta = dict(
        bench_commit=git_commit(),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        wall_s=round((datetime.now(timezone.utc) - started).total_seconds(), 2),
        resumed_cells=sum(k in done for k in finished),
        cpu=cpu_model(), cores=len(cores), workers=n_workers, pinned=pin,
        platform=platform.platform(), versions=hellos or _stored_versions(cfg.out) or {"keras3": installed_versions()},
        config=cfg.to_dict(),
        cells=len(ordered),
        **({"flavours_absent": absent} if absent else {}),
        **({"multiworker_network": network} if network else {}),
    )
    return [o.cell for o in ordered], [s for o in ordered for s in o.steps], meta


def _group_order(spec) -> tuple[bool, str]:
    """Cells in the order workers take them: Keras 3's first, then by environment."""
    return env_group(spec) != "keras3", env_group(spec)


def _stored_versions(out) -> dict:
    """A resumed run that started no worker: the versions its stored cells were measured with."""
    from bench import results

    try:
        return results.read_meta(out).get("versions", {})
    except results.ResultsError:
        return {}


def _progress(total: int, enabled: bool | None, initial: int = 0):
    from tqdm import tqdm

    # disable=None: tqdm shows the bar on a terminal and stays quiet otherwise. Its own estimate of
    # the time left assumes every cell costs the same; the postfix carries bench.runner.eta's instead.
    return tqdm(total=total, initial=initial, unit="cell", file=sys.stderr, dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
                disable=None if enabled is None else not enabled)


def run(cfg: Config, progress: bool | None = None) -> Path:
    """Run the matrix and publish the results folder ``cfg.out`` (``bench.runner.publish``)."""
    from bench.runner import publish

    t0 = time.perf_counter()
    cells, steps, meta = run_matrix(cfg, progress)
    meta["total_s"] = round(time.perf_counter() - t0, 2)
    return publish.publish(cfg.out, cells, steps, meta)
