"""Column names of the results files, defined once.

The runner writes these files and every reader (report, audit, lessons, compare) reads them, so
the names live here and nowhere else.
"""

#: The axes that identify a cell, in the order they appear in every file.
KEY = ("scenario", "flavour", "strategy", "api", "mode", "device", "optimizer")

#: One row per cell.
CELLS = KEY + (
    "replicas",      # replicas in sync: 1 without a strategy; every worker's under multiworker
    "status",        # ok | skipped | error
    "verdict",       # effective | ignored | wrong | raises | diverged ("" when not ok)
    "reported_ok",   # reported LR == effective LR at every step after the change
    "error",         # the exception (type: message) or the skip reason
    "traces",        # tf.function traces of the cell's train step (0 for eager)
    "retrace_s",     # time spent in traces after the first call, summed
    "first_call_s",  # trace/compile plus first step, median over repeats
    "step_s_median",
    "step_s_iqr",
    "noisy",         # the paired ratios disagree (step_ratio_iqr > NOISY_IQR x step_ratio) or are too few
    "reference_s",   # the bare static step (same worker, flavour, mode, device, optimizer), median
    "step_ratio",    # median over steady steps of step_s / the reference step timed right before it
    "step_ratio_iqr",  # IQR of those paired ratios
    "step_ratio_n",  # independent pairs the ratio rests on (steps run in one fit call count once)
    "steps",
    "change_step",
    "repeats",
)

#: One row per step per cell per repeat (tidy).
STEPS = KEY + (
    "repeat",
    "step",
    "loss",
    "lr_intended",
    "lr_baseline",   # what the LR would have been had nothing changed
    "lr_effective",  # measured from the weights (of the first replica under a strategy)
    "lr_spread",     # max |replica's effective LR - the first's| / the first's, over every replica and worker
    "lr_reported",   # optimizer.learning_rate just before the update (NaN when not a number)
    "step_s",
    "traces",        # cumulative tracing count after this step
)

NOISY_IQR = 0.25

STATUSES = ("ok", "skipped", "error")
VERDICTS = ("effective", "ignored", "wrong", "raises", "diverged")

#: Values of columns added after the first results were published, for reading older folders:
#: everything measured before the strategy axis ran on one device without a strategy.
#: Folders written before paired timing have no spread of the ratio (NaN: compare falls back to the
#: step time's IQR).
DEFAULTS = {"strategy": "none", "replicas": 1, "lr_spread": 0.0, "step_ratio_iqr": float("nan"),
            "step_ratio_n": float("nan")}
