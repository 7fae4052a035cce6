"""Steady step and trace/compile cost of every scenario's loop step, beside the static step.

Each group holds one scenario and the ``static`` step measured right before it in the same run,
so the saved JSON compares them side by side whatever the machine's speed that minute. The step
is the cell's own (``bench.measure``): the scenario's Python hook runs in pedantic's ``setup``, outside
the clock, and the clock stops after the loss is forced, as in the matrix's timing pass. Keras 3,
Adam, CPU: the legacy flavours need ``TF_USE_LEGACY_KERAS`` set before TensorFlow is imported, which
a pytest process cannot do for one test. Each benchmark also records the tracing count it saw and
the verdict of the same cell run the matrix's way (``bench.measure.cells.CellRunner``), and fails when that
cell is not ``ok`` or when the benchmarked step raised where the cell did not (or the other way):
a step that errors must not be timed unnoticed.
"""

import itertools

import pytest

from bench.core.config import Config
from bench.scenarios import REGISTRY

FLAVOUR, OPTIMIZER, DEVICE = "keras3", "adam", "cpu"
MODES = ("function", "xla")
QUICK = Config(profile="quick").resolved()
#: Steps run before timing starts: the first call (the trace) and the change step are among them.
WARMUP = QUICK.change_step + 2
ROUNDS = 30
TRACE_ROUNDS = 3
#: Printed in the summary: a Python float argument retraces at each new value (the five steps from the
#: change; the timed rounds start two steps in, so three of them retrace), a tensor never.
PRINTED = ("float-arg", "tensor-arg")


def _params():
    for mode in MODES:
        for sid, scenario in REGISTRY.items():
            if scenario.applies(FLAVOUR, "loop", mode, OPTIMIZER):
                for subject in dict.fromkeys(("static", sid)):
                    yield pytest.param(mode, sid, subject, id=f"{mode}-{sid}-{subject}")


PARAMS = list(_params())


@pytest.fixture(scope="session")
def tf_cell():
    from bench.measure import build

    return build


@pytest.fixture(scope="session")
def batches(tf_cell):
    from bench.core import data

    x, y = data.dataset(QUICK.steps * QUICK.batch_size, QUICK.seed, None)
    return tf_cell.make_batches(x, y, QUICK.steps, QUICK.batch_size)


@pytest.fixture(scope="session")
def matrix_cell(tf_cell):
    """The quick-profile cell as the matrix measures it, run once per (scenario, mode)."""
    from bench.measure.cells import CellRunner
    from bench.results.protocol import CellSpec

    runner, cache = CellRunner(gpus=[]), {}

    def get(sid: str, mode: str) -> dict:
        if (sid, mode) not in cache:
            spec = CellSpec(scenario=sid, flavour=FLAVOUR, strategy="none", api="loop", mode=mode, device=DEVICE,
                            optimizer=OPTIMIZER, replicas=1,
                            steps=QUICK.steps, repeats=QUICK.repeats, warmup=QUICK.warmup, seed=QUICK.seed,
                            batch_size=QUICK.batch_size, change_step=QUICK.change_step, data=None)
            cache[sid, mode] = runner.run(spec).cell
        return cache[sid, mode]

    return get


def _ctx(cell, sid: str, mode: str, steps: int):
    from bench.core.flavours import FLAVOURS
    from bench.measure import build, context
    from bench.scenarios import Rates

    ctx = context.Ctx(REGISTRY[sid], FLAVOURS[FLAVOUR], "loop", mode, DEVICE, OPTIMIZER, Rates.for_optimizer(OPTIMIZER),
                   QUICK.change_step, steps)
    build.setup(ctx, QUICK.seed)
    ctx.fn = build.make_loop_step(ctx)
    return ctx


def _hook(ctx, step: int, batches):
    """The scenario's Python side of one step, as the matrix runs it: outside the clock."""
    try:
        ctx.scenario.before_step(ctx, step)
    except Exception as e:  # the change statement raised: the cell trains on, and so do we
        ctx.record_error(e)
    x, y = batches[step % len(batches)]
    return (ctx, x, y, ctx.scenario.step_args(ctx, step)), {}


def _call(ctx, x, y, args):
    ctx.fn(x, y, *args).numpy()  # ctx.fn, not a saved copy: a scenario may retrace by replacing it


def _record(benchmark, ctx, mode, subject, matrix_cell):
    row = matrix_cell(subject, mode)
    assert row.get("status") == "ok", f"{subject} {mode}: the matrix cell is {row.get('status')}: {row.get('error')}"
    benchmark.extra_info.update(
        scenario=subject, mode=mode, flavour=FLAVOUR, optimizer=OPTIMIZER, traces=ctx.traces,
        cell_traces=row.get("traces"), verdict=row.get("verdict"), reported_ok=row.get("reported_ok"),
        cell_status=row.get("status"), cell_step_ratio=row.get("step_ratio"), error=ctx.error or row.get("error", ""),
    )


@pytest.mark.parametrize("mode, sid, subject", PARAMS)
def test_steady_step(benchmark, figures, tf_cell, batches, matrix_cell, mode, sid, subject):
    benchmark.group = f"steady {mode} {sid}"
    ctx = _ctx(tf_cell, subject, mode, WARMUP + ROUNDS)
    steps = itertools.count()
    benchmark.pedantic(_call, setup=lambda: _hook(ctx, next(steps), batches), rounds=ROUNDS, warmup_rounds=WARMUP)
    _record(benchmark, ctx, mode, subject, matrix_cell)
    # past the change step: its statement raising is a measured outcome (verdict `raises`), and the
    # timed steps must have seen the same as the cell
    verdict = matrix_cell(subject, mode)["verdict"]
    assert bool(ctx.error) == (verdict == "raises"), (subject, mode, ctx.error, verdict)
    benchmark.extra_info["steps"] = next(steps)
    if sid in PRINTED and subject == sid:
        figures.append(f"steady step, keras3 loop {mode} adam, {sid}: median {benchmark.stats.stats.median * 1e3:.3f} ms; "
                       f"its quick cell's step / bare loop = {matrix_cell(sid, mode)['step_ratio']:.2f}, "
                       f"static's = {matrix_cell('static', mode)['step_ratio']:.2f}")


@pytest.mark.parametrize("mode, sid, subject", PARAMS)
def test_trace_cost(benchmark, tf_cell, batches, matrix_cell, mode, sid, subject):
    benchmark.group = f"trace {mode} {sid}"
    made = []

    def fresh():  # a new model, optimizer and tf.function each round, built outside the clock
        made.append(_ctx(tf_cell, subject, mode, QUICK.steps))
        return _hook(made[-1], 0, batches)

    benchmark.pedantic(_call, setup=fresh, rounds=TRACE_ROUNDS)
    _record(benchmark, made[-1], mode, subject, matrix_cell)
    benchmark.extra_info["traces_per_round"] = [c.traces for c in made]
