import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The dependencies the cells run on (pyproject.toml). Missing, the session fails here: a broken install
#: must not pass as a green run of skips. Found, not imported: most tests run them in subprocesses.
#: On TensorFlow <= 2.15 (Keras 2) the Keras 2 flavours use tf.keras, so tf_keras is not needed there.
from bench.core.flavours import keras_major  # noqa: E402  (reads package metadata only)

REQUIRED = ("tensorflow", "keras") + (("tf_keras",) if keras_major() != 2 else ())
_missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
if _missing:
    raise ImportError(f"required dependencies not installed: {', '.join(_missing)} (pip install -e .[test])")


def run_cli(*args, timeout=900):
    """``python -m bench ARGS`` in a subprocess: what a user runs."""
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=timeout)


def shared(tmp_path_factory, name: str, make) -> Path:
    """A folder made once per test session by ``make(folder)`` and read by every test process.

    Under pytest-xdist, each process has a session of its own, so a session fixture would make it
    once per process that needs it; the first process to ask makes it here, under a lock, in the
    folder the processes share, and the others wait for it and read the same folder. A ``make``
    that raises leaves nothing marked done, and the next process to ask tries again."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        root = tmp_path_factory.getbasetemp()
    else:
        root = tmp_path_factory.getbasetemp().parent  # this session's, shared by its processes
    out, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not done.is_file():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            make(out)
            done.touch()
    return out


def shared_run(tmp_path_factory, name: str, *args: str) -> Path:
    """``lr-bench run ARGS --out DIR``, made once per test session (``shared``)."""
    def make(out):
        proc = run_cli("run", *args, "--out", str(out))
        assert proc.returncode == 0, proc.stderr[-2000:]

    return shared(tmp_path_factory, name, make)


@pytest.fixture(scope="session")
def quick_keras3(tmp_path_factory):
    """The quick CPU matrix of the core scenarios in Keras 3, every optimizer in every cell, run
    once for the session."""
    return shared_run(tmp_path_factory, "quick", "--profile", "quick", "--flavours", "keras3", "--devices", "cpu",
                      "--scenarios", "static,assign,attr-set,schedule-decay,schedule-swap", "--cover", "all",
                      "--no-lessons")


#: A small Keras 3 matrix (10 cells) used by the reliability and sharding tests.
SMALL = ["--profile", "quick", "--flavours", "keras3", "--devices", "cpu", "--apis", "loop,fit",
         "--modes", "function", "--optimizers", "sgd", "--no-lessons"]
CORE = "static,assign,attr-set,schedule-decay,schedule-swap"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """SMALL x CORE run uninterrupted, in one worker: the reference the other runs must equal."""
    return shared_run(tmp_path_factory, "whole", *SMALL, "--scenarios", CORE, "--workers", "1")
