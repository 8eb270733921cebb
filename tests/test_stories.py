"""Every surface opens on its story: its opening's runs really do what its caption says.

Each test plays a surface's declared opening with ``losslab.descent`` and checks, with the
run's own numbers, who arrives and who does not. A change to a surface, an optimiser or the
opening that breaks a story fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from losslab import descent, optimizers, surfaces
from losslab.descent import History
from losslab.surfaces import SURFACES, Opening, Run, Surface


def play(surface: Surface) -> list[History]:
    """The opening's runs on ``surface``, in order."""
    o = surface.opening
    return [
        descent.run(
            surface,
            optimizers.make(r.optimizer, learning_rate=r.learning_rate),
            start=r.start,
            steps=o.steps,
        )
        for r in o.runs
    ]


def story(name: str, **params: object) -> tuple[Surface, list[History]]:
    surface = surfaces.get(name, **params) if params else SURFACES[name]
    return surface, play(surface)


def distance(history: History, point: tuple[float, ...]) -> float:
    return float(np.linalg.norm(history.final - np.asarray(point)))


def nearest(surface: Surface, history: History) -> float:
    return min(distance(history, m) for m in surface.minimizers)


def sign_flips(values: np.ndarray) -> int:
    return int(np.count_nonzero(np.diff(np.sign(values)) != 0))


# ------------------------------------------------------------------------------ the registry


@pytest.mark.parametrize("name", list(SURFACES))
def test_every_surface_declares_an_opening_a_link_can_carry(name):
    s = SURFACES[name]
    o = s.opening
    assert o is not None, f"{name} has no opening"
    assert o.caption.endswith(".") and len(o.caption) < 260
    assert 1 <= o.steps <= 500 <= descent.MAX_STEPS
    assert 1 <= len(o.runs) <= 4
    for r in o.runs:
        assert r.optimizer in optimizers.OPTIMIZERS
        (rate,) = (h for h in optimizers.HYPERPARAMS[r.optimizer] if h.name == "learning_rate")
        assert rate.min_value <= r.learning_rate <= rate.max_value
        assert len(r.start) == s.dim
        for c, (lo, hi) in zip(r.start, s.window, strict=True):
            assert lo <= c <= hi, f"{name} starts outside its window"
        # Links keep six significant digits: an opening must survive the trip unchanged.
        for number in (r.learning_rate, *r.start):
            assert float(f"{number:.6g}") == number


def test_openings_are_immutable_data():
    o = SURFACES["himmelblau"].opening
    with pytest.raises(AttributeError):
        o.steps = 5
    assert isinstance(o.runs, tuple) and all(isinstance(r.start, tuple) for r in o.runs)
    assert o.start is None  # two starts
    assert SURFACES["rosenbrock"].opening.start == (-1.2, 1.0)
    assert SURFACES["rosenbrock"].opening.learning_rates == (0.0013, 0.0013, 0.5, 1.0)


def test_an_opening_refuses_what_no_view_could_show():
    with pytest.raises(ValueError, match="at least one run"):
        Opening((), 10, "Nothing.")
    with pytest.raises(ValueError, match="same dimension"):
        Opening((Run("sgd", 0.1, (0.0,)), Run("sgd", 0.1, (0.0, 0.0))), 10, "Mixed.")
    with pytest.raises(ValueError, match="at least one step"):
        Opening((Run("sgd", 0.1, (0.0,)),), 0, "Still.")


def test_no_opening_run_blows_up_unless_the_story_says_so():
    blow_ups = {("beale", 1), ("goldstein_price", 0)}
    for name, s in SURFACES.items():
        for i, h in enumerate(play(s)):
            assert (h.diverged_at is not None) == ((name, i) in blow_ups), (name, i)


# ------------------------------------------------------------------------------ each story


def test_single_point_walks_downhill_in_shrinking_steps():
    s, (gd,) = story("single_point")
    assert abs(gd.final[0] - 2.0) < 1e-5
    steps = np.abs(np.diff(gd.params[:, 0]))
    assert np.all(np.diff(steps) < 0)  # each step shorter than the last
    assert np.all(np.diff(gd.params[:, 0]) > 0)  # always towards w = 2, never past it


