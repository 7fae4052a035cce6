"""Scenarios that break their worker on purpose, for the failure-injection tests.

Loaded only where LR_BENCH_SCENARIO_MODULES=tests.faults is set.
"""

import os
import signal
import time

from bench.scenarios import Scenario, register


@register
class Segfault(Scenario):
    """Kills its own worker with SIGSEGV at the change step (failure injection)."""

    id = "fault-segfault"
    rank = 900

    def change(self, ctx):
        os.kill(os.getpid(), signal.SIGSEGV)


@register
class Hang(Scenario):
    """Hangs its worker at the change step (failure injection)."""

    id = "fault-hang"
    rank = 901

    def change(self, ctx):
        time.sleep(3600)


@register
class Raise(Scenario):
    """Raises an unexpected error outside the change statement (failure injection)."""

    id = "fault-raise"
    rank = 902

    def step_args(self, ctx, step):
        raise RuntimeError("injected failure")


@register
class CrashOneWorker(Scenario):
    """The second worker of a multiworker cell exits at the change step (failure injection)."""

    id = "fault-worker-exit"
    rank = 903
    strategies = ("multiworker",)

    def change(self, ctx):
        if ctx.worker_index == 1:
            os._exit(3)
