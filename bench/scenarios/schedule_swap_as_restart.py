from bench.scenarios import register
from bench.scenarios.schedule_swap import ScheduleSwap


@register
class ScheduleSwapAsRestart(ScheduleSwap):
    """The plain schedule swap, judged against the restart its author usually means (new schedule from 0)."""

    id = "schedule-swap-as-restart"
    rank = 19
    strategies = ("none",)  # the plain swap already runs under every strategy

    def intended(self, r, step, change):
        # A new schedule counted from the change step, as `schedule-restart` delivers.
        return r.new_schedule(step - change) if step >= change else r.schedule(step)
