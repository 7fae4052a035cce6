"""The command line's grammar: every subcommand's options and the checks on their values.

A bad value raises ``UsageError`` naming the option, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.core.config import APIS, DEVICES, MODES, OPTIMIZERS, PROFILES, REPLICAS, STRATEGIES
from bench.core.cover import COVERS


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
    from bench.core.flavours import FLAVOURS
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
    r.add_argument("--cover", type=_choice("--cover", COVERS), default=None,
                   help="all: each cell with every optimizer; pairs: each with one, alternating so that every "
                        "flavour, API and mode of a scenario meets both (default: pairs for quick, all for full)")
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
    r.add_argument("--keep-errors", action="store_true",
                   help="with --resume: keep OUT's error cells as measured instead of running them again "
                        "(on an older release an error is often the result)")
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
    cmp.add_argument("--recheck", metavar="DIR", default=None,
                     help="a second run of CURRENT's matrix: a step-ratio regression fails only if this run "
                          "shows it too (a burst of load moves a cell once, a slower step every time)")

    aud = sub.add_parser("audit", help="check the popular LR-reset recipe's claims: write DIR/AUDIT.md")
    aud.add_argument("dir", nargs="?", default="results")

    from bench.runner.sweep import TARGETS

    sw = sub.add_parser("sweep", help="the quick matrix on every release, each in an environment of its own: "
                                      "OUT/<release>/ and OUT/RELEASES.md")
    sw.add_argument("--releases", type=_ids("--releases", tuple(TARGETS)), default=tuple(TARGETS),
                    help="which releases, e.g. tf-2.15,tf-2.21,keras-3.5 (default: all, in order)")
    sw.add_argument("--out", default="results/releases")
    sw.add_argument("--envs", metavar="DIR", help="where the environments are kept (default: ~/.cache/lr-bench/envs)")
    sw.add_argument("--retry-errors", action="store_true",
                    help="run a measured release's error cells again (by default they are its results)")
    for option, valid in (("--scenarios", tuple(REGISTRY)), ("--flavours", tuple(FLAVOURS)), ("--apis", APIS),
                          ("--modes", MODES), ("--optimizers", OPTIMIZERS)):
        sw.add_argument(option, type=_ids(option, valid), default=(), help="passed to each release's run")

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


def check_out(path: str, option: str = "--out") -> None:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".lr-bench-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"{option} {path}: not a writable folder ({e.strerror or type(e).__name__})") from None
