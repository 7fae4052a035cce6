"""The benchmarks run only when asked for (``tox -e bench``, or ``pytest tests/benchmarks
--benchmark-only``): they train for minutes, and the default test run must stay fast.

Benchmarks print their figures at the end of the run through ``figures`` (pytest captures
their own output); the same numbers go into each benchmark's ``extra_info`` in the saved JSON.
"""

from pathlib import Path

import pytest

HERE = Path(__file__).parent
_FIGURES: list[str] = []


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", default=False):
        return
    ours = [i for i in items if HERE in Path(str(i.path)).parents]
    if ours:
        items[:] = [i for i in items if i not in ours]
        config.hook.pytest_deselected(items=ours)


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("lr-bench figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures() -> list[str]:
    """Append a line here to print it in the run's summary."""
    return _FIGURES
