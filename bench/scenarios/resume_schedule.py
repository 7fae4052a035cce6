"""Training on a schedule, saved and resumed at the change step the ways people resume.

The save happens at the change step into a temporary folder of the cell's own; the resumed run
builds what a restarted script builds (a fresh optimizer on the same schedule; in the loop a fresh
model and a fresh train step too), restores, and trains on. Intended: the schedule continues from
the saved iteration, so it is the same trajectory as not resuming at all.

Here the restore happens inside one ``fit`` call (or the loop); the resumes that end ``fit`` and
call it again (``load_model``, ``BackupAndRestore``, ``fit(initial_epoch=k)``) are in
``resume_fit``.
"""

from bench.scenarios import Scenario, register
from bench.scenarios._resetup import checkpoint, folder, fresh_optimizer, recompile, use


class _Resume(Scenario):
    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        return r.schedule(step)  # continued from the saved iteration


@register
class ResumeCheckpoint(_Resume):
    """A schedule resumed through `tf.train.CheckpointManager`: fresh model (loop) and optimizer, `restore(latest)`."""

    id = "resume-checkpoint"
    rank = 49

    def change(self, ctx):
        import tensorflow as tf  # run in the worker only

        with folder(self.id) as d:
            tf.train.CheckpointManager(checkpoint(ctx, ctx.model, ctx.optimizer), d, max_to_keep=1).save()
            if ctx.api == "loop":
                from bench.measure.build import build_model

                ctx.model = build_model(ctx)
                use(ctx, fresh_optimizer(ctx, ctx.rates.schedule.build(ctx)))
            else:
                recompile(ctx, fresh_optimizer(ctx, ctx.rates.schedule.build(ctx)))
            latest = tf.train.CheckpointManager(checkpoint(ctx, ctx.model, ctx.optimizer), d, max_to_keep=1).latest_checkpoint
            checkpoint(ctx, ctx.model, ctx.optimizer).restore(latest).assert_existing_objects_matched()
        if ctx.api == "loop":
            ctx.retrace()  # the restarted script's own train step


@register
class ResumeLoadWeights(_Resume):
    """A schedule resumed by `compile(optimizer=<fresh, same schedule>)` then `load_weights` (fit)."""

    id = "resume-load-weights"
    rank = 50
    # Keras's save_weights keeps optimizer state only for a compiled model: fit's setting.
    apis = ("fit",)

    def change(self, ctx):
        with folder(self.id) as d:
            path = ctx.flavour.checkpoint_path(d)
            ctx.model.save_weights(path)
            recompile(ctx, fresh_optimizer(ctx, ctx.rates.schedule.build(ctx)))
            ctx.model.load_weights(path)