def test_rosenbrock_gradient_descent_crawls_while_the_others_reach_one_one():
    s, (gd, momentum, adam, newton) = story("rosenbrock")
    assert distance(gd, (1.0, 1.0)) > 1.0
    assert gd.final[1] == pytest.approx(gd.final[0] ** 2, abs=0.05)  # on the valley floor
    assert distance(momentum, (1.0, 1.0)) < 0.05
    assert distance(adam, (1.0, 1.0)) < 0.05
    assert distance(newton, (1.0, 1.0)) < 1e-8
    assert gd.loss[-1] > 1000 * momentum.loss[-1]


def test_himmelblau_two_near_starts_reach_two_different_minima():
    s, (left, right) = story("himmelblau")
    assert distance(left, s.minimizers[1]) < 1e-6  # (−2.81, 3.13)
    assert distance(right, (3.0, 2.0)) < 1e-6
    assert distance(left, right.final) > 5.0
    starts = s.opening.starts
    assert math.dist(*starts) <= 0.5


def test_beale_gradient_descent_crawls_or_blows_up_and_adam_arrives():
    s, (slow, fast, adam) = story("beale")
    assert distance(slow, (3.0, 0.5)) > 0.3 and slow.diverged_at is None
    assert fast.diverged_at is not None and fast.diverged_at <= 10
    assert distance(adam, (3.0, 0.5)) < 0.01


def test_booth_every_optimiser_reaches_the_one_minimum():
    s, runs = story("booth")
    for h in runs:
        assert distance(h, (1.0, 3.0)) < 0.01
        assert descent.label(h, s) == "converged"


def test_rastrigin_runs_settle_in_the_nearest_dip_not_the_global_minimum():
    s, runs = story("rastrigin")
    for h in runs:
        assert distance(h, (0.995, 0.0)) < 0.01  # the local minimum next door
        assert h.loss[-1] > 0.9  # the global minimum is 0
        assert distance(h, (0.0, 0.0)) > 0.9


def test_ackley_runs_stop_in_a_bump_far_from_the_funnel():
    s, runs = story("ackley")
    for h in runs:
        assert h.loss[-1] > 8.0
        assert distance(h, (0.0, 0.0)) > 4.0
        assert np.linalg.norm(h.grad[-1]) < 0.1


def test_six_hump_camel_three_starts_reach_both_global_minima_and_a_side_one():
    s, (a, b, side) = story("six_hump_camel")
    assert distance(a, s.minimizers[1]) < 1e-6
    assert distance(b, s.minimizers[0]) < 1e-6
    assert side.loss[-1] > 2.0 and np.linalg.norm(side.grad[-1]) < 1e-6


def test_three_hump_camel_a_side_minimum_looks_like_the_global_one():
    s, (side, centre) = story("three_hump_camel")
    assert side.loss[-1] == pytest.approx(0.2986, abs=1e-3)
    assert centre.loss[-1] < 1e-8
    for h in (side, centre):  # both stop where the gradient is (nearly) zero
        assert np.linalg.norm(h.grad[-1]) < 1e-4


def test_goldstein_price_gradient_descent_blows_up_and_adam_reaches_three():
    s, (gd, adam) = story("goldstein_price")
    assert gd.diverged_at is not None
    assert adam.loss[-1] < 3.01
    assert distance(adam, (0.0, -1.0)) < 0.01


def test_matyas_gradient_descent_crawls_along_the_diagonal_and_momentum_arrives():
    s, (gd, momentum) = story("matyas")
    assert gd.final[0] == pytest.approx(gd.final[1], abs=1e-3)  # on the diagonal floor
    assert distance(gd, (0.0, 0.0)) > 0.3
    assert distance(momentum, (0.0, 0.0)) < 0.01


def test_mccormick_momentum_leaves_the_box_and_keeps_falling():
    s, (gd, momentum) = story("mccormick")
    assert distance(gd, (2.5944, 1.5944)) < 1e-3 and gd.loss[-1] > 1.0
    (lo1, hi1), (lo2, hi2) = s.window
    assert not (lo1 <= momentum.final[0] <= hi1 and lo2 <= momentum.final[1] <= hi2)
    assert momentum.loss[-1] < s.optimal_value - 10.0
    assert descent.label(momentum, s) != "converged"


