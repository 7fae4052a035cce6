"""Nothing a run starts listens beyond loopback.

TensorFlow's multiworker servers bind every interface; the bench runs them in a private network
namespace whose only interface is its loopback. These tests list, while a run goes on, the
listening sockets of every process of that run (``tests/proctree.py``) and fail on any reachable
from outside it. Where no namespace can be made, multiworker cells are refused unless opted in.
"""

import json
import shutil
import subprocess
import sys

import pytest

from bench.procs import netns
from tests.proctree import tagged, tagged_env, watch_run

ONE = ["run", "--profile", "quick", "--flavours", "keras3", "--devices", "cpu", "--modes", "function",
       "--optimizers", "sgd", "--apis", "loop", "--scenarios", "static", "--no-lessons", "--workers", "1"]


def _limits_zero() -> list[str]:
    """A command prefix whose processes can make no namespace at all: a user namespace of their own
    in which the namespace limits are 0 (the machine's limits are untouched)."""
    return ["unshare", "--user", "--map-root-user", "sh", "-c",
            'echo 0 > /proc/sys/user/max_user_namespaces && echo 0 > /proc/sys/user/max_net_namespaces && exec "$@"',
            "sh"]


def test_namespace_has_only_its_loopback_and_it_is_up():
    ns = netns.Namespace()
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import socket, sys; from bench.procs import netns; s = socket.socket(); "
             "s.bind(('0.0.0.0', 0)); s.listen(); c = socket.create_connection(('127.0.0.1', s.getsockname()[1])); "
             "print(netns.interfaces())"],
            preexec_fn=ns.preexec, capture_output=True, text=True, timeout=60)
    finally:
        ns.close()
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "['lo']"


def test_multiworker_servers_are_reachable_from_their_namespace_only(tmp_path):
    env, tag = tagged_env()
    proc, seen = watch_run([*ONE, "--strategies", "multiworker", "--out", str(tmp_path)], env, tag)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the servers were seen (one per process), so the check below looked at them
    assert len(seen) >= 2, seen
    assert not any(seen.values()), seen
    assert json.loads((tmp_path / "meta.json").read_text())["multiworker_network"] == "private"
    assert "warning" not in proc.stderr
    assert not tagged(tag)  # and nothing of the run is left


def test_single_device_and_mirrored_cells_listen_nowhere_beyond_loopback(tmp_path):
    env, tag = tagged_env()
    proc, seen = watch_run([*ONE, "--strategies", "none,mirrored", "--out", str(tmp_path)], env, tag)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not any(seen.values()), seen
    assert "multiworker_network" not in json.loads((tmp_path / "meta.json").read_text())


needs_unshare = pytest.mark.skipif(
    shutil.which("unshare") is None or subprocess.run(_limits_zero() + ["true"], capture_output=True).returncode,
    reason="needs util-linux unshare and user namespaces to make namespaces unavailable to one run")


@needs_unshare
def test_without_a_namespace_multiworker_is_refused_with_one_line(tmp_path):
    env, tag = tagged_env()
    proc = subprocess.run(_limits_zero() + [sys.executable, "-m", "bench", *ONE, "--strategies", "multiworker",
                                            "--out", str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "cannot be made here" in proc.stderr and "--allow-exposed-ports" in proc.stderr
    assert not (tmp_path / "cells.csv").exists()


@needs_unshare
def test_opted_in_without_a_namespace_the_servers_are_exposed_and_the_check_sees_it(tmp_path):
    env, tag = tagged_env()
    proc, seen = watch_run([*ONE, "--allow-exposed-ports", "--strategies", "multiworker", "--out", str(tmp_path)],
                           env, tag, prefix=_limits_zero())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("warning: multiworker servers listen on every network interface") == 1
    assert json.loads((tmp_path / "meta.json").read_text())["multiworker_network"] == "exposed"
    assert any(seen.values()), seen  # the same check as above fails on exposed servers
