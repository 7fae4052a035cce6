"""A local name bound to the optimizer's LR, then rebound as if it were a reference."""

from __future__ import annotations

import ast

from bench.lint.analysis import LR_ATTRS, pos
from bench.lint.rules import Hit, Rule, register


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


@register
class LocalRebind(Rule):
    """`lr = optimizer.learning_rate` (or a float read from it), then `lr = new`: only the name changes.

    Finds a name bound to `opt.learning_rate`, `float(opt.learning_rate)`,
    `opt.learning_rate.numpy()` or `K.get_value(opt.learning_rate)` and later rebound (`=`,
    `*=`, ...) in the same function, when nothing after the rebind writes the name back to the
    optimizer (`opt.learning_rate = lr`, `.assign(lr)`, `set_value(..., lr)`).

    Rebinding a Python name points it at a new object; the optimizer's variable is not touched.
    The bench measures `lr = optimizer.learning_rate; lr = new` in scenario `local-rebind`.

    Fix: write to the optimizer: `opt.learning_rate.assign(new)` (or `opt.learning_rate = new`
    on a float-built optimizer).
    """

    code, name, scenarios = "LR002", "local-rebind", ("local-rebind",)

    def check(self, a, target):
        for r in a.rebinds:
            if r.old.kind not in ("lr_of", "lr_float") or r.new.kind in ("lr_of", "lr_float"):
                continue
            if isinstance(r.stmt, ast.Assign) and isinstance(r.stmt.value, ast.Attribute) \
                    and r.stmt.value.attr in LR_ATTRS:
                continue  # re-reading the optimizer is not a rebind to a new value
            if self._written_back(a, r):
                continue
            yield Hit(r.stmt, f"`{r.name}` held the optimizer's LR; rebinding it changes only the name",
                      "local-rebind")

    @staticmethod
    def _written_back(a, r) -> bool:
        start = pos(r.stmt)
        for s in a.attr_sets:
            if s.scope is r.scope and pos(s.stmt) > start and s.node.attr in LR_ATTRS \
                    and _mentions(s.stmt.value, r.name):
                return True
        for c in a.after(r.stmt, r.scope):
            if c.method in ("assign", "set_value") and any(_mentions(x, r.name) for x in c.node.args):
                return True
        return False
