"""TensorBoard scalars per cell, written from the results rows without TensorFlow.

An event file is a TFRecord stream of ``Event`` protocol buffers. The few fields needed here
(``wall_time``, ``step``, ``file_version``, and a ``Summary`` of ``simple_value`` scalars) are
encoded by hand, so the parent process never pays for importing TensorFlow. One run folder per
cell, ``DIR/<scenario>/<flavour>.<api>.<mode>.<device>.<optimizer>``; each step is the mean over
repeats.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import tempfile
import time
from pathlib import Path

from bench import results
from bench.columns import KEY

TAGS = {"lr_intended": "lr/intended", "lr_effective": "lr/effective", "lr_reported": "lr/reported", "loss": "loss"}


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC-32C, the data, its masked CRC-32C."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked(length)) + data + struct.pack("<I", _masked(data))


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def event(wall_time: float, step: int, *, file_version: str | None = None, scalars: dict | None = None) -> bytes:
    """An ``Event``: wall_time = 1 (double), step = 2 (int64), file_version = 3, summary = 5."""
    out = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3 | 0) + _varint(step)
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if scalars:
        # Summary.value = 1, each a Value with tag = 1 (string) and simple_value = 2 (float)
        values = b"".join(
            _bytes_field(1, _bytes_field(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", value))
            for tag, value in scalars.items())
        out += _bytes_field(5, values)
    return out


def _run_name(key: tuple) -> Path:
    scenario, *rest = key
    return Path(scenario) / ".".join(rest)


def write(results_dir, logdir) -> list[Path]:
    """One event file per cell of ``results_dir`` under ``logdir``; returns their paths."""
    steps = results.read_steps(results_dir)
    logdir = Path(logdir)
    cols = list(TAGS)
    mean = steps.groupby(list(KEY) + ["step"], sort=False)[cols].mean().reset_index()
    now = time.time()
    paths = []
    for key, g in mean.groupby(list(KEY), sort=False):
        run = logdir / _run_name(key)
        run.mkdir(parents=True, exist_ok=True)
        chunks = [record(event(now, 0, file_version="brain.Event:2"))]
        for r in g.sort_values("step").itertuples(index=False):
            scalars = {TAGS[c]: float(getattr(r, c)) for c in cols if not math.isnan(float(getattr(r, c)))}
            chunks.append(record(event(now, int(r.step), scalars=scalars)))
        path = run / f"events.out.tfevents.{int(now)}.{socket.gethostname()}.lr-bench"
        fd, tmp = tempfile.mkstemp(dir=run, prefix=".events.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(chunks))
        os.replace(tmp, path)
        paths.append(path)
    return paths
