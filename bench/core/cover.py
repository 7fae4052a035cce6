"""How much of the optimizer axis a run covers: every optimizer in every cell, or pairwise.

``all`` runs each cell with every optimizer that applies to it. ``pairs`` (the quick profile's
default) runs each scenario / flavour / strategy / API / mode / device cell with one of them,
alternating along every axis, so that for each scenario every flavour, every API and every mode
is measured with both Adam and SGD (optimizer against each other axis: a pairwise covering
design, as combinatorial testing uses; where a scenario has one value of an axis, such as one
API, the other axes still alternate). Of the full run's 489 cells measured with both, the two
optimizers' verdicts differ in 3 and their tracing counts in 4, all ``resume-*`` cells of Keras 3's
``fit``; ``reported_ok`` in none. Every cell pays its own trace and compile, so pairs halves a
quick run, and the full profile and ``--cover all`` still measure every cell.

The choice depends only on the cell's key, never on which other cells a run has, so a run of a
few scenarios, a shard, and the regression gate pick the same cells. No TensorFlow.
"""

from __future__ import annotations

import hashlib

from bench.core.config import APIS, DEVICES, MODES, STRATEGIES
from bench.core.flavours import FLAVOURS

COVERS = ("all", "pairs")


def _index(value: str, order: tuple[str, ...]) -> int:
    if value in order:
        return order.index(value)
    return int(hashlib.sha1(value.encode()).hexdigest(), 16) % 2


def pick(options: list[str], scenario: str, flavour: str, strategy: str, api: str, mode: str,
         device: str) -> str:
    """The one optimizer of ``options`` (the ones that apply) that ``pairs`` runs for this cell.
    Along any one axis (flavour, API, mode, device, strategy) with the others fixed, the choice
    alternates: the parity of the sum of the cell's positions on every axis."""
    turn = (int(hashlib.sha1(scenario.encode()).hexdigest(), 16) + _index(flavour, tuple(FLAVOURS))
            + _index(strategy, STRATEGIES) + _index(api, APIS) + _index(mode, MODES) + _index(device, DEVICES))
    options = sorted(options)  # whatever order they were asked for in
    return options[turn % len(options)]


def covered(options: list[str], cover: str, *cell: str) -> list[str]:
    """The optimizers of ``options`` a run with ``cover`` measures for the cell
    (scenario, flavour, strategy, api, mode, device)."""
    if cover == "all" or len(options) < 2:
        return list(options)
    return [pick(options, *cell)]


def covered_keys(keys, cover: str) -> set[tuple]:
    """Of cell keys (scenario, flavour, strategy, api, mode, device, optimizer), as a run of every
    optimizer has them, the ones a run with ``cover`` measures: what the gate compares when the run
    it judges covered its optimizers in pairs and the baseline every one."""
    keys = list(keys)
    if cover == "all":
        return set(keys)
    options: dict[tuple, list[str]] = {}
    for key in keys:
        options.setdefault(tuple(key[:-1]), []).append(key[-1])
    return {(*cell, opt) for cell, opts in options.items() for opt in covered(opts, cover, *cell)}
