"""Keras 2 spellings: the ``lr`` alias and the ``lr=``/``decay=`` constructor keywords."""

from __future__ import annotations

from bench.lint import aliases
from bench.lint.rules import Edit, Hit, Rule, name_span, register


def _is_optimizer_ctor(call) -> bool:
    return bool(aliases.optimizer_class(call.qual))


@register
class LrAlias(Rule):
    """`optimizer.lr`, the Keras 2 alias of `learning_rate`, set or read.

    Finds `opt.lr = x`, `opt.lr *= x`, `opt.lr.assign(x)`, `K.set_value(opt.lr, x)` and any read
    of `opt.lr`, where `opt` is an optimizer: built from a Keras optimizer class, taken from
    `model.optimizer` or `self.model.optimizer`, or a parameter named `optimizer` or `opt`.

    Keras 3 optimizers have no `lr` property: setting it hangs a new attribute on the object and
    training goes on at the old rate, and reading it fails or returns that stray attribute. The
    bench measures the plain set, `optimizer.lr = new`, in scenario `lr-alias`.

    Fix: spell it `learning_rate`. `--fix` renames the attribute where plain assignment to
    `learning_rate` (scenario `attr-set`) was measured effective on the target and the optimizer
    is not known to be built from a schedule.
    """

    code, name, scenarios = "LR001", "lr-alias", ("lr-alias",)

    def check(self, a, target):
        seen = set()
        for s in a.attr_sets:
            if s.node.attr == "lr" and s.obj.kind == "optimizer":
                seen.add(id(s.node))
                yield self._hit(s.node, s.obj, "`optimizer.lr = ...` sets the Keras 2 alias")
        for node, _, obj in a.attr_reads:
            if node.attr == "lr" and id(node) not in seen:
                yield self._hit(node, obj, "`optimizer.lr` uses the Keras 2 alias")

    def _hit(self, node, opt, what):
        line, col, end_line, end_col = name_span(node)
        edits = [] if opt.lr == "schedule" else [Edit(line, col, end_line, end_col, "learning_rate")]
        return Hit(node, what, "lr-alias", edits=edits, fix_needs=("attr-set", "assign"), line=line, col=col)


@register
class CtorLrKwarg(Rule):
    """`Adam(lr=x)`: the Keras 2 constructor keyword for the learning rate.

    Finds an optimizer constructor (any Keras flavour, the legacy namespace included) called with
    `lr=`. Keras 3 does not accept it; older Kerases accept it with a deprecation warning. The
    bench measures it in scenario `ctor-lr-kwarg`.

    Fix: `learning_rate=x`. `--fix` renames the keyword when `learning_rate=` is not passed too.
    """

    code, name, scenarios = "LR010", "ctor-lr-kwarg", ("ctor-lr-kwarg",)

    def check(self, a, target):
        for call in a.calls:
            if not _is_optimizer_ctor(call):
                continue
            kws = {k.arg: k for k in call.node.keywords}
            if "lr" in kws:
                k = kws["lr"]
                edits = [] if "learning_rate" in kws else [
                    Edit(k.lineno, k.col_offset, k.lineno, k.col_offset + 2, "learning_rate")]
                yield Hit(k, "`lr=` is the Keras 2 keyword for the learning rate", "ctor-lr-kwarg", edits=edits)


@register
class CtorDecayKwarg(Rule):
    """`SGD(learning_rate=x, decay=d)`: Keras 2's time-based decay keyword.

    Finds an optimizer constructor called with `decay=`. Keras 2 optimizers divided the LR by
    `1 + decay * iterations`; later optimizers dropped the keyword (Keras 3 rejects it). The bench
    measures it in scenario `ctor-decay-kwarg`.

    Fix: the same decay as a schedule,
    `learning_rate=keras.optimizers.schedules.InverseTimeDecay(x, decay_steps=1, decay_rate=d)`.
    """

    code, name, scenarios = "LR011", "ctor-decay-kwarg", ("ctor-decay-kwarg",)

    def check(self, a, target):
        for call in a.calls:
            if _is_optimizer_ctor(call):
                for k in call.node.keywords:
                    if k.arg == "decay":
                        yield Hit(k, "`decay=` is Keras 2's time-based decay keyword", "ctor-decay-kwarg")
