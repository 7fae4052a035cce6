"""Findings as text (``path:line:col: CODE message``), JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path

import bench
from bench.lint.rules import REGISTRY

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"warning": "warning", "info": "note", "error": "error"}


def where(f) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook (as ruff prints it)."""
    cell = f"cell {f.cell}:" if f.cell else ""
    return f"{f.path}:{cell}{f.line}:{f.col}"


def text(findings) -> str:
    return "".join(f"{where(f)}: {f.code} {f.message}"
                   + (" [info]" if f.severity == "info" else "") + "\n" for f in findings)


def as_json(findings) -> str:
    return json.dumps([{
        "path": f.path, "line": f.line, "column": f.col, "end_line": f.end_line, "end_column": f.end_col,
        "cell": f.cell, "code": f.code, "rule": f.rule, "severity": f.severity, "message": f.message,
        "scenario": f.scenario, "measured": f.measured, "fixable": bool(f.edits),
    } for f in findings], indent=2) + "\n"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def github(findings) -> str:
    out = []
    for f in findings:
        kind = {"info": "notice", "error": "error"}.get(f.severity, "warning")
        title = f"{f.code} {f.rule}" + (f" (cell {f.cell}, line {f.line})" if f.cell else "")
        place = "" if f.cell else f"line={f.line},col={f.col},endLine={f.end_line},"  # a notebook's JSON has no such line
        props = f"file={_gh_escape(f.path, True)},{place}title={_gh_escape(title, True)}"
        out.append(f"::{kind} {props}::{_gh_escape(f.message)}\n")
    return "".join(out)


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else p.as_uri()


def sarif(findings) -> str:
    codes = list(REGISTRY)
    rules = [{
        "id": code, "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": " ".join((r.__doc__ or "").split())},
        "help": {"text": f"{' '.join((r.__doc__ or '').split())} (lessons/lint/{code}.md)"},
        "defaultConfiguration": {"level": "warning", "enabled": r.default},
        "properties": {"scenarios": list(r.scenarios)},
    } for code, r in REGISTRY.items()]
    results = []
    for f in findings:
        location = {"artifactLocation": {"uri": _uri(f.path)}}
        if not f.cell:  # in a notebook the line is the cell's, not the file's: named in properties
            location["region"] = {"startLine": f.line, "startColumn": f.col,
                                  "endLine": max(f.end_line, f.line), "endColumn": max(f.end_col, 1)}
        result = {
            "ruleId": f.code, "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": (f"cell {f.cell}, line {f.line}: " if f.cell else "") + f.message},
            "locations": [{"physicalLocation": location}],
            "properties": {"scenario": f.scenario, "measured": f.measured,
                           **({"cell": f.cell, "line": f.line, "column": f.col} if f.cell else {})},
        }
        if f.code in REGISTRY:
            result["ruleIndex"] = codes.index(f.code)
        if f.edits:
            result["fixes"] = [{"description": {"text": "lr-bench lint --fix"}, "artifactChanges": [{
                "artifactLocation": {"uri": _uri(f.path)},
                "replacements": [{"deletedRegion": {"startLine": e.line, "startColumn": e.col + 1,
                                                    "endLine": e.end_line, "endColumn": e.end_col + 1},
                                  "insertedContent": {"text": e.text}} for e in f.edits]}]}]
        results.append(result)
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "lr-bench", "version": bench.__version__, "rules": rules}},
        "results": results}]}
    return json.dumps(doc, indent=2) + "\n"


WRITERS = {"text": text, "json": as_json, "github": github, "sarif": sarif}
