"""Measuring (imports TensorFlow; loaded only in worker processes): a cell's context, what it
trains, the recorder and the step tape, the passes that run it, the bare reference, the worker
process and the multiworker cluster.

``worker`` → ``cells`` → ``passes`` → ``recorder``/``tape`` → ``build``/``context``; ``cluster``
starts and reads the processes of ``cluster_worker`` and imports no TensorFlow itself.
"""
