"""``lr-bench sweep``: the quick matrix on every release, each in an environment of its own.

Every TensorFlow minor from 2.12 (each with the Keras its pins resolve to: Keras 2 as ``tf.keras``
through 2.15, Keras 3 after, plus tf-keras of the same minor from 2.16 for the tf_keras flavours),
and every Keras 3 minor on the newest TensorFlow whose own ``keras`` pin accepts it (tf-keras left
out there: those folders measure Keras 3 alone). Environments are made by ``uv`` (``uv venv`` and
``uv pip install``, with the bench installed editable, so they run this checkout's code) and kept
for the next sweep; runs of different releases never share a worker, and run one after another.

Each release runs ``lr-bench run --resume`` into ``OUT/<release>``: a release whose folder already
holds every cell, measured with the same settings and package versions, measures nothing again.
Then ``OUT/RELEASES.md`` is rebuilt from every folder (``bench.analysis.history``). No TensorFlow in
this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: The newest TensorFlow minor whose ``keras`` requirement accepts each Keras 3 minor (from
#: TensorFlow's own pins: 2.16 takes keras>=3.0, 2.17 >=3.2, 2.18 and 2.19 >=3.5, 2.20 >=3.10,
#: 2.21 >=3.12); each Keras minor runs on the newest one that takes it.
_KERAS_ON = {0: 16, 1: 16, 2: 17, 3: 17, 4: 17, 5: 19, 6: 19, 7: 19, 8: 19, 9: 19, 10: 20, 11: 20,
             12: 21, 13: 21, 14: 21, 15: 21}


@dataclass(frozen=True)
class Target:
    """One release of the sweep: its folder name and the packages that pin it."""

    name: str
    requirements: tuple[str, ...]


def targets() -> dict[str, Target]:
    out = {}
    for minor in range(12, 22):
        reqs = (f"tensorflow==2.{minor}.*",) + ((f"tf-keras==2.{minor}.*",) if minor >= 16 else ())
        out[f"tf-2.{minor}"] = Target(f"tf-2.{minor}", reqs)
    for minor, tf in _KERAS_ON.items():
        out[f"keras-3.{minor}"] = Target(f"keras-3.{minor}", (f"keras==3.{minor}.*", f"tensorflow==2.{tf}.*"))
    return out


TARGETS = targets()


class SweepError(RuntimeError):
    """An environment could not be made, or a release's run failed; names the release."""


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_envs() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lr-bench" / "envs"


def uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if not found:
        raise SweepError("uv is not installed: pip install uv (it makes the sweep's environments)")
    return found


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def ensure_env(target: Target, envs: Path, log) -> Path:
    """The release's environment, made or brought up to date (a no-op when it is)."""
    env = envs / target.name
    if not python_of(env).exists():
        _call([uv(), "venv", "--quiet", "--python", sys.executable, str(env)], target, log)
    # The pins and the bench's own dependencies in one resolve; then the checkout, editable and
    # without dependencies, so the pins are not overruled by its extras. Compiled to bytecode as
    # pip does: where PYTHONDONTWRITEBYTECODE is set, each worker's TensorFlow import would
    # otherwise compile TensorFlow's modules again.
    deps = [d for d in _project_dependencies() if not d.lower().startswith(("tensorflow", "tf-keras", "keras"))]
    _call([uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python_of(env)),
           *target.requirements, *deps], target, log)
    _call([uv(), "pip", "install", "--quiet", "--python", str(python_of(env)), "--no-deps", "-e", str(project_root())],
          target, log)
    return env


def _project_dependencies() -> list[str]:
    """The bench's own requirements, as installed (extras left out)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        return [r.split(";")[0].strip() for r in (requires("lr-bench") or []) if "extra ==" not in r]
    except PackageNotFoundError:
        raise SweepError("lr-bench is not installed (pip install -e .): the sweep installs its dependencies "
                         "into each release's environment") from None


def _call(cmd: list[str], target: Target, log) -> None:
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SweepError(f"{target.name}: `{' '.join(cmd[:4])} …` failed (exit {proc.returncode}); see {log.name}")


def run(names: list[str], out, envs, run_args: list[str], say=print) -> Path:
    """Sweep ``names`` (keys of ``TARGETS``) in order into ``out``; returns RELEASES.md's path."""
    from bench.analysis import history

    out, envs = Path(out), Path(envs)
    out.mkdir(parents=True, exist_ok=True)
    envs.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = TARGETS[name]
        t0 = time.monotonic()
        with open(envs / f"{name}.log", "a") as log:
            env = ensure_env(target, envs, log)
            # Every optimizer in every cell: each release's truth table is published whole.
            cmd = [str(python_of(env)), "-m", "bench", "run", "--profile", "quick", "--cover", "all", "--devices", "cpu",
                   "--no-lessons", "--resume", "--out", str(out / name), *run_args]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        if proc.returncode != 0:
            raise SweepError(f"{name}: the run failed (exit {proc.returncode}); see {envs / f'{name}.log'}")
        said = proc.stdout.strip().splitlines()
        say(f"{name}: {said[-1] if said else 'done'} ({time.monotonic() - t0:.0f} s)")
    return history.write_releases(out)
