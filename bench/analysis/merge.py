"""``lr-bench merge``: combine the results of shards into one results folder.

Writes the same folder a run does (``bench.runner.publish``). Refuses shards that overlap (a cell
measured twice) or that were measured with different settings or versions, naming the folders;
never imports TensorFlow. The merged ``meta.json`` spans its parts: ``started`` is the earliest
part's, ``finished`` the latest's, and ``wall_s`` / ``total_s`` are the sums of the parts' (the
time the measurements took, whether the parts ran one after another or side by side), with each
part's own in ``parts_wall_s``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import results
from bench.results.columns import KEY
from bench.results.meta import folder_fingerprint as _fingerprint
from bench.runner.publish import publish


def merge(out, dirs: list) -> Path:
    if len(dirs) < 2:
        raise results.ResultsError(f"merge: {len(dirs)} results folder(s) given; expected at least 2")
    parts = [(Path(d), results.read_cells(d), results.read_steps(d), results.read_meta(d)) for d in dirs]
    first_dir, _, _, first_meta = parts[0]
    want = _fingerprint(first_meta)
    seen: dict[tuple, Path] = {}
    for d, cells, _, meta in parts:
        got = _fingerprint(meta)
        if got != want:
            diff = next(f"{k}={got[p].get(k)} vs {want[p].get(k)}" for p in ("config", "versions")
                        for k in want[p] if got[p].get(k) != want[p].get(k))
            raise results.ResultsError(f"merge: {d} was measured differently from {first_dir} ({diff})")
        for key in cells[list(KEY)].itertuples(index=False, name=None):
            if key in seen:
                raise results.ResultsError(f"merge: {d} and {seen[key]} overlap (both have cell {' '.join(key)})")
            seen[key] = d
    cells = pd.concat([p[1] for p in parts], ignore_index=True)
    steps = pd.concat([p[2] for p in parts], ignore_index=True)
    meta = dict(first_meta, merged_from=[str(p[0]) for p in parts], cells=len(cells),
                shards=[p[3].get("config", {}).get("shard") for p in parts], **_span([p[3] for p in parts]))
    meta["config"] = dict(first_meta.get("config", {}), shard=None)
    return publish(out, cells, steps, meta)


def _span(metas: list[dict]) -> dict:
    """When the merged folder's measurements ran and how long they took, from its parts' meta."""
    out = {"parts_wall_s": [m.get("wall_s") for m in metas]}
    for key, pick in (("started", min), ("finished", max)):
        stamps = [m[key] for m in metas if m.get(key)]  # ISO 8601 in UTC: text order is time order
        if stamps:
            out[key] = pick(stamps)
    for key in ("wall_s", "total_s"):
        values = [m.get(key) for m in metas]
        out[key] = round(sum(values), 2) if all(isinstance(v, (int, float)) for v in values) else None
    return out
