"""One ordered pass over a module: what each name holds at each point, and the events rules read.

The pass is deliberately small: it follows assignments in source order through the module and
every function and class body, knows what an optimizer, a schedule, a model, a ``tf.function``
and a learning-rate callback look like (whatever the import spelling, see ``aliases``), and
records the statements rules ask about: attribute writes, calls, name rebinds. Where it cannot
tell, a value is ``unknown`` and rules stay quiet, so a finding always rests on what the source shows.
"""

from __future__ import annotations

import ast

from bench.lint import aliases
from bench.lint.scope import UNKNOWN, AttrSet, Call, Rebind, Scope, Value, pos

#: Callback hooks that run once per call of the train function, not once per step.
BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")
LR_ATTRS = ("learning_rate", "lr")
MODEL_FACTORIES = ("keras.Sequential", "keras.Model", "keras.models.Sequential", "keras.models.Model",
                   "keras.models.load_model", "keras.saving.load_model")
TENSOR_FACTORIES = ("tf.constant", "tf.convert_to_tensor", "tf.Variable", "tf.cast", "keras.ops.convert_to_tensor")


class Analysis:
    """Walk ``tree`` once; rules read the lists below."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.imports = aliases.import_map(tree)
        self.uses_keras = any(v == "tf" or v.startswith(("tf.", "keras")) for v in self.imports.values())
        self.module = Scope(None, None)
        self.calls: list[Call] = []
        self.attr_sets: list[AttrSet] = []
        self.attr_reads: list[tuple[ast.Attribute, Scope, Value]] = []
        self.rebinds: list[Rebind] = []
        self.tf_functions: list[tuple[ast.FunctionDef, Scope]] = []
        self.fn_scopes: dict[ast.AST, Scope] = {}
        self.compiled = self.eager_only = self.trains = False
        self._seen: set[int] = set()
        self.block(tree.body, self.module)
        self.compiled = self.compiled or any(c.method == "fit" for c in self.calls) and not self.eager_only

    # --- expressions -------------------------------------------------------------------------
    def qual(self, node: ast.AST) -> str | None:
        return aliases.resolve(node, self.imports)

    def value(self, e: ast.AST | None, scope: Scope) -> Value:
        if e is None:
            return UNKNOWN
        if isinstance(e, ast.Constant):
            if isinstance(e.value, (int, float)) and not isinstance(e.value, bool):
                return Value("number", is_float=isinstance(e.value, float), node=e)
            return Value("constant", node=e)
        if isinstance(e, ast.UnaryOp):
            return self.value(e.operand, scope)
        if isinstance(e, ast.BinOp):
            left, right = self.value(e.left, scope), self.value(e.right, scope)
            if {left.kind, right.kind} <= {"number", "lr_float"}:
                return Value("number", is_float=left.is_float or right.is_float or isinstance(e.op, ast.Div)
                             or "lr_float" in (left.kind, right.kind), node=e)
            return UNKNOWN
        if isinstance(e, ast.Name):
            q = self.qual(e)
            return Value("qual", name=q) if q else scope.lookup(e.id, pos(e))
        if isinstance(e, ast.Attribute):
            q = self.qual(e)
            if q:
                return Value("qual", name=q)
            obj = self.value(e.value, scope)
            if e.attr == "optimizer":
                return obj.ref if obj.kind == "model" and obj.ref else Value("optimizer", lr="unknown", node=e)
            if e.attr in LR_ATTRS and obj.kind == "optimizer":
                return Value("lr_of", ref=obj, node=e)
            return UNKNOWN
        if isinstance(e, ast.Call):
            return self.call_value(e, scope)
        if isinstance(e, ast.IfExp):
            body, orelse = self.value(e.body, scope), self.value(e.orelse, scope)
            lr_kinds = ("lr_of", "lr_float")
            if body.kind in lr_kinds and orelse.kind in lr_kinds:  # `v.numpy() if ... else v`
                return Value("lr_float", ref=body.ref or orelse.ref, node=e)
            return body if body.kind == orelse.kind else UNKNOWN
        if isinstance(e, ast.Lambda):
            return Value("callable", node=e)
        if isinstance(e, (ast.Tuple, ast.List)):
            return Value("sequence", info={"items": [self.value(x, scope) for x in e.elts]}, node=e)
        return UNKNOWN

    def call_value(self, e: ast.Call, scope: Scope) -> Value:
        q = self.qual(e.func)
        func = Value("qual", name=q) if q else self.value(e.func, scope)
        kw = {k.arg: k.value for k in e.keywords if k.arg}
        if aliases.optimizer_class(q):
            lr_node = kw.get("learning_rate", kw.get("lr", e.args[0] if e.args else None))
            lr = self.value(lr_node, scope)
            kind = ("float" if lr_node is None or lr.kind in ("number", "lr_float", "tensor") else
                    "schedule" if lr.kind == "schedule" else "callable" if lr.kind == "callable" else "unknown")
            return Value("optimizer", lr=kind, node=e, name=q, info={"legacy": aliases.is_legacy_optimizer(q)})
        if aliases.schedule_class(q):
            return Value("schedule", node=e, name=q)
        cb = aliases.callback_class(q)
        if cb in ("LearningRateScheduler", "ReduceLROnPlateau"):
            return Value("lr_callback", name=cb, node=e)
        if q == "tf.function":
            return Value("tf_function" if e.args else "tf_function_factory", node=e)
        if func.kind == "tf_function_factory":
            return Value("tf_function", node=e)
        if q in TENSOR_FACTORIES:
            return Value("tensor", node=e)
        if q in MODEL_FACTORIES:
            return Value("model", node=e)
        if func.kind == "class":
            info = func.info
            if info.get("schedule"):
                return Value("schedule", user=True, node=e, name=func.name)
            if info.get("model"):
                return Value("model", node=e)
            return Value("instance", name=func.name, node=e, info=info)
        if isinstance(e.func, ast.Name) and e.func.id == "float" and not q and e.args:
            inner = self.value(e.args[0], scope)
            return Value("lr_float", ref=inner.ref, node=e) if inner.kind in ("lr_of", "lr_float") else \
                Value("number", is_float=True, node=e)
        if isinstance(e.func, ast.Attribute):
            if e.func.attr in ("numpy", "read_value") and self.value(e.func.value, scope).kind == "lr_of":
                return Value("lr_float", ref=self.value(e.func.value, scope).ref, node=e)
            if e.func.attr == "get_value" and e.args and self.value(e.args[0], scope).kind == "lr_of":
                return Value("lr_float", ref=self.value(e.args[0], scope).ref, node=e)
        return UNKNOWN

    def expr(self, e: ast.AST | None, scope: Scope) -> Value:
        """Evaluate ``e`` and record the calls and optimizer attribute reads inside it."""
        if e is None:
            return UNKNOWN
        for node in ast.walk(e):
            if isinstance(node, ast.Call) and id(node) not in self._seen:
                self._seen.add(id(node))
                self.record_call(node, scope)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in LR_ATTRS:
                obj = self.value(node.value, scope)
                if obj.kind == "optimizer":
                    self.attr_reads.append((node, scope, obj))
        return self.value(e, scope)

    def record_call(self, node: ast.Call, scope: Scope) -> None:
        q = self.qual(node.func)
        recv, method = None, None
        if isinstance(node.func, ast.Attribute):
            recv, method = self.value(node.func.value, scope), node.func.attr
        func = Value("qual", name=q) if q else self.value(node.func, scope)
        kwargs = {k.arg: self.value(k.value, scope) for k in node.keywords if k.arg}
        call = Call(node, scope, q, func, recv, method, [self.value(a, scope) for a in node.args], kwargs)
        self.calls.append(call)
        if q == "tf.function" or func.kind == "tf_function_factory":
            self.compiled = True
            wrapped = call.args[0] if call.args else None
            if wrapped is not None and wrapped.kind == "function" and wrapped.node in self.fn_scopes:
                entry = (wrapped.node, self.fn_scopes[wrapped.node])
                if entry not in self.tf_functions:
                    self.tf_functions.append(entry)
        for k in node.keywords:
            if k.arg == "jit_compile" and isinstance(k.value, ast.Constant) and k.value.value:
                self.compiled = True
            if k.arg == "run_eagerly" and isinstance(k.value, ast.Constant) and k.value.value:
                self.eager_only = True
        if method in ("apply_gradients", "minimize", "fit", "train_on_batch"):
            self.trains = True
        if method == "compile" and recv is not None and recv.kind == "model":
            opt = kwargs.get("optimizer", call.args[0] if call.args else UNKNOWN)
            if opt.kind == "constant":  # compile(optimizer="adam"): built from a float default
                opt = Value("optimizer", lr="float")
            recv.ref = opt if opt.kind == "optimizer" else None

    # --- statements --------------------------------------------------------------------------
    def block(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self.stmt(stmt, scope)

    def bind_target(self, target: ast.AST, value: Value, stmt: ast.stmt, scope: Scope, aug: bool = False) -> None:
        if isinstance(target, ast.Name):
            self.rebinds.append(Rebind(target.id, stmt, scope, scope.lookup(target.id, pos(stmt)), value))
            scope.bind(target.id, pos(target), value)
        elif isinstance(target, ast.Attribute):
            obj = self.expr(target.value, scope)
            self.attr_sets.append(AttrSet(target, stmt, scope, obj, value, aug))
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.info.get("items") if value.kind == "sequence" else None
            for i, t in enumerate(target.elts):
                item = items[i] if items and i < len(items) and len(items) == len(target.elts) else UNKNOWN
                self.bind_target(t, item, stmt, scope)
        else:
            self.expr(target, scope)

    def stmt(self, s: ast.stmt, scope: Scope) -> None:
        if isinstance(s, ast.Assign):
            v = self.expr(s.value, scope)
            for t in s.targets:
                self.bind_target(t, v, s, scope)
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.bind_target(s.target, self.expr(s.value, scope), s, scope)
        elif isinstance(s, ast.AugAssign):
            self.expr(s.value, scope)
            self.bind_target(s.target, Value("number", is_float=True, node=s), s, scope, aug=True)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            it = self.expr(s.iter, scope)
            item = UNKNOWN
            if it.kind == "sequence" and it.info["items"] and all(i.kind == "number" for i in it.info["items"]):
                item = Value("number", is_float=any(i.is_float for i in it.info["items"]), node=s.iter,
                             info={"loop": True})
            self.bind_target(s.target, item, s, scope)
            self.block(s.body, scope)
            self.block(s.orelse, scope)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(s, scope)
        elif isinstance(s, ast.ClassDef):
            self.klass(s, scope)
        elif isinstance(s, (ast.Global, ast.Nonlocal)):
            scope.globals.update(s.names)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                v = self.expr(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.bind_target(item.optional_vars, v if v.kind != "unknown" else UNKNOWN, s, scope)
            self.block(s.body, scope)
        elif isinstance(s, (ast.If, ast.While)):
            self.expr(s.test, scope)
            self.block(s.body, scope)
            self.block(s.orelse, scope)
        elif isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            self.block(s.body, scope)
            for h in s.handlers:
                self.block(h.body, scope)
            self.block(s.orelse, scope)
            self.block(s.finalbody, scope)
        elif isinstance(s, (ast.Expr, ast.Return)):
            self.expr(s.value, scope)
        else:
            for child in ast.iter_child_nodes(s):
                if isinstance(child, ast.expr):
                    self.expr(child, scope)

    def function(self, fn: ast.FunctionDef, scope: Scope) -> Scope:
        tf_fn = False
        for d in fn.decorator_list:
            v = self.expr(d, scope)
            if v.kind in ("tf_function_factory", "tf_function") or (v.kind == "qual" and v.name == "tf.function"):
                tf_fn = True
        if tf_fn:
            self.compiled = True
        scope.bind(fn.name, pos(fn), Value("tf_function" if tf_fn else "function", node=fn))
        inner = Scope(fn, scope)
        a = fn.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
            # A parameter named `optimizer` is taken for one; `opt` only in code that imports TF or Keras.
            named = arg.arg == "optimizer" or arg.arg == "opt" and self.uses_keras
            held = Value("optimizer", lr="unknown") if named else UNKNOWN
            inner.bind(arg.arg, pos(fn), held)
        self.fn_scopes[fn] = inner
        self.block(fn.body, inner)
        if tf_fn:
            self.tf_functions.append((fn, inner))
        return inner

    def klass(self, cls: ast.ClassDef, scope: Scope) -> None:
        info = {"schedule": False, "model": False, "callback": False, "batch_lr": None}
        for b in cls.bases:
            q = self.qual(b) or ""
            held = self.value(b, scope)
            info["schedule"] |= aliases.is_schedule_base(q) or (held.kind == "class" and held.info.get("schedule"))
            info["model"] |= q in ("keras.Model", "keras.models.Model")
            info["callback"] |= q in ("keras.callbacks.Callback",) or (held.kind == "class" and held.info.get("callback"))
        inner = Scope(cls, scope)
        for s in cls.body:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(s, inner)
                if s.name in BATCH_HOOKS and info["batch_lr"] is None and writes_lr(s):
                    info["batch_lr"] = s.name
            else:
                self.stmt(s, inner)
        scope.bind(cls.name, pos(cls), Value("class", name=cls.name, node=cls, info=info))

    # --- helpers for rules -------------------------------------------------------------------
    def after(self, node: ast.AST, scope: Scope):
        """Calls made after ``node`` in the same function (or module) body, in source order."""
        start = pos(node)
        return [c for c in self.calls if c.scope is scope and pos(c.node) > start]


def writes_lr(fn: ast.AST) -> bool:
    """Does this body set an LR: ``x.learning_rate = v``, ``x.lr.assign(v)``, ``set_value(x.lr, v)``?"""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr in LR_ATTRS for t in node.targets):
            return True
        f = node.func if isinstance(node, ast.Call) else None
        if isinstance(f, ast.Attribute) and (f.attr == "assign" and isinstance(f.value, ast.Attribute) and f.value.attr in LR_ATTRS
                                             or f.attr == "set_value" and node.args and isinstance(node.args[0], ast.Attribute)
                                             and node.args[0].attr in LR_ATTRS):
            return True
    return False
