"""The README's optimizer table: ``python -m tests.watch.corpus.optimizer_table`` runs
``optimizer_matrix`` in each flavour (a process each) and prints the markdown table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

FLAVOURS = ("keras3", "tf_keras", "tf_keras_legacy")


def run(flavour: str) -> dict[str, dict]:
    """Name -> result of every optimizer of one flavour, from a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    if flavour != "keras3":
        env["TF_USE_LEGACY_KERAS"] = "1"
    code = f"from tests.watch.corpus.optimizer_matrix import main; main({flavour!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1200,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    if proc.returncode != 0:
        raise RuntimeError(f"optimizer_matrix {flavour} exited {proc.returncode}: {proc.stderr[-2000:]}")
    rows = [json.loads(line[len("MATRIX "):]) for line in proc.stdout.splitlines() if line.startswith("MATRIX ")]
    return {row["name"]: row for row in rows}


def verdict(row: dict | None) -> str:
    if row is None:
        return "—"
    if not row.get("completed"):
        return "stopped training"
    if row["notes"]:
        return "not measurable"
    return "measured"


def cell(row: dict | None) -> str:
    word = verdict(row)
    if word == "measured":
        return f"measured, error ≤ {row['max_error']:.1e}"
    return word


def table(results: dict[str, dict[str, dict]]) -> str:
    names = list(dict.fromkeys(n for flavour in FLAVOURS for n in results[flavour]))
    lines = ["| optimizer | Keras 3 | tf_keras | tf_keras legacy |", "|---|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(cell(results[f].get(name)) for f in FLAVOURS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table({flavour: run(flavour) for flavour in FLAVOURS}))
