import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
