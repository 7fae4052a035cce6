"""Every broken and fixed snippet of every lesson runs, after its lesson's setup, on the installed
TensorFlow, and its own asserts (the lesson's claim, measured from the weights) hold.

Where a lesson measures with ``measured_lr``, each call is checked against the bench's probe: the
weights before and after the step, with gradients from an independent NumPy pass of the model.
"""

import linecache

import numpy as np
import pytest

import tensorflow  # noqa: E402,F401  required: a broken install fails here, not skips

from bench.core import probe

from bench.lessons import sources as lesson_source  # noqa: E402

LESSONS = lesson_source.load()
CASES = [(lesson, i, s) for lesson in LESSONS for i, s in enumerate(lesson.snippets) if s.kind != "setup"]


def _exec(code: str, name: str, ns: dict) -> None:
    # registered with linecache so tf.function's AutoGraph can read the source, as in a file
    filename = f"<lesson {name}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), ns)


def _checked(ns: dict, calls: list):
    measured = ns["measured_lr"]

    def measured_lr(one_step):
        variables = ns["model"].trainable_variables
        before = [v.numpy() for v in variables]
        _, grads = probe.dense_loss_and_grads(before, ns["x"], ns["y"])
        got = measured(one_step)
        reference = probe.sgd_lr(before, [v.numpy() for v in variables], grads)
        assert got == pytest.approx(reference, rel=1e-3), (got, reference)
        calls.append(got)
        return got

    return measured_lr


@pytest.mark.parametrize("lesson, index, snippet", CASES, ids=[f"{c[0].slug}-{c[2].kind}{c[1]}" for c in CASES])
def test_snippet_claim_holds(lesson, index, snippet):
    assert "assert " in snippet.code, "a snippet states its claim as an assert on what it measured"
    ns: dict = {"__name__": f"lesson_{lesson.slug.replace('-', '_')}"}
    _exec(lesson.setup, f"{lesson.slug} setup", ns)
    calls: list = []
    if "measured_lr" in ns:
        ns["measured_lr"] = _checked(ns, calls)
    _exec(snippet.code, f"{lesson.slug} {snippet.kind}{index}", ns)
    if "measured_lr(" in snippet.code:
        assert calls and all(np.isfinite(calls)), "the snippet's measurement did not run"


def test_every_lesson_has_both_sides():
    for lesson in LESSONS:
        kinds = [s.kind for s in lesson.snippets]
        assert "broken" in kinds and "fixed" in kinds, lesson.slug


def test_a_false_claim_fails():
    # the harness is not a rubber stamp: a snippet claiming the opposite of lesson 1 fails
    lesson = next(lesson for lesson in LESSONS if lesson.slug.startswith("01"))
    ns: dict = {}
    _exec(lesson.setup, "01 setup", ns)
    with pytest.raises(AssertionError):
        _exec("opt.learning_rate = 0.1\nassert np.isclose(measured_lr(train_step), 0.01, rtol=1e-3)\n", "01 wrong", ns)
