"""Running the matrix (the parent process): planning, worker processes, storing and resuming
finished cells, and publishing the results folder. Never imports TensorFlow; the processes it
starts (``bench.measure``) do."""

from bench.runner.matrix import Interrupted, NoFlavour, NothingToRun, run, run_matrix

__all__ = ["Interrupted", "NoFlavour", "NothingToRun", "run", "run_matrix"]
