"""Every default of a run, typed and in one place; the CLI only overrides these."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

APIS = ("loop", "fit")
MODES = ("eager", "function", "xla")
DEVICES = ("cpu", "gpu")
OPTIMIZERS = ("adam", "sgd")
#: none: one device; mirrored: MirroredStrategy over REPLICAS devices of one process;
#: multiworker: MultiWorkerMirroredStrategy over REPLICAS processes on this machine.
STRATEGIES = ("none", "mirrored", "multiworker")
REPLICAS = 2

#: Base LR per optimizer and the factor the change scenarios move it by. Adam's 1e-3 is the value
#: every recipe starts from; SGD needs a larger one for the loss to move in a few dozen steps.
BASE_LR = {"adam": 1e-3, "sgd": 1e-2}
CHANGE_FACTOR = 10.0

#: Relative tolerance for every LR comparison (the probe is exact to float32, far below this).
RTOL = 1e-3


@dataclass(frozen=True)
class Profile:
    steps: int
    repeats: int
    warmup: int  # steady steps skipped after the first call before timing statistics
    #: An eager step is paired with a reference step at two steps of every ``2 * eager_pair_every``
    #: (one timed before it, one after). An eager reference step costs as much as the cell's own
    #: step (about 20 ms on a CPU, against about 1 ms compiled): pairing every step doubles the time.
    eager_pair_every: int = 1
    #: Which optimizers each cell runs with (``bench.core.cover``): "all", or "pairs" (one per
    #: cell, alternating so that every flavour, API and mode of a scenario meets both).
    cover: str = "all"


PROFILES = {
    # CI: enough steps to see a change and a schedule move, one repeat, optimizers in pairs.
    "quick": Profile(steps=10, repeats=1, warmup=2, cover="pairs"),
    # Publishable: enough steady steps for a stable paired median (44 pairs), one repeat. Repeats
    # from other seeds measured nothing new: over a three-repeat run of all 1056 cells, no step's
    # effective LR differed between repeats by more than 0.15 %, while each repeat paid its own
    # trace and compile.
    # Eager cells pair two steps of every four there: 22 pairs (see eager_pair_every).
    "full": Profile(steps=50, repeats=1, warmup=5, eager_pair_every=2),
}


@dataclass(frozen=True)
class Config:
    profile: str = "full"
    scenarios: tuple[str, ...] = ()  # empty: every registered scenario
    flavours: tuple[str, ...] = ()   # empty: every flavour
    strategies: tuple[str, ...] = ("none",)
    replicas: int = REPLICAS  # replicas of the mirrored and multiworker strategies
    allow_exposed_ports: bool = False  # multiworker servers on every interface where no private namespace can be made
    apis: tuple[str, ...] = APIS
    modes: tuple[str, ...] = MODES
    devices: tuple[str, ...] = ("auto",)  # auto: cpu, plus gpu when one is present
    optimizers: tuple[str, ...] = OPTIMIZERS
    cover: str | None = None    # "all" or "pairs" (bench.core.cover); None: from the profile
    steps: int | None = None    # None: from the profile
    repeats: int | None = None
    warmup: int | None = None
    seed: int = 0
    batch_size: int = 32
    data: str | None = None     # path to an mnist.npz; None: synthetic
    out: str = "results"
    lessons: bool = True
    workers: int | None = None        # None: one per usable core
    cell_timeout: float | None = None  # seconds; None: no limit
    resume: bool = False
    force: bool = False
    keep_errors: bool = False   # with resume: a finished folder's error cells count as measured
    shard: tuple[int, int] | None = None  # (k, n): run the k-th of n disjoint parts of the matrix

    def resolved(self) -> "Config":
        p = PROFILES[self.profile]
        return dataclasses.replace(
            self,
            cover=self.cover if self.cover is not None else p.cover,
            steps=self.steps if self.steps is not None else p.steps,
            repeats=self.repeats if self.repeats is not None else p.repeats,
            warmup=self.warmup if self.warmup is not None else min(p.warmup, max(0, (self.steps or p.steps) // 4)),
        )

    @property
    def change_step(self) -> int:
        return max(1, (self.steps or PROFILES[self.profile].steps) // 2)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
