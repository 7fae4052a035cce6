"""``lr-bench lint`` as a user runs it: exit codes, output formats, noqa, options, config, --fix,
SARIF against its schema, pre-commit, and no TensorFlow."""

import json
import os
import re
import shutil
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cli import main

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ALIAS = "import keras\nopt = keras.optimizers.SGD(0.01)\nopt.lr = 0.1\n"


def lint(capsys, *args):
    status = main(["lint", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def alias_file(tmp_path):
    f = tmp_path / "train.py"
    f.write_text(ALIAS)
    return f


def test_exit_status_clean_findings_and_the_text_format(capsys, tmp_path, alias_file):
    clean = tmp_path / "clean.py"
    clean.write_text("import keras\nopt = keras.optimizers.SGD(0.01)\nopt.learning_rate = 0.1\n")
    assert lint(capsys, clean, "--target", "keras3") == (0, "", "")
    status, out, _ = lint(capsys, alias_file, "--target", "keras3")
    assert status == 1
    assert re.fullmatch(rf"{re.escape(str(alias_file))}:3:5: LR001 .*ignored: measured in 12 of 12 cells.*\n", out)


@pytest.mark.parametrize("args,named", [
    (["--target", "keras2"], "'keras2'"),
    (["--format", "xml"], "'xml'"),
    (["--select", "LR999"], "'LR999'"),
    (["--ignore", "E501"], "'E501'"),
    (["--evidence", "nowhere.json"], "nowhere.json"),
    (["--select", ","], "empty list"),
])
def test_bad_usage_is_one_line_naming_the_value_and_exit_2(capsys, alias_file, args, named):
    status, out, err = lint(capsys, alias_file, *args)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and named in err and ("valid" in err or "no such" in err)


def test_an_evidence_file_that_is_not_one_is_a_usage_error(capsys, tmp_path, alias_file):
    bad = tmp_path / "bad.json"
    for text in ("{not json", "[1, 2]", '{"scenarios": 3, "versions": {}}'):
        bad.write_text(text)
        status, _, err = lint(capsys, alias_file, "--evidence", bad)
        assert status == 2 and "is not an evidence file" in err and len(err.strip().splitlines()) == 1


def test_missing_path_and_no_path_are_usage_errors(capsys, tmp_path):
    status, _, err = lint(capsys, tmp_path / "absent.py")
    assert status == 2 and "absent.py" in err and "no such file" in err
    status, _, err = lint(capsys)
    assert status == 2 and "no PATH" in err


def test_noqa(capsys, tmp_path):
    f = tmp_path / "n.py"
    for suffix, expected in [("  # noqa: LR001", 0), ("  # noqa", 0), ("  # noqa: LR002", 1), ("  # NOQA:LR002,LR001", 0)]:
        f.write_text(ALIAS.rstrip("\n") + suffix + "\n")
        assert lint(capsys, f, "--target", "keras3")[0] == expected, suffix


def test_select_and_ignore_by_code_and_prefix(capsys, tmp_path):
    f = tmp_path / "two.py"
    f.write_text(ALIAS + "lr = opt.learning_rate\nlr = 0.5\nopt2 = keras.optimizers.Adam(lr=0.1)\n")

    def codes(*args):
        return re.findall(r": (LR\d+) ", lint(capsys, f, "--target", "keras3", *args)[1])

    assert codes() == ["LR001", "LR002", "LR010"]
    assert codes("--select", "LR001") == ["LR001"]
    assert codes("--ignore", "LR001,LR010") == ["LR002"]
    assert codes("--select", "LR01") == ["LR010"]
    assert codes("--select", "ALL", "--ignore", "LR0") == []


def test_pyproject_configuration_and_the_command_line_over_it(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.lr-bench.lint]
        ignore = ["LR002"]
        target = "keras3"
        exclude = ["*_skip.py"]
    """))
    f = tmp_path / "a.py"
    f.write_text(ALIAS + "lr = opt.learning_rate\nlr = 0.5\n")
    (tmp_path / "b_skip.py").write_text(ALIAS)
    status, out, _ = lint(capsys, tmp_path)
    assert status == 1 and re.findall(r"(\w+\.py):\d+:\d+: (LR\d+)", out) == [("a.py", "LR001")]
    status, out, _ = lint(capsys, tmp_path, "--target", "tf_keras")  # the alias works there
    assert status == 0 and out == ""


def test_pyproject_with_an_unknown_key_or_value_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "a.py"
    f.write_text(ALIAS)
    for body, named in [('selekt = ["LR001"]', "'selekt'"), ('target = "keras4"', "'keras4'"),
                        ('select = ["XX1"]', "'XX1'")]:
        (tmp_path / "pyproject.toml").write_text(f"[tool.lr-bench.lint]\n{body}\n")
        status, _, err = lint(capsys, f)
        assert status == 2 and named in err and len(err.strip().splitlines()) == 1


def test_markdown_blocks_are_linted_in_place_and_fragments_are_skipped(capsys, tmp_path):
    md = tmp_path / "notes.md"
    md.write_text("# Notes\n\n```python setup\nimport keras\nopt = keras.optimizers.SGD(0.01)\n```\n\n"
                  "Text.\n\n```python\nopt.lr = 0.1\n```\n\n```python\ndef f(x): ...\n    return\n```\n")
    status, out, _ = lint(capsys, md, "--target", "keras3")
    assert status == 1 and re.findall(r":(\d+):(\d+): (LR\d+)", out) == [("11", "5", "LR001")]
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    status, out, _ = lint(capsys, broken)
    assert status == 1 and ":1:" in out and "LR000 could not parse" in out


def _notebook(*cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True),
         **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, src in cells]})


def test_notebooks_name_the_cell_and_are_never_rewritten(capsys, tmp_path):
    nb = tmp_path / "train.ipynb"
    nb.write_text(_notebook(("markdown", "# Train"), ("code", "%matplotlib inline\nimport keras\n"),
                            ("code", "opt = keras.optimizers.SGD(0.01)\nopt.lr = 0.1\nopt.lr = 0.2  # noqa: LR001\n")))
    before = nb.read_text()
    status, out, _ = lint(capsys, nb, "--target", "keras3", "--fix")
    assert status == 1 and out.startswith(f"{nb}:cell 3:2:5: LR001 ") and out.count("\n") == 1
    assert nb.read_text() == before
    status, out, _ = lint(capsys, nb, "--target", "keras3", "--format", "github")
    assert out.startswith(f"::warning file={nb},title=LR001 lr-alias (cell 3%2C line 2)::")
    status, out, _ = lint(capsys, nb, "--target", "keras3", "--format", "sarif")
    schema = json.loads((HERE / "examples" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads(out))
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["properties"]["cell"] == 3 and result["message"]["text"].startswith("cell 3, line 2: ")


def test_json_and_github_formats(capsys, alias_file):
    status, out, _ = lint(capsys, alias_file, "--target", "keras3", "--format", "json")
    (f,) = json.loads(out)
    assert status == 1 and (f["code"], f["line"], f["column"], f["rule"], f["scenario"]) == \
        ("LR001", 3, 5, "lr-alias", "lr-alias")
    assert f["measured"]["verdicts"] == {"ignored": 12} and f["measured"]["flavour"] == "keras3"
    status, out, _ = lint(capsys, alias_file, "--target", "keras3", "--format", "github")
    assert re.fullmatch(r"::warning file=[^,]+,line=3,col=5,endLine=3,title=LR001 lr-alias::.*ignored.*\n", out)


def test_sarif_validates_against_the_sarif_2_1_0_schema(capsys, tmp_path, alias_file):
    schema = json.loads((HERE / "examples" / "sarif-schema-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(schema)
    alias_file.write_text(ALIAS + "opt2 = keras.optimizers.Adam(lr=0.1)\n")
    status, out, _ = lint(capsys, alias_file, "--target", "keras3", "--format", "sarif")
    doc = json.loads(out)
    validator.validate(doc)
    run = doc["runs"][0]
    assert status == 1 and [r["ruleId"] for r in run["results"]] == ["LR001", "LR010"]
    assert all(run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert run["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] \
        == "learning_rate"
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    status, out, _ = lint(capsys, clean, "--format", "sarif")
    validator.validate(json.loads(out))
    assert status == 0 and json.loads(out)["runs"][0]["results"] == []
    broken = list(validator.iter_errors({**doc, "version": "2.0.0"}))
    assert broken  # the validator does reject a document that is not SARIF 2.1.0


def test_fix_rewrites_what_is_safe_on_the_target(capsys, tmp_path):
    f = tmp_path / "fixme.py"
    f.write_text(textwrap.dedent("""
        import keras
        import tensorflow as tf
        opt = keras.optimizers.Adam(lr=0.001)  # café
        opt.lr = 0.1
        sched = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5))
        sched.lr = 0.1

        @tf.function
        def step(lr):
            opt.learning_rate.assign(lr)

        step(0.5)
        step(0.25)
    """))
    status, out, err = lint(capsys, f, "--target", "keras3", "--fix")
    text = f.read_text()
    assert "keras.optimizers.Adam(learning_rate=0.001)  # café" in text
    assert "opt.learning_rate = 0.1" in text and "step(tf.constant(0.5))\nstep(tf.constant(0.25))" in text
    assert "sched.lr = 0.1" in text  # schedule-built: `learning_rate = 0.1` would raise there, left alone
    assert status == 1 and re.findall(r": (LR\d+) ", out) == ["LR001"] and "fixed 4" in err
    assert lint(capsys, f, "--target", "keras3", "--fix")[0] == 1  # idempotent: nothing more to fix
    assert f.read_text() == text


def test_fix_is_not_applied_where_the_rewrite_is_not_measured_safe(capsys, tmp_path):
    f = tmp_path / "keep.py"
    f.write_text(ALIAS)
    assert lint(capsys, f, "--target", "tf_keras", "--fix", "--all")[0] == 0  # info only: exit 0
    assert f.read_text() == ALIAS  # fine there: the rule reports it as information and fixes nothing


def test_lint_never_imports_tensorflow(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(ALIAS)
    code = ("import sys; from bench.cli import main; status = main(['lint', sys.argv[1], '--format', 'json']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))")
    proc = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_pre_commit_manifest_and_a_run_under_pre_commit(tmp_path):
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "lr-bench-lint" and hook["entry"] == "lr-bench lint"
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    repo = tmp_path / "repo"
    repo.mkdir()
    local = {k: hook[k] for k in ("id", "name", "entry", "types_or")}
    # The hook as published, installed from this checkout: `language: system` runs the entry found
    # on PATH (this environment's lr-bench) instead of building a new virtualenv for it.
    config = {"repos": [{"repo": "local", "hooks": [{**local, "language": "system", "args": ["--target", "keras3"]}]}]}
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(config))
    (repo / "train.py").write_text(ALIAS)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)

    def pre_commit():
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo,
                              capture_output=True, text=True, env=env, timeout=300)

    git("init", "-q")
    git("add", ".")
    proc = pre_commit()
    assert proc.returncode == 1 and "Failed" in proc.stdout and "train.py:3:5: LR001" in proc.stdout, proc.stdout
    (repo / "train.py").write_text(ALIAS.replace("opt.lr", "opt.learning_rate"))
    git("add", ".")
    proc = pre_commit()
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout


OPTIONS = ["--target", "--format", "--select", "--ignore", "--exclude", "--all", "--fix", "--evidence"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(st.sampled_from(OPTIONS), st.text(alphabet=string.ascii_letters + string.digits + ",-_.*",
                                                                   max_size=10)), max_size=5))
def test_random_options_lint_or_fail_in_one_line(capsys, tmp_path, argv):
    f = tmp_path / "t.py"
    f.write_text(ALIAS)
    if "--fix" in argv:
        argv = [a for a in argv if a != "--fix"]  # keep the file as it is across examples
    status, out, err = lint(capsys, f, *argv)
    if status == 2:
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("lr-bench: "), err
    else:
        assert status in (0, 1) and err == ""
        assert status == 0 or out


@pytest.mark.parametrize("tf_version,legacy_env,expected", [
    (None, "", "keras3"),           # no TensorFlow: Keras 3
    ((2, 21), "", "keras3"),
    ((2, 21), "1", "tf_keras"),     # TF_USE_LEGACY_KERAS=1 makes tf.keras tf_keras
    ((2, 15), "", "tf_keras"),      # before 2.16, tf.keras was Keras 2
])
def test_default_target_is_the_keras_the_installed_tensorflow_uses(monkeypatch, tf_version, legacy_env, expected):
    from bench.lint import target

    monkeypatch.setattr(target, "_version", lambda dist: tf_version if dist == "tensorflow" else None)
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", legacy_env)
    assert target.default_target() == expected
