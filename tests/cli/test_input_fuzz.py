"""Property-based: random input to the argument parser and the results reader."""

import contextlib
import io
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import cli, results

OPTIONS = ["--profile", "--scenarios", "--flavours", "--apis", "--modes", "--devices", "--optimizers",
           "--steps", "--repeats", "--seed", "--workers", "--cell-timeout", "--out", "--data"]
words = st.text(alphabet=string.ascii_letters + string.digits + ",-_./ ", max_size=12)


def _asks_for_help(token: str) -> bool:
    """-h (and -hh...), or --help or a prefix of it argparse accepts as an abbreviation."""
    return re.fullmatch(r"-h+|--h(e(lp?)?)?", token) is not None


def _parse_run(argv):
    """Parse ``run ARGV``; returns (args, help text) with help text set only on a help request's exit."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            return cli.build_parser().parse_args(["run", *argv]), None
        except SystemExit as e:
            assert e.code == 0, (argv, e.code)  # anything but help goes through UsageError
            return None, out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(OPTIONS), words), max_size=6))
def test_parser_parses_names_the_problem_or_prints_help(argv):
    try:
        args, helped = _parse_run(argv)
    except cli.UsageError as e:
        assert str(e) and "\n" not in str(e)
        return
    if helped is not None:  # argparse's own help action: usage on stdout, exit 0
        assert any(_asks_for_help(t) for t in argv), argv
        assert helped.startswith("usage: lr-bench run")
        return
    assert args.command == "run"
    for n in (args.steps, args.repeats, args.workers, args.cell_timeout):
        assert n is None or n >= 1


@pytest.mark.parametrize("argv", [["-h"], ["--he"], ["--help"], ["--steps", "3", "-h"]])
def test_a_help_request_prints_usage_and_exits_0(argv):
    args, helped = _parse_run(argv)
    assert args is None and helped.startswith("usage: lr-bench run") and "--resume" in helped


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_reader_rejects_garbage_with_a_results_error(tmp_path, blob):
    (tmp_path / "cells.csv").write_bytes(blob)
    (tmp_path / "steps.csv").write_bytes(blob)
    (tmp_path / "meta.json").write_bytes(blob)
    with pytest.raises(results.ResultsError, match="cells.csv"):
        results.read_cells(tmp_path)
    with pytest.raises(results.ResultsError, match="steps.csv"):
        results.read_steps(tmp_path)
    try:
        meta = results.read_meta(tmp_path)
    except results.ResultsError as e:
        assert "meta.json" in str(e)
    else:  # only a JSON object is accepted
        assert isinstance(meta, dict)
