"""Scenarios: one way of changing the learning rate each, registered on import.

A scenario is a small class in its own module in this package. Its docstring's first line is its
description in ``lr-bench list`` and its caption in the lessons; its class attributes declare the
axes it applies to; ``baseline`` and ``intended`` give the LR trajectory without the change and the
one its author meant, as plain NumPy so verdicts are checked against an independent reference.
Nothing imports TensorFlow here: hooks receive a ``ctx`` (``bench.measure.context.Ctx``) at run time.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass

from bench.core.config import APIS, BASE_LR, CHANGE_FACTOR, MODES, OPTIMIZERS, STRATEGIES

REGISTRY: dict[str, "Scenario"] = {}


@dataclass(frozen=True)
class Decay:
    """``ExponentialDecay`` without staircase, as a NumPy reference: ``lr0 * rate ** (t / steps)``."""

    initial: float
    decay_steps: int
    rate: float

    def __call__(self, t: int) -> float:
        return self.initial * self.rate ** (t / self.decay_steps)

    def build(self, ctx):
        """The same schedule as the cell's Keras builds it."""
        return ctx.flavour.schedule(self.initial, self.decay_steps, self.rate)


@dataclass(frozen=True)
class Rates:
    """The LRs every scenario works with, for one optimizer."""

    base: float

    @property
    def new(self) -> float:
        return self.base * CHANGE_FACTOR

    def switched(self, step: int, change: int) -> float:
        """The base LR, then the new one from the change step on: what a float change means."""
        return self.new if step >= change else self.base

    @property
    def schedule(self) -> Decay:
        return Decay(self.base, 10, 0.5)

    @property
    def new_schedule(self) -> Decay:
        return Decay(self.base * 5, 5, 0.5)

    @classmethod
    def for_optimizer(cls, name: str) -> "Rates":
        return cls(BASE_LR[name])


#: What a scenario that also runs under every tf.distribute strategy declares.
DISTRIBUTED = STRATEGIES


class Scenario:
    """Base: a float-initialised optimizer that is never changed (override what differs)."""

    id: str = ""
    #: position in listings and tables (core scenarios first, then by id)
    rank: int = 100
    apis: tuple[str, ...] = APIS
    modes: tuple[str, ...] = MODES
    optimizers: tuple[str, ...] = OPTIMIZERS
    flavours: tuple[str, ...] | None = None  # None: every flavour
    #: tf.distribute strategies it is run under ("none": one device, no strategy)
    strategies: tuple[str, ...] = ("none",)
    #: fit only: run one step per epoch (epoch-level callbacks then act at every step)
    fit_step_per_epoch: bool = False
    #: what it makes a compiled step trace beyond its first trace, for ``lr-bench list`` ("" if nothing)
    retraces: str = ""
    #: fit only: training stops at the change step and a second ``fit`` call, one step per epoch,
    #: trains on from it; ``restart`` runs between the two calls, as a restarted script would
    fit_restarts: bool = False

    @property
    def doc(self) -> str:
        return (self.__doc__ or "").strip().splitlines()[0]

    def applies(self, flavour: str, api: str, mode: str, optimizer: str, strategy: str = "none") -> bool:
        return (
            api in self.apis and mode in self.modes and optimizer in self.optimizers
            and (self.flavours is None or flavour in self.flavours) and strategy in self.strategies
        )

    # --- trajectories (NumPy; step = optimizer iterations before the update) ---
    def baseline(self, r: Rates, step: int, change: int) -> float:
        return r.base

    def intended(self, r: Rates, step: int, change: int) -> float:
        return self.baseline(r, step, change)

    # --- hooks, run in the worker ---
    def initial_lr(self, ctx):
        return ctx.rates.base

    def before_step(self, ctx, step: int) -> None:
        """Python code run before every step, outside the train step; the change goes here."""
        if step == ctx.change_step:
            self.change(ctx)

    def change(self, ctx) -> None:
        """The statement under test, run once at the change step; may raise."""

    def step_args(self, ctx, step: int) -> tuple:
        """Extra arguments passed to the loop's train step (loop only)."""
        return ()

    def in_step(self, ctx, *args) -> None:
        """Runs inside the (possibly traced) train step, before the update."""

    def fit_callbacks(self, ctx) -> list:
        return []

    def compile_kwargs(self, ctx) -> dict:
        return {}

    def first_fit_epochs(self, ctx) -> int:
        """``fit_restarts`` only: the first call's ``epochs`` (one step each). It ends there, or
        earlier when one of the scenario's callbacks raises ``Preempted`` (a job killed part-way)."""
        return ctx.change_step

    def restart(self, ctx) -> dict:
        """``fit_restarts`` only: the restarted script's set-up between the two ``fit`` calls; it
        may build a new ``ctx.model`` and optimizer (``_resetup.use``). Returns the second call's
        own ``fit`` arguments (``initial_epoch``, for instance); may raise."""
        return {}


class Preempted(Exception):
    """Raised by a scenario's callback to stop the first ``fit`` call as a killed job stops."""


def register(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator: instantiate and register under ``cls.id``."""
    if not cls.id or cls.id in REGISTRY:
        raise ValueError(f"scenario id {cls.id!r} is empty or registered twice")
    if not (cls.__doc__ or "").strip():
        raise ValueError(f"scenario {cls.id!r} needs a docstring: it is its description")
    REGISTRY[cls.id] = cls()
    return cls


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    # Scenarios kept outside the package (a team's own, or the tests' fault injectors): modules
    # named in LR_BENCH_SCENARIO_MODULES register the same way, in the runner and its workers.
    for name in filter(None, (m.strip() for m in os.environ.get("LR_BENCH_SCENARIO_MODULES", "").split(","))):
        importlib.import_module(name)
    ordered = sorted(REGISTRY.items(), key=lambda kv: (kv[1].rank, kv[0]))
    REGISTRY.clear()
    REGISTRY.update(ordered)


_load_all()
