"""The worker protocol: typed records the runner and its worker processes exchange.

One JSON object per line. The runner sends ``{"cell": CellSpec}``; a worker answers once with
``{"hello": versions}`` and then ``{"result": CellResult}`` per cell. A ``CellResult`` holds the
cell's row and its step rows, with the columns of ``bench.results.columns``; rows stay dicts,
since they are the tidy files' rows. No TensorFlow here: both sides import this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from bench.results.columns import KEY


@dataclass(frozen=True)
class CellSpec:
    """One cell of the matrix and how to measure it."""

    scenario: str
    flavour: str
    strategy: str
    api: str
    mode: str
    device: str
    optimizer: str
    replicas: int
    steps: int
    repeats: int
    warmup: int
    seed: int
    batch_size: int
    change_step: int
    data: str | None = None
    network: str | None = None  # multiworker cells: where their processes run (bench.procs.netns)
    eager_pair_every: int = 1  # bench.core.config.Profile.eager_pair_every

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(getattr(self, k) for k in KEY)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "CellSpec":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class CellResult:
    """A measured cell: its row (``columns.CELLS``) and its step rows (``columns.STEPS``)."""

    cell: dict
    steps: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(self.cell[k] for k in KEY)

    @property
    def ok(self) -> bool:
        return self.cell.get("status") == "ok"

    def to_json(self) -> dict:
        return {"cell": self.cell, "steps": self.steps}

    @classmethod
    def from_json(cls, d: dict) -> "CellResult":
        return cls(d["cell"], list(d.get("steps", [])))


def base_row(spec: CellSpec) -> dict:
    """A cell's row before it is measured: its key and settings."""
    row = dict(zip(KEY, spec.key))
    row.update(replicas=spec.replicas, steps=spec.steps, change_step=spec.change_step, repeats=spec.repeats)
    return row


def failed(spec_or_row: CellSpec | dict, message: str, status: str = "error") -> CellResult:
    """A cell that could not be measured: its row with ``status`` and the one-line reason."""
    row = base_row(spec_or_row) if isinstance(spec_or_row, CellSpec) else dict(spec_or_row)
    row.update(status=status, error=message[:500])
    return CellResult(row, [])


# --- the line format ---
def cell_line(spec: CellSpec) -> str:
    return json.dumps({"cell": spec.to_json()}) + "\n"


def hello_line(info: dict) -> str:
    return json.dumps({"hello": info}) + "\n"


def result_line(result: CellResult) -> str:
    return json.dumps({"result": result.to_json()}, allow_nan=True) + "\n"


def decode(line: str) -> tuple[str, object]:
    """``("cell", CellSpec)``, ``("hello", dict)`` or ``("result", CellResult)``."""
    msg = json.loads(line)
    if "cell" in msg:
        return "cell", CellSpec.from_json(msg["cell"])
    if "hello" in msg:
        return "hello", msg["hello"]
    if "result" in msg:
        return "result", CellResult.from_json(msg["result"])
    raise ValueError(f"not a protocol message: {line[:80]!r}")
