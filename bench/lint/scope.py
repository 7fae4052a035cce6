"""What the analysis knows about a value, where names are bound, and the records rules read."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(eq=False)
class Value:
    """What an expression holds, as far as the source shows."""

    kind: str = "unknown"  # number schedule optimizer lr_of lr_float model tf_function tf_function_factory
    #                        tensor lr_callback class instance function callable qual unknown
    lr: str = ""           # optimizer: float, schedule, callable or unknown (how it was built)
    ref: "Value | None" = None  # lr_of / lr_float: the optimizer; model: the optimizer it was compiled with
    is_float: bool = False  # number: a float, not only an int
    user: bool = False      # schedule: a class defined in this source
    name: str = ""          # qual: canonical name; class/instance/lr_callback: class name
    node: ast.AST | None = None
    info: dict = field(default_factory=dict)


UNKNOWN = Value()


def pos(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


class Scope:
    def __init__(self, node: ast.AST | None, parent: "Scope | None"):
        self.node, self.parent = node, parent
        self.bindings: dict[str, list[tuple[tuple[int, int], Value]]] = {}
        self.globals: set[str] = set()

    def bind(self, name: str, at: tuple[int, int], value: Value) -> None:
        if name in self.globals and self.parent is not None:
            return self.root().bind(name, at, value)
        self.bindings.setdefault(name, []).append((at, value))

    def root(self) -> "Scope":
        return self if self.parent is None else self.parent.root()

    def lookup(self, name: str, at: tuple[int, int]) -> Value:
        found = self.bindings.get(name)
        if found:
            before = [v for p, v in found if p < at]
            # A function may read a name bound later in its module: take the first binding then.
            return before[-1] if before else (found[0][1] if self.parent is None or self.node is None else UNKNOWN)
        return self.parent.lookup(name, at) if self.parent else UNKNOWN


@dataclass
class Call:
    node: ast.Call
    scope: Scope
    qual: str | None        # canonical name of the callee when imported
    func: Value             # what the callee holds
    recv: Value | None      # for ``x.method(...)``: what x holds
    method: str | None
    args: list[Value]
    kwargs: dict[str, Value]


@dataclass
class AttrSet:
    node: ast.Attribute     # the target
    stmt: ast.stmt
    scope: Scope
    obj: Value
    value: Value
    aug: bool = False


@dataclass
class Rebind:
    name: str
    stmt: ast.stmt
    scope: Scope
    old: Value
    new: Value
