"""Helpers for the scenarios that set training up again part-way: a fresh optimizer, a recompile,
a checkpoint folder. Registers nothing; runs in the worker only."""

from __future__ import annotations

import contextlib
import tempfile


def fresh_optimizer(ctx, learning_rate):
    """A new optimizer of the cell's kind, built on the model's weights (slots exist up front)."""
    opt = ctx.flavour.optimizer(ctx.opt_name, learning_rate)
    ctx.flavour.build(opt, ctx.model.trainable_variables)
    return opt


def use(ctx, optimizer) -> None:
    """``optimizer`` is what ``model.optimizer`` now names: the probe reads it, and also every
    optimizer the cell had before, taking whichever one's update explains the weights."""
    ctx.state.setdefault("optimizers", []).append(ctx.optimizer)
    ctx.optimizer = optimizer


def compile_as_cell(ctx, model, optimizer) -> None:
    """``model.compile`` with the cell's own arguments (loss, mode) and ``optimizer``."""
    model.compile(optimizer=optimizer, loss=ctx.loss_fn, run_eagerly=ctx.mode == "eager",
                  jit_compile=ctx.mode == "xla", **ctx.scenario.compile_kwargs(ctx))


def restarted(ctx, learning_rate, before_compile=None):
    """What a restarted script builds: a fresh model, and a fresh optimizer at ``learning_rate``
    compiled into it, not built (as ``compile`` leaves it); ``before_compile(model)`` runs on the
    model first (a load into a model that has no optimizer yet). They become the cell's model
    and optimizer."""
    from bench.measure.build import build_model  # run in the worker only

    model = build_model(ctx)
    if before_compile is not None:
        before_compile(model)
    optimizer = ctx.flavour.optimizer(ctx.opt_name, learning_rate)
    compile_as_cell(ctx, model, optimizer)
    ctx.model = model
    use(ctx, optimizer)
    return model


def recompile(ctx, optimizer) -> None:
    """``model.compile`` with the cell's own arguments and ``optimizer``, then the train function a
    second ``fit`` call would make at its start: compile drops the old one, and since the harness
    cannot end its ``fit`` at the change step, this stands for the boundary between two calls."""
    compile_as_cell(ctx, ctx.model, optimizer)
    use(ctx, optimizer)
    if ctx.api == "fit":
        ctx.model.make_train_function(force=True)


@contextlib.contextmanager
def folder(prefix: str):
    """A temporary folder for one save/load round trip, removed after it."""
    with tempfile.TemporaryDirectory(prefix=f"lr-bench-{prefix}-") as d:
        yield d


def checkpoint(ctx, model, optimizer):
    import tensorflow as tf  # run in the worker only

    return tf.train.Checkpoint(model=model, optimizer=optimizer)
