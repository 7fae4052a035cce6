"""``max_traces``: a retrace guard that names what the user changed between two traces.

``tf.function`` traces again for each new Python number, shape or dtype among its arguments, and
once more, with the same arguments, after a first call that created variables (an unbuilt model
or optimizer), to trace a version that creates none. The second kind is not the user's doing and
is not counted; the first is, and the error names the arguments that differ from the trace before.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import tensorflow as tf

from .alerts import RetraceError

def _describe(x) -> str:
    if isinstance(x, tf.Variable) or type(x).__name__.endswith("Variable"):
        return f"Variable(shape={tuple(x.shape)}, dtype={tf.as_dtype(x.dtype).name})"
    if isinstance(x, (tf.Tensor, np.ndarray)):
        shape = x.shape.as_list() if hasattr(x.shape, "as_list") else list(x.shape)
        return f"TensorSpec(shape={tuple(shape)}, dtype={tf.as_dtype(x.dtype).name})"
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_describe(i) for i in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    return f"{x!r} (Python {type(x).__name__})"


def _arguments(fn, args, kwargs) -> list[tuple[str, str, object]]:
    """(name, description, value) of each argument of a call."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        return [(k, _describe(v), v) for k, v in bound.arguments.items()]
    except (TypeError, ValueError):
        return ([(f"arg{i}", _describe(a), a) for i, a in enumerate(args)]
                + [(k, _describe(v), v) for k, v in kwargs.items()])


def _signature(arguments) -> str:
    return ", ".join(f"{k}={d}" if not k.startswith("arg") else d for k, d, _ in arguments)


def _difference(before, now) -> str:
    """What changed between two traces' arguments, and what to do about it."""
    if before is None:
        return "pass values that change between calls as tensors, not Python numbers"
    old = {k: (d, v) for k, d, v in before}
    changed = [(k, old.get(k, ("absent", None)), (d, v)) for k, d, v in now if old.get(k, (None,))[0] != d]
    if not changed:
        return ("its arguments are the same as the previous trace's: the retrace came from elsewhere (the "
                "tf.function was created again, or something it closes over changed)")
    said = ", ".join(f"{k}={o[0]}" for k, o, _ in changed)
    numbers = any(isinstance(v, (int, float, bool, np.number)) for _, _, (_, v) in changed)
    advice = ("pass values that change between calls as tensors, not Python numbers" if numbers else
              "tensors of a new shape or dtype retrace: give the tf.function an input_signature or "
              "reduce_retracing=True")
    return f"the previous trace had {said}: {advice}"



class max_traces:  # noqa: N801 - used as a decorator and a context, like contextlib's
    """Raise ``RetraceError`` when a ``tf.function`` is traced more than ``n`` times.

    As a decorator (on a ``tf.function`` or a plain function, which it wraps in one) it raises at
    the trace that goes over ``n``, before that trace runs, naming the function, the trace count,
    the arguments of the new trace and how they differ from the previous one. The second trace
    ``tf.function`` makes after a first call that created variables, with the same arguments, is
    not counted. As a context, ``with max_traces(n, fn):`` checks on exit the traces ``fn`` made
    inside the block.

    Args:
        n: the traces allowed, a positive integer.
        fn: for the context form only, the ``tf.function`` to watch.
    """

    def __init__(self, n: int, fn=None):
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            raise ValueError(f"max_traces(n={n!r}): expected a positive integer number of traces")
        self.n, self.fn, self.traces = n, fn, 0
        self._start = None

    def __call__(self, fn):
        is_tf = hasattr(fn, "python_function") and hasattr(fn, "experimental_get_tracing_count")
        python_fn = fn.python_function if is_tf else fn
        name = getattr(python_fn, "__qualname__", repr(python_fn))
        body = python_fn
        if getattr(fn, "_autograph", True):
            # Converted up front and the wrapper left alone, so our error reaches the caller as
            # itself rather than re-wrapped by AutoGraph's handler.
            try:
                body = tf.autograph.to_graph(python_fn)
            except Exception:  # noqa: BLE001 - no source to convert: run it as is, as tf.function would
                body = python_fn
        last = {"arguments": None, "created": False}

        @functools.wraps(python_fn)
        def counted(*args, **kwargs):
            arguments = _arguments(python_fn, args, kwargs)
            described = [(k, d) for k, d, _ in arguments]
            if last["created"] and described == [(k, d) for k, d, _ in last["arguments"]]:
                last["created"] = False  # tf.function's trace after variables were created: not a retrace
                return body(*args, **kwargs)
            self.traces += 1
            if self.traces > self.n:
                raise RetraceError(f"{name} was traced {self.traces} times (max_traces allows {self.n}); the new "
                                   f"trace was for {name}({_signature(arguments)}): "
                                   f"{_difference(last['arguments'], arguments)}")
            created = []

            def creator(next_creator, **kw):
                created.append(kw.get("name"))
                return next_creator(**kw)

            with tf.variable_creator_scope(creator):
                out = body(*args, **kwargs)
            last["arguments"], last["created"] = arguments, bool(created)
            return out

        if not is_tf:
            return tf.function(counted, autograph=False)
        return tf.function(counted, input_signature=fn.input_signature, jit_compile=getattr(fn, "_jit_compile", None),
                           reduce_retracing=getattr(fn, "_reduce_retracing", False), autograph=False)

    def __enter__(self):
        if self.fn is None or not hasattr(self.fn, "experimental_get_tracing_count"):
            raise ValueError(f"max_traces as a context needs the tf.function to watch, as in "
                             f"'with max_traces(n, fn):'; got fn={self.fn!r}")
        self._start = self.fn.experimental_get_tracing_count()
        self._signatures = set(self._traced_signatures())
        return self

    def _traced_signatures(self):
        # One line per trace: "(x: TensorSpec(...), lr: Literal[0.1]) -> ..."; we keep the inputs.
        lines = self.fn.pretty_printed_concrete_signatures(verbose=False).splitlines()
        return [line.split(" -> ")[0] for line in lines if line.strip()]

    def __exit__(self, exc_type, *exc):
        self.traces = self.fn.experimental_get_tracing_count() - self._start
        if exc_type is None and self.traces > self.n:
            new = [s for s in self._traced_signatures() if s not in self._signatures]
            name = getattr(self.fn.python_function, "__qualname__", repr(self.fn))
            raise RetraceError(f"{name} was traced {self.traces} times in the block (max_traces allows {self.n}); "
                               f"new traces: {'; '.join(new)}")
        return False
