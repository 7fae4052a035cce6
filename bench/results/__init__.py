"""The results contract: what a results folder holds and how it is read and written.

``columns`` names every column once; ``files`` writes them atomically and reads them back with
their schema checked; ``meta`` says what identifies a measurement; ``protocol`` is the typed
records workers answer with. No TensorFlow: both sides of the bench import this package.
"""

from bench.results.files import (CELLS_CSV, META_JSON, STEPS_CSV, TRUTH_MD, ResultsError, atomic_write,
                                 atomic_write_all, cells_frame, read_cells, read_meta, read_steps, steps_frame, write)

__all__ = ["CELLS_CSV", "META_JSON", "STEPS_CSV", "TRUTH_MD", "ResultsError", "atomic_write", "atomic_write_all",
           "cells_frame", "read_cells", "read_meta", "read_steps", "steps_frame", "write"]
