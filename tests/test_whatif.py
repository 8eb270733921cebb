"""What-if sweeps: each rung's rows are the run at that rate, the words are the app's words,
and every size is capped."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from losslab import descent, expressions, ladder, optimizers, stability, surfaces, whatif
from losslab.whatif import RunSetting


@pytest.fixture(scope="module")
def rosenbrock_sweep():
    surface = surfaces.get("rosenbrock")
    runs = [RunSetting("sgd", "Gradient descent", {"learning_rate": 0.001}),
            RunSetting("momentum", "Momentum", {"learning_rate": 0.001}),
            RunSetting("adam", "Adam", {"learning_rate": 0.05})]
    return surface, runs, whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=120)


@pytest.fixture(scope="module")
def lesson_sweep():
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    runs = [RunSetting("sgd", "Gradient descent", {"learning_rate": 0.05})]
    return surface, whatif.sweep(surface, runs, start=(-1.0,), steps=30, rungs_each_side=8)


def test_the_window_holds_the_chosen_rate_and_its_neighbours_on_the_ladder():
    rates, at = whatif.rate_window("sgd", 0.05, 3)
    assert rates == (0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)
    assert at == 3
    ladder = stability.RATE_LADDER
    positions = [ladder.index(r) for r in rates]
    assert positions == list(range(positions[0], positions[0] + len(rates)))


def test_a_rate_off_the_ladder_replaces_its_nearest_rung():
    rates, at = whatif.rate_window("sgd", 0.055, 2)
    assert rates[at] == 0.055
    assert list(rates) == sorted(rates)


def test_the_window_shifts_inwards_at_the_optimisers_limits():
    rates, at = whatif.rate_window("newton", 2.0, 3)  # newton's rates stop at 2
    assert rates[-1] == 2.0 and rates[at] == 2.0 and len(rates) == 7
    rates, at = whatif.rate_window("sgd", 1e-4, 3)
    assert rates[0] == 1e-4 and at == 0 and len(rates) == 7


def test_the_rate_window_is_capped():
    rates, _ = whatif.rate_window("sgd", 0.05, 10_000)
    assert len(rates) == 2 * whatif.MAX_RUNGS_EACH_SIDE + 1


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_a_rate_that_is_not_a_positive_number_is_refused_in_words(bad):
    with pytest.raises(ValueError, match="learning rate"):
        whatif.rate_window("sgd", bad)


def test_the_decay_window_follows_the_optimisers_knob_and_range():
    assert whatif.beta_window("sgd") == ("", (), 0)
    assert whatif.beta_window("momentum") == ("momentum", (0.8, 0.9, 0.95), 1)
    assert whatif.beta_window("rmsprop", 0.99) == ("decay", (0.95, 0.99, 0.999), 1)
    knob, betas, at = whatif.beta_window("nesterov", 0.0, 2)  # nesterov's μ starts at 0.01
    assert knob == "momentum" and min(betas) >= 0.01 and betas[at] == 0.01
    _, betas, _ = whatif.beta_window("adam", 0.9, 50)
    assert len(betas) == 2 * whatif.MAX_BETA_EACH_SIDE + 1


def test_every_rungs_rows_are_the_run_at_that_rate(rosenbrock_sweep):
    surface, runs, sweep = rosenbrock_sweep
    for index, win in enumerate(sweep.windows):
        for rung, rate in enumerate(win.rates):
            for beta, value in enumerate(win.betas or (None,)):
                settings = {"learning_rate": rate, **({win.knob: value} if win.knob else {})}
                h = descent.run(surface, optimizers.make(win.optimizer, **settings),
                                start=(-1.5, 2.0), steps=120)
                rows = sweep.paths[(sweep.paths["run"] == index) & (sweep.paths["rung"] == rung)
                                   & (sweep.paths["beta"] == beta)]
                kept = rows["step"].to_numpy()
                assert kept[0] == 0 and kept[-1] == len(h) - 1
                np.testing.assert_allclose(rows[["w1", "w2"]], h.params[kept], rtol=0,
                                           atol=1e-12)
                np.testing.assert_allclose(rows["loss"], h.loss[kept], rtol=0, atol=1e-12)
                outcome = sweep.outcomes[(sweep.outcomes["run"] == index)
                                         & (sweep.outcomes["rung"] == rung)
                                         & (sweep.outcomes["beta"] == beta)].iloc[0]
                # The words and numbers come from the full history, exactly.
                assert abs(outcome["final_loss"] - h.loss[-1]) <= 1e-12 * max(1, abs(h.loss[-1]))
                assert outcome["outcome"] == descent.label(h, surface)
                assert outcome["summary"] == descent.summary(win.name, h, surface)
                assert outcome["learning_rate"] == rate


def test_each_row_is_current_until_the_next_kept_step(rosenbrock_sweep):
    _, _, sweep = rosenbrock_sweep
    for _, rows in sweep.paths.groupby(["run", "rung", "beta"]):
        steps, until = rows["step"].to_numpy(), rows["until"].to_numpy()
        assert (until[:-1] == steps[1:]).all()
        assert until[-1] == whatif.HOLD


def test_the_chosen_settings_are_the_learners_own(rosenbrock_sweep):
    _, runs, sweep = rosenbrock_sweep
    for run, win in zip(runs, sweep.windows, strict=True):
        assert win.rates[win.rate_index] == run.hyperparams["learning_rate"]
        if win.knob:
            default = next(h.default for h in optimizers.HYPERPARAMS[win.optimizer]
                           if h.name == win.knob)
            assert win.betas[win.beta_index] == default


def test_no_row_holds_nan_or_inf(rosenbrock_sweep, lesson_sweep):
    for sweep in (rosenbrock_sweep[2], lesson_sweep[1]):
        for table in (sweep.paths, sweep.outcomes):
            numbers = table.select_dtypes("number").to_numpy(dtype=float)
            assert np.isfinite(numbers).all()
            assert not table.isna().any().any()


def test_the_legend_words_are_the_apps(lesson_sweep):
    _, sweep = lesson_sweep
    by_rate = sweep.outcomes.set_index("learning_rate")["legend"]
    assert by_rate[0.05] == "Gradient descent: converged"
    assert by_rate[0.25] == "Gradient descent: oscillating"
    assert by_rate[0.3].startswith("Gradient descent: diverged at step ")
    diverged = sweep.outcomes.set_index("learning_rate").loc[0.3]
    assert diverged["diverged_at"] > 0
    assert by_rate[0.3] == f"Gradient descent: diverged at step {diverged['diverged_at']}"


def test_the_stability_sentence_follows_each_rung_through_creep_oscillation_divergence(
        lesson_sweep):
    # L(w) = (2w − 4)²: λ = 2x² = 8, so 1/(2x²) = 0.125 and 1/x² = 0.25.
    _, sweep = lesson_sweep
    sentences = sweep.outcomes.set_index("learning_rate")["sentence"]
    assert sentences[0.1] == "lr = 0.1: gradient descent creeps straight to the minimum."
    assert "overshoots and oscillates, but converges" in sentences[0.15]
    assert "bounces between two points for ever" in sentences[0.25]
    assert "overshoots further each step: it diverges" in sentences[0.3]
    regimes = sweep.outcomes.set_index("learning_rate")["regime"]
    assert [regimes[r] for r in (0.1, 0.15, 0.25, 0.3)] == [
        "monotone", "oscillating", "borderline", "diverging"]


def test_on_a_saddle_the_sentence_says_the_surface_curves_down():
    surface = surfaces.get("saddle")
    sweep = whatif.sweep(surface, [RunSetting("adam", "Adam", {"learning_rate": 0.05})],
                         start=(0.0, 0.0), steps=5, rungs_each_side=0, beta_each_side=0)
    sentence = sweep.outcomes["sentence"].iloc[0]
    assert "other optimisers rescale their steps" in sentence or "curves down" in sentence


def test_steps_runs_and_rows_are_capped():
    surface = surfaces.get("rosenbrock")
    runs = [RunSetting("adam", f"Adam {i}", {"learning_rate": 0.05}) for i in range(12)]
    sweep = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=10**9, rungs_each_side=0,
                         beta_each_side=0)
    assert len(sweep.windows) == whatif.MAX_RUNS
    assert sweep.steps == whatif.MAX_STEPS
    assert sweep.paths["step"].max() <= whatif.MAX_STEPS
    assert len(sweep.paths) <= whatif.MAX_ROWS
    per_path = sweep.paths.groupby(["run", "rung", "beta"]).size()
    assert per_path.max() <= whatif.MAX_POINTS


def test_wide_windows_thin_paths_harder_to_stay_under_the_row_cap(monkeypatch):
    monkeypatch.setattr(whatif, "MAX_ROWS", 600)
    surface = surfaces.get("rosenbrock")
    sweep = whatif.sweep(surface, [RunSetting("momentum", "Momentum", {"learning_rate": 0.001})],
                         start=(-1.5, 2.0), steps=200, rungs_each_side=2, beta_each_side=1)
    assert len(sweep.paths) <= 600 + 15  # thin_steps may keep the last row beyond its budget
    assert sweep.paths.groupby(["rung", "beta"]).size().max() <= 600 // 15 + 1


def test_no_runs_or_an_unknown_optimiser_is_refused_in_words():
    surface = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="at least one run"):
        whatif.sweep(surface, [], start=(0, 0), steps=10)
    with pytest.raises(ValueError, match="unknown optimizer"):
        whatif.sweep(surface, [RunSetting("lbfgs", "L-BFGS", {})], start=(0, 0), steps=10)


def test_a_start_outside_the_surface_is_refused_in_words():
    surface = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="start"):
        whatif.sweep(surface, [RunSetting("sgd", "GD", {})], start=(0, 0, 0), steps=10)


# --- all rungs at once, the same tables as one run per rung -----------------------------------

def _one_run_per_rate(surface, optimizer, *, rates, start, steps):
    """``ladder.run_rates`` as it was done before: one ``descent.run`` per rate, each optimiser
    built afresh by its factory."""
    factory = getattr(optimizers, optimizer.kind)
    return [descent.run(surface, factory(**{**optimizer.hyperparams, "learning_rate": rate}),
                        start=start, steps=steps) for rate in rates]


SWEEP_CASES = {
    "rosenbrock": (lambda: surfaces.get("rosenbrock"), (-1.2, 1.0), 200, 3, 1, [
        RunSetting("sgd", "GD", {"learning_rate": 0.003}),
        RunSetting("momentum", "Momentum", {"learning_rate": 0.002}),
        RunSetting("adam", "Adam", {"learning_rate": 0.05}),
        RunSetting("newton", "Newton", {"learning_rate": 1.0}),
    ]),
    "linear_regression": (lambda: surfaces.get("linear_regression"), (0.0, 0.0), 100, 3, 1, [
        RunSetting("sgd", "GD", {"learning_rate": 0.3}),
        RunSetting("nesterov", "Nesterov", {"learning_rate": 0.1}),
        RunSetting("adamw", "AdamW", {"learning_rate": 0.5}),
    ]),
    "rastrigin": (lambda: surfaces.get("rastrigin"), (1.3, 0.4), 100, 3, 1, [
        RunSetting("rmsprop", "RMSProp", {"learning_rate": 0.05}),
        RunSetting("adagrad", "AdaGrad", {"learning_rate": 0.5}),
        RunSetting("sgd", "GD", {"learning_rate": 0.6}, (0.2, -0.3)),
    ]),
    "ackley": (lambda: surfaces.get("ackley"), (1.5, -1.0), 80, 2, 1, [
        RunSetting("adam", "Adam", {"learning_rate": 0.1, "beta2": 0.99}),
        RunSetting("momentum", "Momentum", {"learning_rate": 0.5, "momentum": 0.8}),
    ]),
    "typed_formula": (lambda: expressions.parse("(w1^2 + w2 - 11)^2 + sin(3*w1)*exp(w2/5)"),
                      (1.0, 1.0), 100, 3, 1, [
        RunSetting("momentum", "Momentum", {"learning_rate": 0.02}),
        RunSetting("newton", "Newton", {"learning_rate": 0.5, "damping": 1.0}),
    ]),
    "single_point": (lambda: surfaces.get("single_point", x=2.0, y_true=4.0), (-1.0,), 30, 8, 0,
                     [RunSetting("sgd", "Gradient descent", {"learning_rate": 0.2})]),
}


@pytest.fixture(scope="module")
def sweeps_both_ways():
    out = {}
    for case, (build, start, steps, rungs, betas, runs) in SWEEP_CASES.items():
        surface = build()
        kwargs = {"start": start, "steps": steps, "rungs_each_side": rungs,
                  "beta_each_side": betas}
        together = whatif.sweep(surface, runs, **kwargs)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ladder, "run_rates", _one_run_per_rate)
            apart = whatif.sweep(surface, runs, **kwargs)
        out[case] = together, apart
    return out


@pytest.mark.parametrize("case", list(SWEEP_CASES))
def test_all_rungs_at_once_give_the_same_tables_as_one_run_per_rung(sweeps_both_ways, case):
    together, apart = sweeps_both_ways[case]
    assert together.windows == apart.windows
    assert together.curvature == apart.curvature and together.steps == apart.steps
    pd.testing.assert_frame_equal(together.paths, apart.paths, check_exact=True)
    pd.testing.assert_frame_equal(together.outcomes, apart.outcomes, check_exact=True)


def test_the_compared_windows_hold_rungs_that_diverge_at_different_steps(sweeps_both_ways):
    stopped = {case: set(together.outcomes["diverged_at"]) - {-1}
               for case, (together, _) in sweeps_both_ways.items()}
    for case in ("rosenbrock", "linear_regression", "typed_formula", "single_point"):
        assert len(stopped[case]) >= 3, case
    assert all((sweep.outcomes["diverged_at"] == -1).any()
               for sweep, _ in sweeps_both_ways.values())


# --- one run at a time: what a server caches -------------------------------


def test_one_run_at_a_time_combined_is_the_sweep_of_all_runs(rosenbrock_sweep):
    surface, runs, _ = rosenbrock_sweep
    windows = [whatif.run_window(run, 2, 1) for run in runs]
    budget = whatif.path_budget(windows)
    whole = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=120, windows=windows)
    parts = [whatif.sweep(surface, [run], start=(-1.5, 2.0), steps=120, windows=[window],
                          max_points=budget) for run, window in zip(runs, windows, strict=True)]
    combined = whatif.combine(parts)
    assert combined.windows == whole.windows
    pd.testing.assert_frame_equal(combined.paths, whole.paths)
    pd.testing.assert_frame_equal(combined.outcomes, whole.outcomes)
    with pytest.raises(ValueError, match="one run each"):
        whatif.combine([whole])


def test_given_windows_decide_the_rates_whatever_the_runs_own_rate(rosenbrock_sweep):
    surface, runs, _ = rosenbrock_sweep
    window = whatif.run_window(runs[0], 2, 1)
    elsewhere = RunSetting("sgd", "Gradient descent", {"learning_rate": 0.3})
    a = whatif.sweep(surface, [runs[0]], start=(-1.5, 2.0), steps=50, windows=[window])
    b = whatif.sweep(surface, [elsewhere], start=(-1.5, 2.0), steps=50, windows=[window])
    pd.testing.assert_frame_equal(a.paths, b.paths)
    assert a.outcomes["learning_rate"].tolist() == list(window.rates)


def test_given_histories_are_drawn_as_the_runs_at_those_rates(rosenbrock_sweep):
    """A server reads runs from pages of the ladder: given them, the tables are the same."""
    surface, runs, _ = rosenbrock_sweep
    windows = [whatif.run_window(run, 2, 1) for run in runs]
    histories = []
    for run, window in zip(runs, windows, strict=True):
        by_beta = []
        for beta in window.betas or (None,):
            kwargs = {**run.hyperparams, **({window.knob: beta} if window.knob else {})}
            by_beta.append([descent.run(surface, optimizers.make(
                run.optimizer, **{**kwargs, "learning_rate": rate}), start=(-1.5, 2.0),
                steps=80) for rate in window.rates])
        histories.append(by_beta)
    computed = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=80, windows=windows)
    given = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=80, windows=windows,
                         histories=histories)
    pd.testing.assert_frame_equal(given.paths, computed.paths)
    pd.testing.assert_frame_equal(given.outcomes, computed.outcomes)
    with pytest.raises(ValueError, match="every rate and decay"):
        whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=80, windows=windows,
                     histories=[by_beta[:1] for by_beta in histories])
