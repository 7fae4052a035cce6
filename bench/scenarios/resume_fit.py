"""A schedule resumed the ways a restarted ``fit`` script resumes: a second ``fit`` call.

Training stops at the change step (or is killed there) and a second ``fit`` call trains on, after
what the restarted script does in between: load the full saved model, or build everything afresh
and load a weights checkpoint, or let ``BackupAndRestore`` find its backup. The saves are made
into a temporary folder of the cell's own. Intended, as for ``resume-checkpoint``: the schedule
continues from the saved iteration, the same trajectory as not stopping at all.
"""

from bench.scenarios import Preempted, Scenario, register
from bench.scenarios._resetup import restarted, use


class _RestartedFit(Scenario):
    apis = ("fit",)
    fit_restarts = True

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        return r.schedule(step)  # continued from the saved iteration


@register
class ResumeLoadModel(_RestartedFit):
    """`model.save` of the compiled model, then `keras.models.load_model` and `fit(initial_epoch=k)`."""

    id = "resume-load-model"
    rank = 50

    def restart(self, ctx):
        import os

        from bench.measure.build import model_class  # run in the worker only

        path = os.path.join(ctx.state["folder"], "model.keras")
        ctx.model.save(path)
        cls = model_class(ctx)
        model = ctx.keras.models.load_model(path, custom_objects={cls.__name__: cls})
        model.ctx = ctx
        ctx.model = model
        use(ctx, model.optimizer)
        return dict(initial_epoch=ctx.change_step)


class _FromWeights(_RestartedFit):
    """The first run saves weights-only checkpoints; the restarted one loads them."""

    def fit_callbacks(self, ctx):
        return [ctx.keras.callbacks.ModelCheckpoint(self.path(ctx), save_weights_only=True)]

    @staticmethod
    def path(ctx) -> str:
        return ctx.flavour.checkpoint_path(ctx.state["folder"])


@register
class ResumeInitialEpoch(_FromWeights):
    """`ModelCheckpoint(save_weights_only=True)`, then a fresh compiled model, `load_weights` and `fit(initial_epoch=k)`."""

    id = "resume-initial-epoch"
    rank = 50

    def restart(self, ctx):
        model = restarted(ctx, ctx.rates.schedule.build(ctx))
        model.load_weights(self.path(ctx))
        return dict(initial_epoch=ctx.change_step)


@register
class ResumeNewOptimizer(_FromWeights):
    """A fresh model given the saved weights, then compiled with a fresh optimizer, and `fit(initial_epoch=k)`."""

    id = "resume-new-optimizer"
    rank = 50

    def restart(self, ctx):
        # loaded before compile: the model has no optimizer yet to take the saved one's state
        restarted(ctx, ctx.rates.schedule.build(ctx), before_compile=lambda m: m.load_weights(self.path(ctx)))
        return dict(initial_epoch=ctx.change_step)


@register
class ResumeBackupAndRestore(_RestartedFit):
    """`fit(callbacks=[BackupAndRestore(dir)])` killed at the change step and run again on a fresh compiled model."""

    id = "resume-backup-restore"
    rank = 50

    def first_fit_epochs(self, ctx):
        return ctx.steps  # the job meant to train them all; it is killed at the change step

    def fit_callbacks(self, ctx):
        K = ctx.keras
        change = ctx.change_step

        class Kill(K.callbacks.Callback):
            fired = False

            def on_epoch_begin(self, epoch, logs=None):
                if epoch == change and not Kill.fired:
                    Kill.fired = True
                    raise Preempted(f"killed at epoch {epoch}")

        return [ctx.guarded(K.callbacks.BackupAndRestore(ctx.state["folder"])), Kill()]

    def restart(self, ctx):
        restarted(ctx, ctx.rates.schedule.build(ctx))  # the same script, run again: fit resumes it
        return {}
