"""What the bench measured, as the linter cites it: a compact file shipped inside the package.

``measured.json`` is generated from a results folder (``cells.csv`` + ``meta.json``) by
``lr-bench lint --refresh-evidence DIR``; the linter reads only that file, never ``results/``, so
an installed package carries its own evidence. Each scenario keeps, per flavour, one short row per
cell: api, mode, optimizer, verdict, whether the reported LR matched, traces and step ratio.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHIPPED = Path(__file__).with_name("measured.json")
#: Flavours whose workers run under TF_USE_LEGACY_KERAS=1: meta.json records their versions under "legacy".
LEGACY_ENV = ("tf_keras", "tf_keras_legacy")
FLAVOURS = ("keras3", "tf_keras", "tf_keras_legacy")
COMPILED = ("function", "xla")


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else round(value, 3)


def build(results_dir, sweep=(), root: Path | None = None) -> dict:
    """The evidence document: one results folder (the committed truth table), and optionally the
    folders of a release sweep (the same matrix on other versions), counted more briefly.
    Folders are named relative to ``root`` (default: the working directory) in the document."""
    doc = _run(Path(root or ".") / results_dir)
    doc["sources"] = [Path(results_dir).as_posix()] + [Path(d).as_posix() for d in sweep]
    doc["sweep"] = []
    for d in sweep:
        run = _run(Path(root or ".") / d)
        doc["sweep"].append({"versions": run["versions"], "scenarios": {
            sid: {fl: [c[:5] for c in cells] for fl, cells in per.items()} for sid, per in run["scenarios"].items()}})
    return doc


def _run(folder: Path) -> dict:
    meta = json.loads((folder / "meta.json").read_text())
    scenarios: dict[str, dict[str, list]] = {}
    with open(folder / "cells.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("strategy", "none") not in ("", "none") or row["status"] not in ("ok", "error"):
                continue
            if not row["verdict"]:
                continue
            cell = [row["api"], row["mode"], row["optimizer"], row["verdict"], row["reported_ok"] == "True",
                    _number(row["traces"]), _number(row["step_ratio"])]
            scenarios.setdefault(row["scenario"], {}).setdefault(row["flavour"], []).append(cell)
    for per_flavour in scenarios.values():
        for cells in per_flavour.values():
            cells.sort(key=lambda c: (c[0], c[1], c[2]))
    versions = {}
    for flavour in FLAVOURS:
        env = meta.get("versions", {}).get("legacy" if flavour in LEGACY_ENV else "keras3", {})
        versions[flavour] = {k: env.get(k, "") for k in ("tensorflow", "keras", "tf_keras")}
    return {"finished": meta.get("finished", ""), "profile": meta.get("config", {}).get("profile", ""),
            "versions": versions, "columns": ["api", "mode", "optimizer", "verdict", "reported_ok", "traces", "step_ratio"],
            "scenarios": dict(sorted(scenarios.items()))}


def dumps(doc: dict) -> str:
    """One cell per line: small diffs when results change, and still a short file."""
    lines = ["{", f' "sources": {json.dumps(doc.get("sources", []))},',
             f' "finished": {json.dumps(doc["finished"])},', f' "profile": {json.dumps(doc["profile"])},',
             f' "versions": {json.dumps(doc["versions"], sort_keys=True)},', f' "columns": {json.dumps(doc["columns"])},',
             ' "scenarios": {']
    items = list(doc["scenarios"].items())
    for i, (sid, per_flavour) in enumerate(items):
        lines.append(f"  {json.dumps(sid)}: {{")
        flav = list(per_flavour.items())
        for j, (flavour, cells) in enumerate(flav):
            lines.append(f"   {json.dumps(flavour)}: [")
            lines += [f"    {json.dumps(c)}" + ("," if k < len(cells) - 1 else "") for k, c in enumerate(cells)]
            lines.append("   ]" + ("," if j < len(flav) - 1 else ""))
        lines.append("  }" + ("," if i < len(items) - 1 else ""))
    lines.append(" },")
    sweep = doc.get("sweep", [])
    lines.append(' "sweep": [' + ("" if sweep else "]"))
    lines += [f"  {json.dumps(run, sort_keys=True)}" + ("," if i < len(sweep) - 1 else "") for i, run in enumerate(sweep)]
    lines += ([" ]"] if sweep else []) + ["}"]
    return "\n".join(lines) + "\n"


def refresh(results_dir, sweep=(), out: Path | None = None) -> Path:
    """Rebuild the shipped evidence from a results folder (and a sweep's); returns the file written."""
    out = out or SHIPPED
    out.write_text(dumps(build(results_dir, sweep)))
    _load.cache_clear()
    return out


def load(path: str | None = None) -> dict:
    """The evidence document (cached until the file changes)."""
    p = Path(path or SHIPPED)
    st = p.stat()
    return _load(str(p), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> dict:
    return json.loads(Path(path).read_text())


def _short(v: str) -> str:
    return ".".join(v.split(".")[:2]) if v else "?"


@dataclass(frozen=True)
class Citation:
    """What the bench measured for one scenario on one flavour, in the modes that apply."""

    scenario: str
    flavour: str
    counts: tuple[tuple[str, int], ...]   # verdict -> cells, most frequent first
    total: int
    misreported: int                      # cells where the reported LR differed from the applied one
    traces: float | None                  # median traces per cell
    step_ratio: float | None              # median step time over the bare compiled loop
    versions: str
    modes: tuple[str, ...]
    #: the same cells on the release sweep's other versions: (versions, verdict counts, cells)
    elsewhere: tuple[tuple[str, tuple[tuple[str, int], ...], int], ...] = ()

    @property
    def measured(self) -> bool:
        return self.total > 0

    @property
    def verdicts(self) -> set[str]:
        return {v for v, _ in self.counts}

    def fine(self) -> bool:
        """Effective in every cell measured: nothing to warn about."""
        return self.measured and self.verdicts == {"effective"}

    def text(self) -> str:
        if not self.measured:
            return f"not measured yet (no `{self.scenario}` cells in the shipped results for {self.flavour})"
        where = f" ({', '.join(self.modes)})" if self.modes else ""
        parts = "; ".join(f"{v}: measured in {n} of {self.total} cells" for v, n in self.counts)
        # releases of the sweep with the same verdicts are counted together; the others named
        same = [ver for ver, counts, _ in self.elsewhere if {v for v, _ in counts} == self.verdicts]
        also = (f"; the same on {len(same)} other release{'s' if len(same) > 1 else ''} of the sweep ("
                + (f"{same[0]} … {same[-1]}" if len(same) > 2 else " and ".join(same)) + ")") if same else ""
        also += "".join(f"; on {ver}: " + ", ".join(f"{v} {n} of {total}" for v, n in counts)
                        for ver, counts, total in self.elsewhere if {v for v, _ in counts} != self.verdicts)
        return f"{parts}{where} on {self.versions}{also} [{self.scenario}, {self.flavour}]"


def cite(scenario: str, flavour: str, modes: tuple[str, ...] = (), apis: tuple[str, ...] = (),
         path: str | None = None) -> Citation:
    """Verdict counts for ``scenario`` on ``flavour``, restricted to ``modes``/``apis`` when given."""
    doc = load(path)

    def select(run):
        return [c for c in run["scenarios"].get(scenario, {}).get(flavour, [])
                if (not modes or c[1] in modes) and (not apis or c[0] in apis)]

    runs = [doc] + doc.get("sweep", [])
    main = next((r for r in runs if select(r)), doc)  # the truth table first, else the sweep's newest
    cells = select(main)
    counts = Counter(c[3] for c in cells).most_common()
    traces = [c[5] for c in cells if len(c) > 5 and c[5] is not None]
    ratios = [c[6] for c in cells if len(c) > 6 and c[6] is not None]
    elsewhere = []
    for run in runs:
        other = select(run)
        if run is not main and other:
            elsewhere.append((_label(run, flavour), tuple(Counter(c[3] for c in other).most_common()), len(other)))
    return Citation(scenario, flavour, tuple(counts), len(cells), sum(1 for c in cells if not c[4]),
                    statistics.median(traces) if traces else None, statistics.median(ratios) if ratios else None,
                    _label(main, flavour), tuple(modes), tuple(elsewhere))


def _label(run: dict, flavour: str) -> str:
    v = run["versions"].get(flavour, {})
    keras = f"tf_keras {_short(v.get('tf_keras', ''))}" if flavour in LEGACY_ENV else f"Keras {_short(v.get('keras', ''))}"
    return f"TF {_short(v.get('tensorflow', ''))} / {keras}"
