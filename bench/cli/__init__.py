"""``lr-bench``: run the matrix, list scenarios, build the truth table, lessons and audit, compare
and merge results folders, and lint training code.

User mistakes end with one line on stderr naming the bad value and what is allowed, and exit 2.
"""

from __future__ import annotations

import os
import sys

from bench.cli.commands import COMMANDS
from bench.cli.options import UsageError, build_parser

EXIT_USAGE = 2

__all__ = ["EXIT_USAGE", "UsageError", "build_parser", "main"]


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
