import importlib.util
import os
import subprocess
import sys

import pytest

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


@pytest.fixture(scope="session")
def quick_keras3(tmp_path_factory):
    """The quick CPU matrix of the core scenarios in Keras 3, run once for the session."""
    out = tmp_path_factory.mktemp("quick")
    proc = run_cli("run", "--profile", "quick", "--flavours", "keras3", "--devices", "cpu",
                   "--scenarios", "static,assign,attr-set,schedule-decay,schedule-swap", "--out", str(out), "--no-lessons")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


#: A small Keras 3 matrix (10 cells) used by the reliability and sharding tests.
SMALL = ["--profile", "quick", "--flavours", "keras3", "--devices", "cpu", "--apis", "loop,fit",
         "--modes", "function", "--optimizers", "sgd", "--no-lessons"]
CORE = "static,assign,attr-set,schedule-decay,schedule-swap"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """SMALL x CORE run uninterrupted, in one worker: the reference the other runs must equal."""
    out = tmp_path_factory.mktemp("whole")
    proc = run_cli("run", *SMALL, "--scenarios", CORE, "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out
