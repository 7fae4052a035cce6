"""A private network namespace: where the multiworker processes reach each other and nothing else.

TensorFlow's gRPC server binds ``0.0.0.0:<port>`` whatever host ``TF_CONFIG`` names, with insecure
credentials, and it runs the graphs it is sent. So the processes of a multiworker cell run inside a
network namespace of their own, whose only interface is its loopback: nothing outside the
namespace, on this machine or off it, can reach their servers.

A *holder* process (``python -m bench.procs.netns``) makes the namespace: it unshares a network namespace
(as root; otherwise a user namespace with it, mapping only the caller's own uid and gid), brings its
loopback up, reports, and stays until its stdin closes or its parent dies. Processes join the
holder's namespaces between fork and exec (``Namespace.preexec``), so they talk to their parent
over pipes as before and share one loopback with each other.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys

from bench.procs import die_with_parent

#: How a run's multiworker processes are networked (``meta.json``'s ``multiworker_network``): in a
#: private namespace, or, opted in with ``--allow-exposed-ports``, on every interface of this machine.
PRIVATE, EXPOSED = "private", "exposed"
FLAG = "--allow-exposed-ports"

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


class Unavailable(RuntimeError):
    """No private network namespace can be made here; the message says why."""


class Refused(ValueError):
    """Multiworker cells were asked for where they would be exposed, without the opt-in."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python >= 3.12
        os.unshare(flags)
        return
    if _libc().unshare(flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _setns(fd: int, nstype: int) -> None:
    if hasattr(os, "setns"):  # Python >= 3.12
        os.setns(fd, nstype)
        return
    if _libc().setns(fd, nstype) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req + b"\0" * 22)[:18])[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP) + b"\0" * 22)


def enter_private() -> bool:
    """Move this (single-threaded) process into a new network namespace with its loopback up.
    Returns whether a user namespace was needed for it. Raises OSError when neither works."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        _unshare(CLONE_NEWNET)  # root, or CAP_SYS_ADMIN: no user namespace needed
        user = False
    except PermissionError:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        user = True
    _loopback_up()
    return user


def interfaces(pid: int | str = "self") -> list[str]:
    """The network interfaces of a process's namespace (from ``/proc/<pid>/net/dev``)."""
    with open(f"/proc/{pid}/net/dev") as f:
        return [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]


class Namespace:
    """A private network namespace, held open by a holder process."""

    def __init__(self):
        if not sys.platform.startswith("linux"):
            raise Unavailable(f"private network namespaces are Linux-only (this is {sys.platform})")
        self.holder = subprocess.Popen(
            [sys.executable, "-m", "bench.procs.netns"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True, preexec_fn=die_with_parent,
        )
        line = self.holder.stdout.readline()
        try:
            answer = json.loads(line)
        except ValueError:
            answer = {"error": f"the namespace holder exited with status {self.holder.wait()}"}
        if "error" in answer:
            self.close()
            raise Unavailable(answer["error"])
        self.user = bool(answer["user"])
        self._fds = []
        try:
            if self.user:
                self._fds.append((os.open(f"/proc/{self.holder.pid}/ns/user", os.O_RDONLY), CLONE_NEWUSER))
            self._fds.append((os.open(f"/proc/{self.holder.pid}/ns/net", os.O_RDONLY), CLONE_NEWNET))
        except OSError as e:
            self.close()
            raise Unavailable(f"cannot open the namespace holder's namespaces ({e.strerror})") from None

    def preexec(self) -> None:
        """``preexec_fn`` of a process that joins the namespace (and dies with its parent)."""
        for fd, nstype in self._fds:
            _setns(fd, nstype)
        die_with_parent()

    def close(self) -> None:
        for fd, _ in getattr(self, "_fds", []):
            os.close(fd)
        self._fds = []
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        for stream in (self.holder.stdin, self.holder.stdout):
            stream.close()


def unavailable() -> str | None:
    """Why no private network namespace can be made here, or None when one can."""
    try:
        Namespace().close()
    except Unavailable as e:
        return str(e)
    return None


def choose(allow_exposed: bool) -> tuple[str, str]:
    """The network of a run's multiworker processes, and a warning to print on every run ('' when
    none). A private namespace wherever one can be made; otherwise ``Refused`` unless opted in."""
    why = unavailable()
    if why is None:
        return PRIVATE, ""
    if not allow_exposed:
        raise Refused(f"--strategies multiworker: {why}, and without one TensorFlow's multiworker servers "
                      f"would listen on every network interface; {FLAG} runs them so, on trusted networks only")
    return EXPOSED, (f"warning: multiworker servers listen on every network interface of this machine while "
                     f"their cells run ({FLAG}; {why})")


def main() -> None:
    """The holder: make the namespace, say so on stdout, and keep it until stdin closes."""
    try:
        user = enter_private()
    except OSError as e:
        why = {errno.EPERM: "not permitted", errno.ENOSPC: "the namespace limit is 0",
               errno.EINVAL: "not supported by this kernel"}.get(e.errno, e.strerror)
        print(json.dumps({"error": f"a private network namespace cannot be made here (unshare: {why})"}), flush=True)
        return
    print(json.dumps({"user": user, "interfaces": interfaces()}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
