"""lr-bench: measure what a learning-rate change really does in TensorFlow / Keras."""

__version__ = "0.1.0"
