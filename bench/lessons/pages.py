"""Lesson pages: each lesson source plus the evidence measured in a results folder.

``build(results_dir, out)`` writes ``out/<slug>.md``, its figures in ``out/figures/`` and a notebook
``out/<slug>.ipynb`` per lesson, from the results files alone (pandas, matplotlib; no TensorFlow).
Every sentence of evidence is computed from the rows; a scenario absent from the results is named
as absent, never described.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from bench import results
from bench.analysis import truth
from bench.core.verdicts import MISREPORTED_PLOT_MARK
from bench.lessons import cheatsheet, heatmap, notebooks, plots, site, slides, titles
from bench.lessons import panels as lesson_panels
from bench.lessons import sources as lesson_source

FIGURES = "figures"
TRUTH_FIGURE = "truth-table.png"


def _versions(meta: dict) -> str:
    parts = []
    for group, info in meta.get("versions", {}).items():
        names = [f"{k} {info[k]}" for k in ("tensorflow", "keras", "tf_keras") if info.get(k)]
        parts.append(f"{group} workers: " + ", ".join(names))
    return "; ".join(parts) or "versions not recorded"


def _count(cells: pd.DataFrame) -> str:
    """'effective in 12 of 12 cells' or 'ignored in 8, effective in 4 of 12 cells'."""
    counts = Counter(cells["verdict"])
    text = ", ".join(f"{v} in {n}" for v, n in counts.most_common())
    return f"{text} of {len(cells)} cell{'s' if len(cells) != 1 else ''}"


def scenario_finding(cells: pd.DataFrame, scenario: str) -> str:
    ok = cells[(cells["scenario"] == scenario) & (cells["status"] == "ok")]
    if ok.empty:
        statuses = Counter(cells.loc[cells["scenario"] == scenario, "status"])
        return f"`{scenario}`: no cell measured (" + ", ".join(f"{n} {s}" for s, n in statuses.items()) + ")."
    by_flavour = {f: g for f, g in ok.groupby("flavour", sort=False)}
    same = len({frozenset(Counter(g["verdict"]).items()) for g in by_flavour.values()}) == 1
    if same:
        text = f"`{scenario}`: {_count(ok)}"
    else:
        text = f"`{scenario}`: " + "; ".join(f"{f}: {_count(g)}" for f, g in by_flavour.items())
    bad = int((ok["reported_ok"] == False).sum())  # noqa: E712 (a column of bools)
    text += f"; the printed LR differed from the weights' in {bad}" if bad else "; the printed LR matched the weights'"
    modes = {m: set(g["verdict"]) for m, g in ok.groupby("mode", sort=False)}
    if len({frozenset(v) for v in modes.values()}) > 1:
        text += " (by mode: " + ", ".join(f"{m} {'/'.join(sorted(v))}" for m, v in modes.items()) + ")"
    missed = cells[(cells["scenario"] == scenario) & (cells["status"] != "ok")]
    if len(missed):
        text += f"; {len(missed)} more cell(s) not measured ({', '.join(sorted(set(missed['status'])))})"
    return text + "."


def change_table(cells, steps, sel: plots.Selection) -> str:
    """The LRs at the change step of the cells in the figure: intended, from the weights, printed."""
    change = plots._change_step(cells)
    if change is None:
        return ""
    data = sel.filter(steps)
    at = data[data["step"] == change].groupby(["scenario", "flavour", "api", "mode"], sort=False)[
        ["lr_intended", "lr_effective", "lr_reported"]].mean().reset_index()
    lines = [f"At the change step ({change}), {sel.label()}:", "",
             "| scenario | flavour · api | mode | intended | effective (weights) | reported (print) |", "|---|---|---|---|---|---|"]
    for r in at.itertuples():
        rep = "not a number" if pd.isna(r.lr_reported) else f"{r.lr_reported:.4g}"
        lines.append(f"| `{r.scenario}` | {r.flavour} · {r.api} | {r.mode} | {r.lr_intended:.4g} | {r.lr_effective:.4g} | {rep} |")
    return "\n".join(lines) + "\n"


def _absent(lesson: lesson_source.Lesson, present: list[str]) -> list[str]:
    from bench.scenarios import REGISTRY  # no TensorFlow: scenarios import it only in workers

    notes = []
    for pattern in lesson.scenarios:
        if pattern == lesson_source.MISREPORTED or lesson_source.matching(pattern, present):
            continue
        registered = lesson_source.matching(pattern, REGISTRY)
        if registered:
            ids = ", ".join(f"`{r}`" for r in registered)
            notes.append(f"{ids} {'is a scenario' if len(registered) == 1 else 'are scenarios'} of the bench but not "
                         f"in these results: run `lr-bench run --scenarios {','.join(registered)}` to measure "
                         f"{'it' if len(registered) == 1 else 'them'}.")
        else:
            notes.append(f"`{pattern}` is not in these results (the bench has no such scenario yet), so this "
                         "page shows no evidence for it.")
    return notes


def scenarios_of(lesson: lesson_source.Lesson, cells: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(cells["scenario"]))
    if lesson_source.MISREPORTED in lesson.scenarios:
        bad = cells[(cells["status"] == "ok") & (cells["reported_ok"] == False)]  # noqa: E712
        return [s for s in present if s in set(bad["scenario"])]
    return lesson.matches(present)


def evidence(lesson, cells, steps, meta, results_dir, figures: Path) -> str:
    """The 'What the bench measured' section: figures, findings, table excerpt, versions."""
    cfg = meta.get("config", {})
    out = ["## What the bench measured", "",
           f"From `{results_dir}` (measured {meta.get('finished', '?')}; {_versions(meta)}; profile "
           f"`{cfg.get('profile', '?')}`, {cfg.get('steps', '?')} steps, {cfg.get('repeats', '?')} repeat(s), "
           f"LR changed before step {plots._change_step(cells)}).", ""]
    ids = scenarios_of(lesson, cells)
    if lesson_source.MISREPORTED in lesson.scenarios and not ids:
        out += ["No cell in these results printed an LR that differed from the one its weights show.", ""]
    sel = plots.select(cells, ids) if ids else None
    if sel is not None:
        out += figures_section(lesson, cells, steps, sel, ids, figures)
    elif ids:  # in the results, but no cell of it finished: say so rather than draw nothing
        out += [f"- {scenario_finding(cells, s)}" for s in ids] + [""]
    notes = _absent(lesson, list(dict.fromkeys(cells["scenario"])))
    if notes:
        out += ["**Not yet measured.** " + " ".join(notes), ""]
    return "\n".join(out)


def figures_section(lesson, cells, steps, sel, ids, figures: Path) -> list[str]:
    """The LR figures (at most ``panels.PER_FIGURE`` panels each), findings, the change table, the
    truth-table excerpt, then loss and timing figures of the same panels."""
    only_bad = lesson_source.MISREPORTED in lesson.scenarios
    drawn, shown, parts = lesson_panels.figures(cells, steps, sel, only_misreported=only_bad)
    stem, change = lesson.slug, plots._change_step(cells)
    lr, rest = [], []
    for k, (sub, group) in enumerate(parts):
        suffix = "" if k == 0 else f"-{k + 1}"
        flavours = list(dict.fromkeys(f for _, f, _ in sub.panels))
        modes = plots._modes(sub.filter(cells))
        t_lr = titles.lr_title(cells, sub)
        plots.lr_figure(group, flavours, modes, sub, change, t_lr, figures / f"{stem}-lr{suffix}.png")
        lr += [f"![{_alt(t_lr)}]({FIGURES}/{stem}-lr{suffix}.png)", ""]
        t_loss, t_time = titles.loss_title(cells, steps, sub), titles.timing_title(cells, sub)
        plots.loss_figure(cells, steps, sub, t_loss, figures / f"{stem}-loss{suffix}.png")
        plots.timing_figure(cells, sub, t_time, figures / f"{stem}-time{suffix}.png")
        rest += [f"![{_alt(t_loss)}]({FIGURES}/{stem}-loss{suffix}.png)", "",
                 f"![{_alt(t_time)}]({FIGURES}/{stem}-time{suffix}.png)", ""]
    note = (f"One panel per group of cells whose three LR curves and verdict are the same: the "
            f"{drawn} (flavour, mode) cells of {sel.label()} drawn make {shown} panels, each captioned with the "
            "flavours and modes it stands for.")
    if only_bad:
        note += " Only the groups whose print was wrong are drawn."
    out = lr + [note, "", "Findings over every measured cell (all flavours, apis, modes, optimizers, devices):", ""]
    out += [f"- {scenario_finding(cells, s)}" for s in ids] + [""]
    out += [change_table(cells, steps, sel), "Truth-table excerpt (legend as in `TRUTH.md`):", "",
            truth.truth_tables(cells[cells["scenario"].isin(ids)]), ""]
    retraces = truth.retrace_table(cells[cells["scenario"].isin(ids)], steps[steps["scenario"].isin(ids)])
    if retraces:
        out += ["What the retraces cost (from `TRUTH.md`; the step ratios above are medians over the steady "
                "steps, which a few retraced steps do not move):", "", retraces, ""]
    return out + rest


def _alt(title: str) -> str:
    return " ".join(title.split()).replace("[", "(").replace("]", ")")


def page(lesson, cells, steps, meta, results_dir, figures: Path, releases: list[str] = ()) -> str:
    before, after = lesson.body.split(lesson_source.EVIDENCE)
    head = [f"# {lesson.title}", "",
            f"<!-- Built by `lr-bench lessons` from bench/lessons/src/{lesson.slug}.md and {results_dir}; edit the source. -->", ""]
    across = (["### Across releases", "", "For which releases this holds, from the release sweep "
               f"(`{results_dir}releases/`, quick profile; see its `RELEASES.md`):", "", *releases, ""] if releases else [])
    return "\n".join(head) + before + evidence(lesson, cells, steps, meta, results_dir, figures) + "\n".join(across) + after


def build(results_dir, out="lessons", sources: Path = lesson_source.SOURCES) -> list[Path]:
    """Every lesson page, figure and notebook from one results folder. Raises ResultsError."""
    cells, steps, meta = results.read_cells(results_dir), results.read_steps(results_dir), results.read_meta(results_dir)
    # The lessons teach the single-device case; cells run under a strategy have TRUTH.md of their own.
    cells, steps = cells[cells["strategy"] == "none"], steps[steps["strategy"] == "none"]
    if cells.empty:
        raise results.ResultsError(f"{results_dir}: no cells without a strategy; the lessons are built from those")
    lessons = lesson_source.load(sources)
    out = Path(out)
    figures = out / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    plots.theme()
    written = heatmap.truth_figures(cells, titles.truth_title(cells), figures / TRUTH_FIGURE)
    (out / slides.SLIDES).mkdir(exist_ok=True)
    about: dict[str, list[tuple[str, str]]] = {}
    for lesson in lessons:
        # the folder's own name: pages do not change with where, or how, the folder was named
        text = page(lesson, cells, steps, meta, f"{Path(results_dir).resolve().name}/", figures,
                    _across_releases(Path(results_dir) / "releases", scenarios_of(lesson, cells)))
        results.atomic_write(out / f"{lesson.slug}.md", text)
        results.atomic_write(out / f"{lesson.slug}.ipynb", notebooks.from_page(text))
        results.atomic_write(out / slides.SLIDES / f"{lesson.slug}.html", slides.deck(text))
        written += [out / f"{lesson.slug}.md", out / f"{lesson.slug}.ipynb", out / slides.SLIDES / f"{lesson.slug}.html"]
        for scenario in scenarios_of(lesson, cells):
            about.setdefault(scenario, []).append((lesson.slug, lesson.title.replace("`", "")))
    written += _release_figures(Path(results_dir) / "releases", figures)
    versions = _versions(meta)
    written += site.build(results_dir, out, cells, steps, meta, about, plots._change_step(cells), versions)
    written += cheatsheet.write(cells, steps, "Changing the learning rate mid-training: what took effect, per flavour",
                                f"Measured by lr-bench, {versions}; every api, mode and optimizer measured. "
                                f"{MISREPORTED_PLOT_MARK}: optimizer.learning_rate printed before a step differed from the LR "
                                "the step used.", out)
    return written


def _across_releases(root: Path, scenarios: list[str]) -> list[str]:
    """The lesson's scenarios over the release sweep beside the results, if there is one."""
    from bench.analysis import history
    from bench.analysis.releases import discover

    releases = discover(root)
    return history.scenario_lines(releases, history.load(releases), scenarios) if releases else []


def _release_figures(root: Path, figures: Path) -> list[Path]:
    """The truth table's release view: per series, the scenarios whose ``tf.keras`` verdict changed."""
    from bench.analysis import history
    from bench.analysis.releases import SERIES, discover

    releases = discover(root)
    if not releases:
        return []
    cells, written = history.load(releases), []
    for series in dict.fromkeys(r.series for r in releases):
        members = [r for r in releases if r.series == series]
        matrix = history.release_matrix(members, cells)
        changed = matrix[matrix.nunique(axis=1) > 1]
        if changed.empty:
            continue
        title = (f"tf.keras across {SERIES[series]} releases: {len(changed)} of {len(matrix)} scenarios changed "
                 "verdict")
        caption = f"{SERIES[series]} release · the {len(matrix) - len(changed)} scenarios not shown kept one verdict"
        written.append(heatmap.release_figure(changed, title, caption, figures / f"truth-table-{series}-releases.png"))
    return written