def test_styblinski_tang_three_starts_three_depths():
    s, runs = story("styblinski_tang")
    finals = [h.loss[-1] for h in runs]
    assert finals[0] == pytest.approx(s.optimal_value, abs=1e-6)
    assert finals[1] == pytest.approx(-64.196, abs=1e-2)
    assert finals[2] == pytest.approx(-50.059, abs=1e-2)


def test_saddle_gradient_descent_lingers_and_momentum_escapes():
    s, (gd, momentum) = story("saddle")
    assert distance(gd, (0.0, 0.0)) < 0.1  # still at the saddle after all its steps
    assert gd.loss[-1] > 0.0
    assert distance(momentum, (0.0, 1.0)) < 0.01


def test_ravine_zig_zags_at_a_large_rate_crawls_at_a_small_one_and_momentum_arrives():
    s, (zigzag, crawl, momentum) = story("ravine")
    assert s.params["condition"] == 10.0
    assert sign_flips(zigzag.params[:21, 1]) == 20  # w2 flips sign at every step
    assert sign_flips(momentum.params[:21, 1]) <= 4
    assert distance(crawl, (0.0, 0.0)) > 0.3
    assert distance(momentum, (0.0, 0.0)) < 0.05


@pytest.mark.parametrize("condition", [1.0, 20.0, 100.0, 1000.0])
def test_the_ravine_story_follows_its_condition_number(condition):
    s, (zigzag, crawl, momentum) = story("ravine", condition=condition)
    assert not any(h.diverged_at for h in (zigzag, crawl, momentum))
    if condition <= 100.0:
        assert distance(momentum, (0.0, 0.0)) < 0.05
    if condition >= 10.0:
        assert sign_flips(zigzag.params[:21, 1]) == 20
        assert distance(crawl, (0.0, 0.0)) > 0.3


def test_plateau_gradient_vanishes_and_adam_crosses():
    s, (gd, adam) = story("plateau")
    assert distance(gd, gd.params[0]) < 0.1  # barely moved
    assert gd.loss[-1] > 0.99
    assert distance(adam, (0.0, 0.0)) < 0.05


def test_linear_regression_line_reaches_the_least_squares_fit():
    s, (gd,) = story("linear_regression")
    assert nearest(s, gd) < 1e-3
    assert gd.loss[-1] == pytest.approx(s.optimal_value, rel=1e-6)


@pytest.mark.parametrize("params", [{"noise": 0.2}, {"l2": 1.0}, {"loss": "huber"}])
def test_the_fit_reaches_the_best_fit_for_other_settings(params):
    s, (gd,) = story("linear_regression", **params)
    assert nearest(s, gd) < 0.01
    assert gd.diverged_at is None


def test_absolute_error_keeps_jittering_around_the_fit():
    s, (gd,) = story("linear_regression", loss="mae")
    assert nearest(s, gd) < 0.05
    assert descent.label(gd, s) == "oscillating"


def test_logistic_regression_reaches_the_best_classifier():
    s, (gd,) = story("logistic_regression")
    assert nearest(s, gd) < 1e-3
    assert gd.loss[-1] < gd.loss[0] - 0.3


def test_separable_classes_open_on_a_weight_that_keeps_growing():
    s, (gd,) = story("logistic_regression", noise=0.2)
    assert s.minimizers == () and "no minimum" in s.opening.caption
    assert gd.final[0] > 5.0 and np.all(np.diff(gd.params[-20:, 0]) > 0)


def test_rows_far_from_the_origin_open_on_nothing_rather_than_a_blow_up():
    x = np.arange(10_000.0, 10_010.0)
    s = surfaces.linear_regression_from_data(x, 3.0 * x - 20_000.0)
    assert s.opening is None
    near = surfaces.linear_regression_from_data(np.arange(10.0), 3.0 * np.arange(10.0))
    (gd,) = play(near)
    assert gd.diverged_at is None and gd.loss[-1] < 0.01 * gd.loss[0]
