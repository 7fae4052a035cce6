"""Property-based: random input to the argument parser and the results reader."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import cli, results

OPTIONS = ["--profile", "--scenarios", "--flavours", "--apis", "--modes", "--devices", "--optimizers",
           "--steps", "--repeats", "--seed", "--workers", "--cell-timeout", "--out", "--data"]
words = st.text(alphabet=string.ascii_letters + string.digits + ",-_./ ", max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(OPTIONS), words), max_size=6))
def test_parser_either_parses_or_names_the_problem(argv):
    try:
        args = cli.build_parser().parse_args(["run", *argv])
    except cli.UsageError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert args.command == "run"
    for n in (args.steps, args.repeats, args.workers, args.cell_timeout):
        assert n is None or n >= 1


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
