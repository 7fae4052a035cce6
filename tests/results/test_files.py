"""Results files are written atomically and get the mode any new file would get: a folder of
results is read by other people and web servers, and a rename keeps the temporary file's mode."""

import os
import stat

import pytest

from bench import results
from bench.lessons import plots


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_written_file_has_the_mode_the_umask_gives(tmp_path, umask):
    path = tmp_path / "TRUTH.md"
    results.atomic_write(path, "# truth\n")
    assert path.read_text() == "# truth\n"
    assert _mode(path) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["TRUTH.md"]  # no temporary file left


def test_a_replaced_file_gets_it_too(tmp_path, umask):
    path = tmp_path / "cells.csv"
    path.write_text("old\n")
    os.chmod(path, 0o600)
    results.atomic_write(path, "new\n")
    assert path.read_text() == "new\n" and _mode(path) == 0o666 & ~umask


def test_a_figure_has_the_mode_the_umask_gives(tmp_path, umask):
    fig = plots.plt.figure(figsize=(1, 1))
    path = plots.save(fig, tmp_path / "figure.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _mode(path) == 0o666 & ~umask
