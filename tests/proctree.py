"""What the processes of one run are and where they listen, read from /proc (Linux).

A run is found by a tag in its environment, which every process it starts inherits, so a test sees
its own run's processes and never another run's on the same machine (a second checkout, ``tox -p``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.procs import netns


def tagged_env(**extra) -> tuple[dict, str]:
    """An environment for a CLI run, with a tag of its own; returns (env, tag)."""
    tag = uuid.uuid4().hex
    return dict(os.environ, LR_BENCH_TEST_RUN=tag, **extra), tag


def tagged(tag: str) -> list[int]:
    """Live processes whose environment carries ``tag``."""
    needle = f"LR_BENCH_TEST_RUN={tag}".encode()
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (d / "environ").read_bytes().split(b"\0"):
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(d.name))
        except OSError:
            pass
    return found


def _address(hex_addr: str) -> str:
    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(host, 16)))
    else:  # four little-endian 32-bit words
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(struct.pack("<I", int(host[i:i + 8], 16))
                                                        for i in range(0, 32, 8)))
    return f"{ip}:{int(port, 16)}"


def listening(pid: int) -> list[str]:
    """``address:port`` of every TCP socket process ``pid`` listens on."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                  if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
    except OSError:  # gone, or a descriptor closed while read
        return []
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # TCP_LISTEN
                found.append(_address(f[1]))
    return found


def reachable_beyond_loopback(pid: int, address: str) -> bool:
    """Whether a socket listening on ``address`` in ``pid``'s network namespace can be reached
    from anything but that namespace's loopback: a non-loopback address, or a wildcard in a
    namespace that has an interface besides ``lo``."""
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    if ip.is_loopback:
        return False
    try:
        return netns.interfaces(pid) != ["lo"]
    except OSError:
        return True  # cannot tell: count it as exposed


def watch_run(args: list[str], env: dict, tag: str, timeout: float = 900,
              prefix: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``python -m bench ARGS`` (behind the command ``prefix``) and, while it runs, every 0.1 s, list the listening sockets of
    every process of the run. Returns the finished process and ``{(pid, address): exposed}``."""
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "bench", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict[tuple[int, str], bool] = {}
    deadline = time.monotonic() + timeout
    out: dict[str, str] = {}
    readers = [threading.Thread(target=lambda k, s: out.__setitem__(k, s.read()), args=(k, s), daemon=True)
               for k, s in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for r in readers:
        r.start()
    while proc.poll() is None and time.monotonic() < deadline:
        for pid in tagged(tag):
            for address in listening(pid):
                if (pid, address) not in seen:
                    seen[(pid, address)] = reachable_beyond_loopback(pid, address)
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for r in readers:
        r.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.get("stdout", ""), out.get("stderr", "")), seen
