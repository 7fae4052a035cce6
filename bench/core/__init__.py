"""What both sides of the bench share, without TensorFlow: the configuration and its axes, the
verdict vocabulary and the verdicts, the probe's maths, the flavours' descriptions, the data and
the timing statistics."""
