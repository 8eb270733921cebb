"""Reading the page as a learner sees it, for AppTest tests of the app.

Tests drive the app only through what a learner has — the link, the widgets (by key), the
buttons — and read back only what the page shows: its text, the numbers in it, and the rows
the charts draw. Nothing here imports the app's own modules, so the tests keep working when
the app's code is reorganised.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests import chartdata

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TEXT_KINDS = ("title", "subheader", "markdown", "caption", "warning", "info", "error", "success",
              "latex", "code")


STORY_FREE = {"opt": "sgd", "steps": "30"}
"""What these tests add to a link naming a surface without its runs: plain gradient descent for
30 steps, the page they reason about (a surface's own story is tested in ``test_stories`` and
``test_app``)."""


def open_app(query: dict[str, str] | None = None, **more: str) -> AppTest:
    """A new session opened from a link with ``query`` (and ``more``) in it; a surface link
    that names no runs gets ``STORY_FREE``'s."""
    link = {**(query or {}), **more}
    if "surface" in link and not {"opt", "lr"} & set(link) and link["surface"] != "custom":
        link = {**STORY_FREE, **link}
    elif "surface" in link and link["surface"] != "custom":
        link = {"steps": "30", **link}
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in link.items():
        at.query_params[key] = value
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def text(node, *kinds: str) -> str:
    """Every visible text of ``node`` (the page, the sidebar, an expander), one per line."""
    parts = []
    for kind in kinds or TEXT_KINDS:
        parts += [str(e.value) for e in node.get(kind)]
    return "\n".join(parts)


def sidebar_text(at: AppTest) -> str:
    return text(at.sidebar)


def main_text(at: AppTest) -> str:
    return text(at.main)


_NUMBER = re.compile(
    r"[-−]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?(?:\s*\\times\s*10\^\{([-−]?\d+)\})?"
)


def numbers(line: str) -> list[float]:
    """The numbers written in ``line``: plain (``-1.2e-05``, ``−3``) or LaTeX powers of ten
    (``1.5 \\times 10^{-4}``)."""
    out = []
    for match in _NUMBER.finditer(line):
        mantissa = match.group(0).split("\\")[0].strip().replace("−", "-")
        value = float(mantissa)
        if match.group(1) is not None:
            value *= 10.0 ** int(match.group(1).replace("−", "-"))
        out.append(value)
    return out


def number_after(line: str, label: str) -> float:
    """The first number written after ``label`` in ``line``."""
    assert label in line, f"{label!r} not in {line!r}"
    return numbers(line.split(label, 1)[1])[0]


def line_with(body: str, *words: str) -> str:
    """The one line of ``body`` that contains every one of ``words``."""
    lines = [ln for ln in body.splitlines() if all(w in ln for w in words)]
    assert lines, f"no line with {words} in:\n{body}"
    return lines[0]


def charts(node):
    return node.get("vega_lite_chart")


def path_rows(at: AppTest) -> pd.DataFrame:
    """The iterates the main figure draws: one row per (run, step), with the weights in
    ``w`` (one weight) or ``w1``, ``w2``, and the run's legend name in ``run`` or
    ``optimizer``. Empty when no path is drawn."""
    main = charts(at.main)
    assert main, "the page draws no chart"
    frames = chartdata.frames(main[0])
    # The map's figures send each run's paths as a dataset of its own ("…-paths-1", …).
    per_run = [(int(m.group(1)) - 1, df) for name, df in frames.items()
               if (m := re.search(r"-paths-(\d+)$", name))]
    if per_run:
        return drawn_rows(main[0], pd.concat([df.assign(run=k) for k, df in sorted(
            per_run, key=lambda item: item[0])], ignore_index=True))
    for df in frames.values():
        if "step" in df.columns and ("w" in df.columns or "w1" in df.columns) and len(df):
            return drawn_rows(main[0], df)
    return pd.DataFrame()


def drawn_rows(element, df: pd.DataFrame) -> pd.DataFrame:
    """Rows over a window of rates (a ``rung`` column): the ones at each run's chosen rung and
    decay, as the figure first draws them, named as its legend names them."""
    if "rung" not in df.columns:
        return df
    params = {p["name"]: p.get("value") for p in chartdata.spec(element).get("params", [])}
    rung = df["run"].map(lambda k: params.get(f"lr_{k + 1}", 0))
    beta = df["run"].map(lambda k: params.get(f"beta_{k + 1}", 0))
    # As the figure's filter: a run without a decay (``fixed``) passes whatever its decay
    # control holds.
    fixed = df["fixed"].astype(bool) if "fixed" in df.columns else False
    chosen = df[(df["rung"] == rung) & (fixed | (df["beta"] == beta))].copy()
    outcomes = next((o for o in chartdata.frames(element).values()
                     if "line" in o.columns and "rung" in o.columns), None)
    if outcomes is not None:  # "Adam: converging   (lr = 0.05)": the name and its outcome
        legend = {(r.run, r.rung, r.beta): r.line.split("   (")[0]
                  for r in outcomes.itertuples()}
        chosen["optimizer"] = [legend.get((r.run, r.rung, r.beta), "")
                               for r in chosen.itertuples()]
    return chosen.reset_index(drop=True)


def legend_names(at: AppTest) -> list[str]:
    """The runs' names as the map's legend shows them, in run order."""
    rows = path_rows(at)
    return list(dict.fromkeys(rows["optimizer"]))


def runs_of(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """``path_rows`` split into one frame per run, in the order drawn, sorted by step."""
    key = "optimizer" if "optimizer" in rows.columns else "run"
    return [rows[rows[key] == name].sort_values("step") for name in dict.fromkeys(rows[key])]


def expander(node, label_start: str):
    found = [e for e in node.expander if e.label.startswith(label_start)]
    assert found, f"no expander {label_start!r}: {[e.label for e in node.expander]}"
    return found[0]


def open_panel(at: AppTest, key: str) -> AppTest:
    """Unfold the expander with ``key`` (as a click on its header does) and rerun."""
    at.session_state[key] = True
    return ok(at.run())


WIDGET_KINDS = ("selectbox", "radio", "number_input", "slider", "select_slider", "text_input",
                "text_area", "toggle", "button", "file_uploader")


def widget(at: AppTest, key: str):
    """The widget with ``key``, whatever its kind; ``None`` when the page does not show it."""
    for kind in WIDGET_KINDS:
        for w in at.get(kind):
            if w.key == key:
                return w
    return None


def starts(at: AppTest) -> tuple[float, ...]:
    """The start point the run controls show, in axis order."""
    inputs = sorted(
        (w for w in at.number_input if w.key and re.fullmatch(r"w_start_\d+_.*", w.key)),
        key=lambda w: w.key,
    )
    return tuple(float(w.value) for w in inputs)
