"""``lr-bench lint PATH...``: the subcommand's options and what it does with them."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.lint import config, docs, engine, evidence, fix, formats, sources
from bench.lint.config import ConfigError, Options
from bench.lint.target import TARGETS

EXIT_CLEAN, EXIT_FINDINGS = 0, 1
DOCS = Path("lessons/lint")


def add_parser(sub) -> None:
    p = sub.add_parser("lint", help="find measured LR pitfalls in Python files, Markdown snippets and notebooks (no TensorFlow)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (.py files, python blocks in .md, code cells in .ipynb)")
    p.add_argument("--target", help=f"Keras to cite: {', '.join(TARGETS)} (default: the installed TensorFlow's)")
    p.add_argument("--format", help=f"output: {', '.join(config.FORMATS)} (default text)")
    p.add_argument("--select", help="rule codes or prefixes to run (default: every rule on by default; ALL: every rule)")
    p.add_argument("--ignore", help="rule codes or prefixes to leave out")
    p.add_argument("--exclude", help="comma-separated glob patterns of files to skip")
    p.add_argument("--all", action="store_true", default=None,
                   help="also report patterns measured fine on the target, as information")
    p.add_argument("--fix", action="store_true", help="apply the rewrites that are safe on the target")
    p.add_argument("--evidence", metavar="FILE", help="measured verdicts to cite (default: the file shipped with lr-bench)")
    p.add_argument("--refresh-evidence", metavar="DIR", nargs="+",
                   help="rebuild the shipped evidence from results folder DIR (then any release-sweep folders, "
                        "one per version), and the rule pages in lessons/lint/")
    p.add_argument("--write-docs", metavar="DIR", nargs="?", const=str(DOCS),
                   help="write one page per rule and an index into DIR (default lessons/lint)")


def options(args) -> Options:
    opts = config.from_pyproject(config.find_pyproject(args.paths), Options())
    if args.select is not None:
        opts.select = config.codes_list("--select", args.select)
    if args.ignore is not None:
        opts.ignore = config.codes_list("--ignore", args.ignore)
    if args.target is not None:
        opts.target = config.choice("--target", args.target, TARGETS)
    if args.format is not None:
        opts.format = config.choice("--format", args.format, config.FORMATS)
    if args.exclude is not None:
        opts.exclude = tuple(p.strip() for p in args.exclude.split(",") if p.strip())
    if args.all:
        opts.all = True
    return opts


def run(args) -> int:
    if args.refresh_evidence:
        for folder in map(Path, args.refresh_evidence):
            if not (folder / "cells.csv").is_file() or not (folder / "meta.json").is_file():
                raise ConfigError(f"--refresh-evidence: {str(folder)!r} has no cells.csv and meta.json; "
                                  "expected a results folder")
        first, *sweep = args.refresh_evidence
        print(f"wrote {evidence.refresh(first, sweep)}")
        if DOCS.parent.is_dir():
            print(f"wrote {len(docs.write(DOCS))} rule pages in {DOCS}/")
        return EXIT_CLEAN
    if args.write_docs:
        print(f"wrote {len(docs.write(Path(args.write_docs)))} rule pages in {args.write_docs}/")
        return EXIT_CLEAN
    if not args.paths:
        raise ConfigError("lint: no PATH given; expected one or more files or folders")
    for p in args.paths:
        if not Path(p).exists():
            raise ConfigError(f"lint: {p!r}: no such file or folder")
    if args.evidence:
        if not Path(args.evidence).is_file():
            raise ConfigError(f"--evidence: {args.evidence!r}: no such file")
        try:
            doc = evidence.load(args.evidence)
            assert isinstance(doc["scenarios"], dict) and isinstance(doc["versions"], dict)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise ConfigError(f"--evidence: {args.evidence!r} is not an evidence file "
                              "(expected one written by --refresh-evidence)") from None
    opts = options(args)
    codes, target = opts.codes(), opts.flavour()
    findings, fixed = [], 0
    for path in sources.discover(args.paths, opts.exclude):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as e:
            raise ConfigError(f"lint: {str(path)!r}: cannot be read as UTF-8 text ({e.__class__.__name__})") from None
        found = engine.lint_text(text, str(path), target, codes, opts.all, args.evidence)
        if args.fix and any(f.edits for f in found):
            fixed += fix.apply(path, found)
            found = engine.lint_text(path.read_text(encoding="utf-8"), str(path), target, codes, opts.all, args.evidence)
        findings += found
    sys.stdout.write(formats.WRITERS[opts.format](findings))
    if args.fix and fixed:
        print(f"lr-bench lint: fixed {fixed} finding(s)", file=sys.stderr)
    return EXIT_FINDINGS if any(f.severity != "info" for f in findings) else EXIT_CLEAN
