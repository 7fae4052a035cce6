from bench.scenarios import DISTRIBUTED, register
from bench.scenarios.schedule_swap import ScheduleSwap


@register
class ScheduleSwapRetrace(ScheduleSwap):
    """The schedule swap, then a retrace: a fresh `tf.function` (loop) or `make_train_function(force=True)` (fit)."""

    id = "schedule-swap-retrace"
    rank = 17
    strategies = DISTRIBUTED
    retraces = "once, at the change, on purpose (2 traces per compiled repeat)"

    def change(self, ctx):
        super().change(ctx)
        # A compiled step captured the old schedule object when it was traced; only a new trace
        # reads the attribute again. In eager mode the retrace is a no-op, kept so every mode runs
        # the same user code.
        ctx.retrace()
