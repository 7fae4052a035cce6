"""The evidence the linter cites: shipped up to date, and followed when the results change."""

import csv
import json
import shutil
import textwrap
from pathlib import Path

from bench.lint import docs, evidence, lint_text
from bench.lint.rules import REGISTRY

ROOT = Path(__file__).parents[2]
RESULTS = ROOT / "results"
LR_ALIAS = "import keras\nopt = keras.optimizers.SGD(0.01)\nopt.lr = 0.1\n"


def _cells(folder):
    with open(folder / "cells.csv", newline="") as f:
        return list(csv.DictReader(f))


def _write_cells(folder, rows):
    with open(folder / "cells.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_shipped_evidence_is_up_to_date_with_the_committed_results():
    first, *sweep = json.loads(evidence.SHIPPED.read_text())["sources"]
    assert first == "results"
    assert evidence.SHIPPED.read_text() == evidence.dumps(evidence.build(first, sweep, root=ROOT)), \
        f"stale: run `lr-bench lint --refresh-evidence {' '.join([first, *sweep])}` from the repository root"


def test_shipped_evidence_counts_what_cells_csv_says():
    # An independent count from the CSV, not the builder's code: every scenario and flavour.
    rows = [r for r in _cells(RESULTS) if r["verdict"]]
    for sid in {r["scenario"] for r in rows}:
        for flavour in {r["flavour"] for r in rows if r["scenario"] == sid}:
            mine = [r["verdict"] for r in rows if r["scenario"] == sid and r["flavour"] == flavour]
            c = evidence.cite(sid, flavour)
            assert c.total == len(mine) and dict(c.counts) == {v: mine.count(v) for v in set(mine)}


def test_committed_rule_pages_are_up_to_date():
    for name, text in docs.pages().items():
        page = ROOT / "lessons" / "lint" / name
        assert page.is_file() and page.read_text() == text, f"stale {page}: run `lr-bench lint --write-docs`"
    assert {p.name for p in (ROOT / "lessons" / "lint").glob("*.md")} == set(docs.pages())


def test_every_rule_names_scenarios_and_cites_them():
    for code, rule in REGISTRY.items():
        assert rule.scenarios and rule.summary, code
        for sid in rule.scenarios:
            assert f"`{sid}`" in docs.page(code)


def test_the_citation_follows_the_results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy(RESULTS / "meta.json", folder)
    rows = _cells(RESULTS)

    def lint_with(edit, meta=None):
        lint_with.n = getattr(lint_with, "n", 0) + 1
        _write_cells(folder, [edit(dict(r)) for r in rows])
        if meta:
            doc = json.loads((RESULTS / "meta.json").read_text())
            doc["versions"]["keras3"].update(meta)
            (folder / "meta.json").write_text(json.dumps(doc))
        out = tmp_path / f"measured{lint_with.n}.json"
        out.write_text(evidence.dumps(evidence.build(folder)))
        return lint_text(LR_ALIAS, "x.py", "keras3", ("LR001",), show_all=True, evidence_path=str(out))

    as_committed = lint_with(lambda r: r)
    assert [(f.severity, f.measured["verdicts"]) for f in as_committed] == [("warning", {"ignored": 12})]
    assert "ignored: measured in 12 of 12 cells on TF 2.21 / Keras 3.15" in as_committed[0].message

    def effective(r):
        if r["scenario"] == "lr-alias" and r["flavour"] == "keras3":
            r["verdict"] = "effective"
        return r
    fixed_upstream = lint_with(effective, meta={"tensorflow": "2.22.0", "keras": "3.16.0"})
    assert [f.severity for f in fixed_upstream] == ["info"]  # no longer a warning
    assert "effective: measured in 12 of 12 cells on TF 2.22 / Keras 3.16" in fixed_upstream[0].message

    def half_raises(r):
        if r["scenario"] == "lr-alias" and r["flavour"] == "keras3" and r["optimizer"] == "adam":
            r["verdict"] = "raises"
        return r
    split = lint_with(half_raises)
    assert "ignored: measured in 6 of 12 cells; raises: measured in 6 of 12 cells" in split[0].message \
        or "raises: measured in 6 of 12 cells; ignored: measured in 6 of 12 cells" in split[0].message

    gone = lint_with(lambda r: r if r["scenario"] != "lr-alias" else {**r, "verdict": ""})
    assert "not measured yet" in gone[0].message and gone[0].severity == "warning"


def test_a_release_sweep_is_cited_beside_the_truth_table(tmp_path):
    older = tmp_path / "tf2.20"
    older.mkdir()
    _write_cells(older, [{**r, "verdict": "raises"} if r["scenario"] == "lr-alias" else r for r in _cells(RESULTS)])
    meta = json.loads((RESULTS / "meta.json").read_text())
    meta["versions"]["keras3"].update(tensorflow="2.20.0", keras="3.10.0")
    (older / "meta.json").write_text(json.dumps(meta))
    out = tmp_path / "measured.json"
    out.write_text(evidence.dumps(evidence.build(RESULTS, [older])))
    (f,) = lint_text(LR_ALIAS, "x.py", "keras3", ("LR001",), evidence_path=str(out))
    assert "ignored: measured in 12 of 12 cells on TF 2.21 / Keras 3.15; on TF 2.20 / Keras 3.10: raises 12 of 12" \
        in f.message


def test_refresh_is_one_command(tmp_path, monkeypatch, capsys):
    from bench.cli import main

    target = tmp_path / "measured.json"
    monkeypatch.setattr(evidence, "SHIPPED", target)
    monkeypatch.chdir(tmp_path)  # no lessons/ here: only the evidence is written
    shutil.copytree(RESULTS, tmp_path / "results", ignore=shutil.ignore_patterns("baseline", "strategies", "*.png"))
    assert main(["lint", "--refresh-evidence", "results"]) == 0
    assert target.read_text() == evidence.dumps(evidence.build(RESULTS.relative_to(ROOT), root=ROOT))
    assert main(["lint", "--refresh-evidence", "nowhere"]) == 2
    assert "'nowhere' has no cells.csv" in capsys.readouterr().err


def test_a_scenario_measured_later_is_cited_once_it_exists(tmp_path):
    # The shipped results without the ctor-lr-kwarg cells, then with them, as a later run adds them.
    rows = _cells(RESULTS)
    mine = [r for r in rows if r["scenario"] == "ctor-lr-kwarg" and r["flavour"] == "keras3"]
    assert mine and {r["verdict"] for r in mine} == {"raises"}
    paths = {}
    for name, kept in (("before", [r for r in rows if r["scenario"] != "ctor-lr-kwarg"]), ("after", rows)):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(RESULTS / "meta.json", folder)
        _write_cells(folder, kept)
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(evidence.dumps(evidence.build(folder)))
    src = textwrap.dedent("""
        import keras
        opt = keras.optimizers.Adam(lr=0.1)
    """)
    before = lint_text(src, "x.py", "keras3", ("LR010",), evidence_path=str(paths["before"]))
    after = lint_text(src, "x.py", "keras3", ("LR010",), evidence_path=str(paths["after"]))
    assert "not measured yet" in before[0].message
    assert f"raises: measured in {len(mine)} of {len(mine)} cells" in after[0].message
