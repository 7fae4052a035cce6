"""``lr-bench``: run the matrix, list scenarios, build the truth table.

User mistakes end with one line on stderr naming the bad value and what is allowed, and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.config import APIS, DEVICES, MODES, OPTIMIZERS, PROFILES, REPLICAS, STRATEGIES, Config

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the whole usage block first
        raise UsageError(message)


def _ids(option: str, valid: tuple[str, ...]):
    def parse(text: str) -> tuple[str, ...]:
        ids = tuple(i.strip() for i in text.split(",") if i.strip())
        if not ids:
            raise UsageError(f"{option}: empty list; valid: {', '.join(valid)}")
        for i in ids:
            if i not in valid:
                raise UsageError(f"{option}: unknown id {i!r}; valid: {', '.join(valid)}")
        return tuple(dict.fromkeys(ids))
    return parse


def _positive(option: str, minimum: int = 1):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{option}: {text!r} is not a whole number; expected an integer >= {minimum}") from None
        if value < minimum:
            raise UsageError(f"{option}: {value} is too small; expected an integer >= {minimum}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    from bench.flavours import FLAVOURS
    from bench.scenarios import REGISTRY

    p = _Parser(prog="lr-bench", description="Measure what a learning-rate change really does in TensorFlow/Keras.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run the matrix and write results")
    r.add_argument("--profile", choices=tuple(PROFILES), default="full", type=_choice("--profile", tuple(PROFILES)))
    r.add_argument("--scenarios", type=_ids("--scenarios", tuple(REGISTRY)), default=())
    r.add_argument("--flavours", type=_ids("--flavours", tuple(FLAVOURS)), default=())
    r.add_argument("--strategies", type=_ids("--strategies", STRATEGIES), default=("none",),
                   help="tf.distribute strategies (default: none); scenarios that do not apply are left out")
    r.add_argument("--replicas", type=_positive("--replicas", 2), default=REPLICAS,
                   help=f"replicas of mirrored (logical CPUs) and multiworker (processes) on CPU (default {REPLICAS})")
    r.add_argument("--allow-exposed-ports", action="store_true",
                   help="where no private network namespace can be made, run multiworker servers on every "
                        "network interface (trusted networks only)")
    r.add_argument("--apis", type=_ids("--apis", APIS), default=APIS)
    r.add_argument("--modes", type=_ids("--modes", MODES), default=MODES)
    r.add_argument("--devices", type=_ids("--devices", ("auto",) + DEVICES), default=("auto",))
    r.add_argument("--optimizers", type=_ids("--optimizers", OPTIMIZERS), default=OPTIMIZERS)
    r.add_argument("--steps", type=_positive("--steps", 2))
    r.add_argument("--repeats", type=_positive("--repeats"))
    r.add_argument("--seed", type=_positive("--seed", 0), default=0)
    r.add_argument("--workers", type=_positive("--workers"), help="worker processes (default: one per core)")
    r.add_argument("--data", help="a local mnist.npz to train on instead of the synthetic set")
    r.add_argument("--out", default="results")
    r.add_argument("--no-lessons", action="store_true", help="do not rebuild the lessons afterwards")
    r.add_argument("--tensorboard", metavar="DIR", help="also write per-cell TensorBoard scalars into DIR")
    r.add_argument("--resume", action="store_true", help="keep the cells OUT already finished with the same settings")
    r.add_argument("--force", action="store_true", help="with --resume: discard stored cells measured differently")
    r.add_argument("--shard", type=_shard, metavar="K/N", help="run only the K-th of N disjoint parts of the matrix")
    r.add_argument("--cell-timeout", type=_positive("--cell-timeout"), metavar="SECONDS",
                   help="a cell running longer is recorded as an error and its worker replaced")

    sub.add_parser("list", help="each scenario, its description and where it applies")

    rep = sub.add_parser("report", help="rebuild TRUTH.md from a results folder, or put several side by side")
    rep.add_argument("dir", nargs="*", default=["results"],
                     help="one folder: rebuild its TRUTH.md; several (one per version): a side-by-side table")
    rep.add_argument("--out", help="with several folders: write the table here instead of printing it")

    les = sub.add_parser("lessons", help="rebuild the lesson pages, figures and notebooks from a results folder")
    les.add_argument("dir", nargs="?", default="results")
    les.add_argument("--out", default="lessons")

    mrg = sub.add_parser("merge", help="combine shard results into one results folder")
    mrg.add_argument("out", metavar="OUT")
    mrg.add_argument("dirs", metavar="DIR", nargs="+")

    cmp = sub.add_parser("compare", help="the regression gate: exit 1 when CURRENT regressed from BASELINE")
    cmp.add_argument("baseline", metavar="BASELINE")
    cmp.add_argument("current", metavar="CURRENT")
    cmp.add_argument("--max-slowdown", type=_fraction("--max-slowdown"), default=None,
                     help="allowed growth of a cell's step ratio, e.g. 0.25 or 25%% (default 0.25)")

    aud = sub.add_parser("audit", help="check the popular LR-reset recipe's claims: write DIR/AUDIT.md")
    aud.add_argument("dir", nargs="?", default="results")

    from bench.lint.cli import add_parser as add_lint_parser

    add_lint_parser(sub)
    return p


def _fraction(option: str):
    def parse(text: str) -> float:
        try:
            value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise UsageError(f"{option}: {text!r} is not a number; expected a fraction > 0 such as 0.25 or 25%") from None
        if not value > 0 or value == float("inf"):
            raise UsageError(f"{option}: {text} is out of range; expected a fraction > 0 such as 0.25 or 25%")
        return value
    return parse


def _shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        k = n = 0
    if not sep or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: expected K/N with whole numbers 1 <= K <= N, e.g. 1/4")
    return k, n


def _choice(option: str, valid: tuple[str, ...]):
    def parse(text: str) -> str:
        if text not in valid:
            raise UsageError(f"{option}: unknown value {text!r}; valid: {', '.join(valid)}")
        return text
    return parse


def _check_out(path: str, option: str = "--out") -> None:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".lr-bench-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"{option} {path}: not a writable folder ({e.strerror or type(e).__name__})") from None


def cmd_run(args) -> int:
    from bench import data, netns, runner
    from bench.store import ResumeError

    if args.data is not None:
        try:
            data.load_mnist(args.data, n=1)
        except data.DataError as e:
            raise UsageError(str(e)) from None
    _check_out(args.out)
    if args.tensorboard:
        _check_out(args.tensorboard, "--tensorboard")
    cfg = Config(
        profile=args.profile, scenarios=args.scenarios, flavours=args.flavours, strategies=args.strategies,
        replicas=args.replicas, allow_exposed_ports=args.allow_exposed_ports, apis=args.apis, modes=args.modes,
        devices=args.devices, optimizers=args.optimizers, steps=args.steps, repeats=args.repeats, seed=args.seed,
        data=os.path.abspath(args.data) if args.data else None, out=args.out, lessons=not args.no_lessons,
        workers=args.workers, cell_timeout=args.cell_timeout, resume=args.resume, force=args.force, shard=args.shard,
    ).resolved()
    if cfg.change_step >= cfg.steps:
        raise UsageError(f"--steps {cfg.steps}: too few to change the LR mid-run; expected at least 2")
    if set(cfg.strategies) - {"none"} and cfg.batch_size % cfg.replicas:
        raise UsageError(f"--replicas {cfg.replicas}: the batch of {cfg.batch_size} does not split evenly; "
                         f"expected a divisor of {cfg.batch_size}")
    try:
        out = runner.run(cfg)
    except (ResumeError, netns.Refused) as e:
        raise UsageError(str(e)) from None
    except runner.Interrupted as e:
        print(f"lr-bench: {e}", file=sys.stderr)
        return 130
    print(f"wrote {out / 'cells.csv'}, {out / 'steps.csv'}, {out / 'meta.json'}, {out / 'TRUTH.md'}, {out / 'AUDIT.md'}")
    if args.tensorboard:
        from bench import tensorboard

        print(f"wrote {len(tensorboard.write(out, args.tensorboard))} TensorBoard runs into {args.tensorboard}")
    if cfg.lessons and "none" in cfg.strategies:  # the lessons teach the single-device cells
        # the committed lessons follow the committed results; any other --out keeps its own copy
        default = Path(args.out).resolve() == Path("results").resolve()
        _build_lessons(out, Path("lessons") if default else out / "lessons")
    return 0


def _build_lessons(results_dir, out: Path) -> None:
    from bench import lesson_source, lessons, results

    try:
        written = lessons.build(results_dir, out)
    except (results.ResultsError, lesson_source.SourceError) as e:
        raise UsageError(str(e)) from None
    print(f"wrote {len(written)} lesson files into {out}")


def cmd_lessons(args) -> int:
    _check_out(args.out)
    _build_lessons(args.dir, Path(args.out))
    return 0


def cmd_list(args) -> int:
    from bench.flavours import FLAVOURS
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
    from bench import report, results, versions

    try:
        if len(args.dir) == 1:
            print(f"wrote {report.write_truth(args.dir[0])}")
            return 0
        text = versions.render(args.dir)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    if args.out:
        results.atomic_write(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_merge(args) -> int:
    from bench import merge, results

    _check_out(args.out, "merge OUT")
    try:
        out = merge.merge(args.out, args.dirs)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    print(f"merged {len(args.dirs)} folders into {out}")
    return 0


def cmd_compare(args) -> int:
    from bench import compare, results

    slowdown = compare.MAX_SLOWDOWN if args.max_slowdown is None else args.max_slowdown
    try:
        comp = compare.compare(args.baseline, args.current, slowdown)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    print(compare.render(comp, slowdown))
    return comp.exit_code


def cmd_audit(args) -> int:
    from bench import audit, results

    try:
        path = audit.write_audit(args.dir)
    except results.ResultsError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"{args.dir}: cannot write {audit.AUDIT_MD} ({e.strerror or type(e).__name__})") from None
    print(f"wrote {path}")
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "report": cmd_report, "lessons": cmd_lessons, "compare": cmd_compare, "merge": cmd_merge}
COMMANDS["audit"] = cmd_audit


def cmd_lint(args) -> int:
    from bench.lint.cli import run
    from bench.lint.config import ConfigError

    try:
        return run(args)
    except ConfigError as e:
        raise UsageError(str(e)) from None


COMMANDS["lint"] = cmd_lint


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        status = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, so a closed pipe is caught below rather than at exit
        return status
    except UsageError as e:
        print(f"lr-bench: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lr-bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `lr-bench list | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
