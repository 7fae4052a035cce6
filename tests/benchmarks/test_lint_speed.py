"""``lr-bench lint`` over this repository's lessons and tests: the wall time a user waits.

Run as a user runs it, in a fresh interpreter each round (start-up included). The target is under
2 s on two cores; the best round and the median are printed, never asserted (the machine is
shared). The run also reports the findings in the lessons' fixed snippets, which must be none
(``tests/lint/test_lessons.py`` checks each snippet on its own).
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
ROUNDS = 5
TARGET_S = 2.0


def _lint(*args):
    return subprocess.run([sys.executable, "-m", "bench", "lint", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def _fixed_snippet_findings() -> tuple[int, int]:
    """Findings in the lessons' fixed snippets, each linted after its lesson's setup (default rules)."""
    from bench.lint import lint_text, sources
    from bench.lint.config import Options

    total = count = 0
    for lesson in sorted((ROOT / "bench" / "lessons" / "src").glob("*.md")):
        blocks = sources.markdown_blocks(lesson.read_text())
        setup = sum((b for info, _, b in blocks if "setup" in info.split()), [])
        for info, _, body in blocks:
            if "fixed" in info.split():
                count += 1
                total += len(lint_text("\n".join(setup + body) + "\n", "snippet.py", "keras3", Options().codes()))
    return total, count


def test_lint_speed_over_lessons_and_tests(benchmark, figures):
    walls = []

    def one():
        t = time.perf_counter()
        proc = _lint("bench/lessons/src", "tests", "--target", "keras3", "--format", "json")
        walls.append(time.perf_counter() - t)
        assert proc.returncode in (0, 1), proc.stderr
        return proc

    benchmark.group = "lint"
    proc = benchmark.pedantic(one, rounds=ROUNDS, warmup_rounds=0)
    findings = json.loads(proc.stdout)
    files = len({f["path"] for f in findings})
    false_positives, fixed = _fixed_snippet_findings()
    benchmark.extra_info.update(wall_s=walls, findings=len(findings), fixed_snippet_findings=false_positives)
    figures.append(f"lr-bench lint bench/lessons/src tests: best {min(walls):.2f} s, median {statistics.median(walls):.2f} s "
                   f"over {ROUNDS} cold runs (target < {TARGET_S:.0f} s); {len(findings)} findings in {files} files; "
                   f"{false_positives} findings in the {fixed} fixed snippets")
