"""A new LR set, then weights and optimizer state restored from a checkpoint saved at the old one.

The save happens at the change step (after training at the base LR), into a temporary folder of
the cell's own; then the new LR is set and the checkpoint restored, as a user resuming a run with
a new LR does.
"""

from bench.scenarios import Scenario, register
from bench.scenarios._resetup import checkpoint, folder, fresh_optimizer, recompile


@register
class RestoreLr(Scenario):
    """`model.compile(optimizer=<new LR>)`, then `model.load_weights` of a save made at the old LR (fit)."""

    id = "restore-lr"
    rank = 44
    # Keras's save_weights keeps optimizer state only for a compiled model: fit's setting.
    apis = ("fit",)

    def change(self, ctx):
        with folder(self.id) as d:
            path = ctx.flavour.checkpoint_path(d)
            ctx.model.save_weights(path)
            recompile(ctx, fresh_optimizer(ctx, ctx.rates.new))
            ctx.model.load_weights(path)

    def intended(self, r, step, change):
        return r.switched(step, change)


@register
class RestoreLrCheckpoint(Scenario):
    """The new LR set, then `tf.train.Checkpoint(model=, optimizer=).restore` of a save at the old LR."""

    id = "restore-lr-checkpoint"
    rank = 45

    def change(self, ctx):
        with folder(self.id) as d:
            saved = checkpoint(ctx, ctx.model, ctx.optimizer).save(f"{d}/ckpt")
            if ctx.api == "fit":  # compiled with a new optimizer at the new LR
                recompile(ctx, fresh_optimizer(ctx, ctx.rates.new))
            else:  # the loop's optimizer told the new LR
                ctx.optimizer.learning_rate.assign(ctx.rates.new)
            checkpoint(ctx, ctx.model, ctx.optimizer).restore(saved).assert_existing_objects_matched()

    def intended(self, r, step, change):
        return r.switched(step, change)
