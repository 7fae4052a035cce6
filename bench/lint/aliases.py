"""Import aliases: every spelling of TensorFlow and Keras resolved to one canonical dotted name.

``from tensorflow import keras``, ``import tf_keras as keras``, ``import keras`` and
``tf.keras`` all become ``keras``; ``tensorflow`` becomes ``tf``. Rules then match canonical
names (``keras.optimizers.SGD``) and never a particular spelling.
"""

from __future__ import annotations

import ast

#: Longest prefix first: canonical spellings of the packages the rules care about.
_PREFIXES = (
    ("tensorflow.python.keras", "keras"),
    ("tensorflow.compat.v1.keras", "keras"),
    ("tensorflow.compat.v2.keras", "keras"),
    ("tensorflow.keras", "keras"),
    ("tf_keras", "keras"),
    ("tensorflow", "tf"),
    ("tf.keras", "keras"),
    ("tf.optimizers", "keras.optimizers"),
    ("keras.src", "keras"),
)


def canonical(dotted: str) -> str:
    for prefix, repl in _PREFIXES:
        if dotted == prefix or dotted.startswith(prefix + "."):
            return repl + dotted[len(prefix):]
    return dotted


def import_map(tree: ast.AST) -> dict[str, str]:
    """Local name -> canonical dotted name, for every import anywhere in the module."""
    names: dict[str, str] = {}
    for node in statements(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = canonical(a.name)
                else:
                    root = a.name.split(".")[0]
                    names[root] = canonical(root)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    names[a.asname or a.name] = canonical(f"{node.module}.{a.name}")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            # keras = pytest.importorskip("keras"), tf = importlib.import_module("tensorflow")
            v = node.value
            if isinstance(v, ast.Call) and v.args and isinstance(v.args[0], ast.Constant) \
                    and isinstance(v.args[0].value, str) and _callee(v.func) in _IMPORTERS:
                names[node.targets[0].id] = canonical(v.args[0].value)
    return names


_IMPORTERS = ("importorskip", "import_module", "__import__")


def statements(tree: ast.AST):
    """Every statement, nested ones included, without walking into expressions (imports are statements)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                stack.extend(reversed(block))


def _callee(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def resolve(node: ast.AST, imports: dict[str, str]) -> str | None:
    """The canonical name of an imported object, or None when the root is not an import."""
    d = dotted(node)
    if d is None:
        return None
    root, _, rest = d.partition(".")
    if root not in imports:
        return None
    return canonical(imports[root] + ("." + rest if rest else ""))


def _tail(name: str | None, namespace: str) -> str | None:
    if name and name.startswith(namespace + "."):
        tail = name[len(namespace) + 1:]
        return tail if tail[:1].isupper() and "." not in tail else None
    return None


def optimizer_class(name: str | None) -> str | None:
    """``Adam`` for ``keras.optimizers.Adam`` (also the legacy and experimental namespaces)."""
    for ns in ("keras.optimizers", "keras.optimizers.legacy", "keras.optimizers.experimental"):
        tail = _tail(name, ns)
        if tail and tail not in ("Optimizer", "LossScaleOptimizer"):
            return tail
    return None


def is_legacy_optimizer(name: str | None) -> bool:
    return bool(name) and name.startswith("keras.optimizers.legacy.")


def schedule_class(name: str | None) -> str | None:
    """``ExponentialDecay`` for a stock schedule class, in any of its namespaces."""
    for ns in ("keras.optimizers.schedules", "keras.experimental", "keras.optimizers.experimental"):
        tail = _tail(name, ns)
        if tail and tail.endswith(("Decay", "Restarts", "Schedule")) and tail != "LearningRateSchedule":
            return tail
    return None


def is_schedule_base(name: str | None) -> bool:
    return bool(name) and name.endswith("LearningRateSchedule")


def callback_class(name: str | None) -> str | None:
    return _tail(name, "keras.callbacks")
