"""lessons/catch-it.md runs as written: its Python blocks execute in order, in one namespace, and
what each prints is the output block the page shows beneath it."""

import contextlib
import io
import re
from pathlib import Path

import pytest

import tensorflow  # noqa: E402,F401  required: a broken install fails here, not skips

PAGE = Path(__file__).resolve().parents[2] / "lessons" / "catch-it.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def _blocks():
    """(code, shown output or None) for each Python block of the page."""
    fences = [(m.group(1), m.group(2)) for m in FENCE.finditer(PAGE.read_text(encoding="utf-8"))]
    out = []
    for i, (lang, body) in enumerate(fences):
        if lang == "python":
            shown = fences[i + 1][1] if i + 1 < len(fences) and fences[i + 1][0] == "text" else None
            out.append((body, shown))
    return out


@pytest.fixture(scope="module")
def page_run(tmp_path_factory):
    namespace, printed = {"__name__": "catch_it"}, []
    folder = tmp_path_factory.mktemp("catch_it")
    for i, (code, shown) in enumerate(_blocks()):
        # Each block from a file of its own, as a reader would run it: AutoGraph reads the
        # source of the functions it converts.
        path = folder / f"block_{i + 1}.py"
        path.write_text(code, encoding="utf-8")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - the page's own code
        printed.append((buf.getvalue(), shown))
    return namespace, printed


def test_page_has_the_promised_sections():
    text = PAGE.read_text(encoding="utf-8")
    assert text.startswith("# Catch it in your own training\n")
    assert len(_blocks()) >= 5


def test_each_block_prints_what_the_page_shows(page_run):
    _, printed = page_run
    shown = [(got, want) for got, want in printed if want is not None]
    assert len(shown) == 5
    for got, want in shown:
        assert got == want


def test_swap_raised_and_assign_passed(page_run):
    ns, _ = page_run
    assert isinstance(ns["caught"], ns["LRMismatchError"]) and str(ns["caught"]).startswith("step 3: ")
    assert [r["step"] for r in ns["monitor"].records] == list(range(6))  # the assign run went to the end


def test_the_page_test_functions_pass_with_the_plugin_fixtures(page_run, effective_lr, max_traces):
    ns, _ = page_run
    ns["test_lr_change_takes_effect"](effective_lr)
    ns["test_step_does_not_retrace"](max_traces)
