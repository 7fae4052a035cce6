from bench.scenarios import register
from bench.scenarios.float_arg import FloatArg, python_lr


@register
class TensorArg(FloatArg):
    """The LR passed to the train step as a float32 tensor argument, with the values of `float-arg`."""

    id = "tensor-arg"
    rank = 14
    retraces = ""  # a tensor of one dtype and shape is one trace key, whatever its value

    def step_args(self, ctx, step):
        import tensorflow as tf  # hooks run in the worker, which has it imported already

        return (tf.constant(python_lr(ctx.rates, step, ctx.change_step), tf.float32),)
