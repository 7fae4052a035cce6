"""What each subcommand does, once its options have been checked (``bench.cli.options``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.cli.options import UsageError, check_out
from bench.core.config import Config


def cmd_run(args) -> int:
    from bench import runner
    from bench.core import data
    from bench.procs import netns
    from bench.runner import publish
    from bench.runner.store import ResumeError

    if args.data is not None:
        try:
            data.load_mnist(args.data, n=1)
        except data.DataError as e:
            raise UsageError(str(e)) from None
    check_out(args.out)
    if args.tensorboard:
        check_out(args.tensorboard, "--tensorboard")
    cfg = Config(
        profile=args.profile, scenarios=args.scenarios, flavours=args.flavours, strategies=args.strategies,
        replicas=args.replicas, allow_exposed_ports=args.allow_exposed_ports, apis=args.apis, modes=args.modes,
        devices=args.devices, optimizers=args.optimizers, cover=args.cover, steps=args.steps, repeats=args.repeats,
        seed=args.seed,
        data=os.path.abspath(args.data) if args.data else None, out=args.out, lessons=not args.no_lessons,
        workers=args.workers, cell_timeout=args.cell_timeout, resume=args.resume, force=args.force,
        keep_errors=args.keep_errors, shard=args.shard,
    ).resolved()
    if cfg.change_step >= cfg.steps:
        raise UsageError(f"--steps {cfg.steps}: too few to change the LR mid-run; expected at least 2")
    if set(cfg.strategies) - {"none"} and cfg.batch_size % cfg.replicas:
        raise UsageError(f"--replicas {cfg.replicas}: the batch of {cfg.batch_size} does not split evenly; "
                         f"expected a divisor of {cfg.batch_size}")
    try:
        out = runner.run(cfg)
    except (ResumeError, netns.Refused, runner.NoFlavour) as e:
        raise UsageError(str(e)) from None
    except runner.Interrupted as e:
        print(f"lr-bench: {e}", file=sys.stderr)
        return 130
    except runner.NothingToRun as e:
        print(e)
        return 0
    print("wrote " + ", ".join(str(p) for p in publish.contents(out)))
    lessons = None
    if cfg.lessons and "none" in cfg.strategies:  # the lessons teach the single-device cells
        # the committed lessons follow the committed results; any other --out keeps its own copy
        default = Path(args.out).resolve() == Path("results").resolve()
        lessons = Path("lessons") if default else out / "lessons"
    _extras(out, lessons, args.tensorboard)
    return 0


def _extras(results_dir, lessons_dir=None, tensorboard_dir=None) -> None:
    from bench import results
    from bench.lessons.sources import SourceError
    from bench.runner import publish

    try:
        for line in publish.extras(results_dir, lessons_dir, tensorboard_dir):
            print(line)
    except (results.ResultsError, SourceError) as e:
        raise UsageError(str(e)) from None


def cmd_lessons(args) -> int:
    check_out(args.out)
    _extras(args.dir, lessons_dir=Path(args.out))
    return 0


def cmd_list(args) -> int:
    from bench.core.flavours import FLAVOURS
    from bench.scenarios import REGISTRY

    for sid, s in REGISTRY.items():
        flavours = ",".join(s.flavours or tuple(FLAVOURS))
        print(f"{sid:26s} {s.doc}")
        print(f"{'':26s} apis={','.join(s.apis)} modes={','.join(s.modes)} optimizers={','.join(s.optimizers)} "
              f"flavours={flavours} strategies={','.join(s.strategies)}")
        if s.retraces:
            print(f"{'':26s} retraces {s.retraces}")
    return 0


def cmd_report(args) -> int:
    from bench import results
    from bench.analysis import history, releases, truth
    from bench.analysis.releases import discover

    try:
        if len(args.dir) == 1 and discover(args.dir[0]) and not (Path(args.dir[0]) / results.CELLS_CSV).exists():
            print(f"wrote {history.write_releases(args.dir[0])}")  # a sweep's folder of releases
            return 0
        if len(args.dir) == 1:
            print(f"wrote {truth.write_truth(args.dir[0])}")
            return 0
        text = releases.render(args.dir)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    if args.out:
        results.atomic_write(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_merge(args) -> int:
    from bench import results
    from bench.analysis import merge

    check_out(args.out, "merge OUT")
    try:
        out = merge.merge(args.out, args.dirs)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    print(f"merged {len(args.dirs)} folders into {out}")
    return 0


def cmd_compare(args) -> int:
    from bench import results
    from bench.analysis import compare, recheck

    slowdown = compare.MAX_SLOWDOWN if args.max_slowdown is None else args.max_slowdown
    try:
        comp = compare.compare(args.baseline, args.current, slowdown)
        if args.recheck is not None:
            comp = recheck.recheck(comp, args.baseline, args.recheck, slowdown)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    print(compare.render(comp, slowdown))
    return comp.exit_code


def cmd_audit(args) -> int:
    from bench import results
    from bench.analysis import audit

    try:
        path = audit.write_audit(args.dir)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"{args.dir}: cannot write {audit.AUDIT_MD} ({e.strerror or type(e).__name__})") from None
    print(f"wrote {path}")
    return 0




def cmd_sweep(args) -> int:
    from bench import results
    from bench.runner import sweep

    check_out(args.out)
    run_args = [a for option in ("scenarios", "flavours", "apis", "modes", "optimizers")
                if getattr(args, option) for a in (f"--{option}", ",".join(getattr(args, option)))]
    if not args.retry_errors:
        run_args.append("--keep-errors")
    try:
        path = sweep.run(list(args.releases), args.out, args.envs or sweep.default_envs(), run_args,
                         say=lambda line: print(line, flush=True))
    except (sweep.SweepError, results.ResultsError) as e:
        raise UsageError(str(e)) from None
    print(f"wrote {path}")
    return 0


def cmd_lint(args) -> int:
    from bench.lint.cli import run
    from bench.lint.config import ConfigError

    try:
        return run(args)
    except ConfigError as e:
        raise UsageError(str(e)) from None


COMMANDS = {"run": cmd_run, "list": cmd_list, "report": cmd_report, "lessons": cmd_lessons, "compare": cmd_compare,
            "merge": cmd_merge, "audit": cmd_audit, "lint": cmd_lint, "sweep": cmd_sweep}
