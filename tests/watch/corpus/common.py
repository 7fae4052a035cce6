"""What the corpus scripts share: a verdict read from what the monitor measured and said."""

import hashlib
import warnings

import numpy as np


def digest(model) -> str:
    h = hashlib.sha256()
    for v in model.weights:
        h.update(np.asarray(v.numpy()).tobytes())
    return h.hexdigest()


def verdict(records, said) -> str:
    """One line: what the monitor concluded about the script's learning rate."""
    for message in said:
        if message.startswith("not measurable"):
            return message.split(";")[0]
    for message in said:
        if message.startswith("optimizer."):
            return "no-op write: " + message.split(" set ")[0]
    mismatches = [m for m in said if m.startswith("step ")]
    if mismatches:
        return "mismatch from " + mismatches[0].split(":")[0]
    rates = list(dict.fromkeys(f"{r['lr_effective']:.3g}" for r in records))
    shown = rates if len(rates) <= 4 else rates[:2] + ["..."] + rates[-1:]
    return "measured, as reported: " + " -> ".join(shown)


class Recorded:
    """Collects the monitor's warnings while a script trains."""

    def __enter__(self):
        self._catch = warnings.catch_warnings(record=True)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        from bench.watch import LRWatchWarning
        self.said = [str(w.message) for w in self.caught if issubclass(w.category, LRWatchWarning)]
        return False
