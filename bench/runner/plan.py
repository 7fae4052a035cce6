"""Plans a run: every applicable cell of a configuration, as worker specs, in a stable order.

No TensorFlow. Also which kind of worker process a cell needs, and which shard it falls in.
"""

from __future__ import annotations

import hashlib

from bench.core.config import PROFILES, Config
from bench.core.cover import covered
from bench.core.flavours import FLAVOURS
from bench.procs.netns import PRIVATE
from bench.results.protocol import CellSpec
from bench.scenarios import REGISTRY


def plan(cfg: Config, gpus: int, network: str = PRIVATE, flavours: list[str] | None = None) -> list[CellSpec]:
    """Every applicable cell of the configuration, as worker specs, in a stable order.

    ``gpus``: how many GPUs the workers see (a bool says whether there is any); ``network``: where
    multiworker processes run (``bench.procs.netns``); ``flavours``: the ones to plan (default: the
    configuration's, or every flavour)."""
    devices = []
    for d in cfg.devices:
        for dev in (("cpu", "gpu") if gpus else ("cpu",)) if d == "auto" else (d,):
            if dev not in devices:
                devices.append(dev)
    specs = []
    for flavour in flavours if flavours is not None else (cfg.flavours or tuple(FLAVOURS)):
        for sid in cfg.scenarios or tuple(REGISTRY):
            scenario = REGISTRY[sid]
            for strategy in cfg.strategies:
                for api in cfg.apis:
                    for mode in cfg.modes:
                        for device in devices:
                            cell = (sid, flavour, strategy, api, mode, device)
                            options = [o for o in cfg.optimizers if scenario.applies(flavour, api, mode, o, strategy)]
                            for opt in covered(options, cfg.cover or PROFILES[cfg.profile].cover, *cell):
                                key = (*cell, opt)
                                if cfg.shard and not in_shard(key, *cfg.shard):
                                    continue
                                specs.append(CellSpec(
                                    *key, replicas=replicas(cfg, strategy, device, int(gpus)),
                                    steps=cfg.steps, repeats=cfg.repeats, warmup=cfg.warmup, seed=cfg.seed,
                                    batch_size=cfg.batch_size, change_step=cfg.change_step, data=cfg.data,
                                    network=network if strategy == "multiworker" else None,
                                    eager_pair_every=PROFILES[cfg.profile].eager_pair_every,
                                ))
    return specs


def replicas(cfg: Config, strategy: str, device: str, gpus: int) -> int:
    """Replicas in sync: mirrored on GPUs uses every GPU; otherwise ``--replicas``."""
    if strategy == "none":
        return 1
    if strategy == "mirrored" and device == "gpu":
        return max(gpus, 1)
    return cfg.replicas


def in_shard(key: tuple, k: int, n: int) -> bool:
    """A stable hash of the cell's key picks its shard: the same cell lands in the same shard
    whatever the filters, so shards of one configuration never overlap."""
    return int(hashlib.sha1("/".join(key).encode()).hexdigest(), 16) % n == k - 1


def env_group(spec: CellSpec) -> str:
    """Which kind of worker process a cell needs: its flavour's environment, and for mirrored
    cells on CPU as many logical CPU devices as replicas (both fixed when TensorFlow starts)."""
    group = "legacy" if FLAVOURS[spec.flavour].needs_legacy_env else "keras3"
    if spec.strategy == "mirrored" and spec.device == "cpu":
        group += f"{LOGICAL}{spec.replicas}"
    return group


LOGICAL = ":cpus="
