"""The plain-gradient-descent stability rule: the bound 2/λ, the regimes, the steady rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from losslab import descent, optimizers, stability, surfaces
from losslab.expressions import compile_expression


def quadratic(a: float, b: float) -> surfaces.Surface:
    """L = a·w1² + b·w2²: Hessian diag(2a, 2b)."""
    return compile_expression(f"{a}*w1^2 + {b}*w2^2").surface


def test_the_ladder_is_the_sliders_rates_in_order():
    ladder = stability.RATE_LADDER
    assert ladder[0] == 1e-4 and ladder[-1] == 10.0 and len(ladder) == 51
    assert list(ladder) == sorted(set(ladder))
    assert {0.001, 0.01, 0.05, 0.1, 1.0} <= set(ladder)


def test_largest_curvature_is_the_top_hessian_eigenvalue():
    assert stability.largest_curvature(quadratic(3, 0.5), (1.0, -2.0)) == pytest.approx(6.0)
    rosenbrock = surfaces.get("rosenbrock")
    h = rosenbrock.hessian(np.array([-1.5, 2.0]))
    assert stability.largest_curvature(rosenbrock, (-1.5, 2.0)) == pytest.approx(
        np.linalg.eigvalsh(h).max())


@pytest.mark.parametrize(
    ("lr", "regime"),
    [(0.05, "monotone"), (0.1, "monotone"), (0.15, "oscillating"), (0.2, "borderline"),
     (0.3, "diverging")],
)
def test_regimes_follow_one_and_two_over_lambda(lr, regime):
    assert stability.gd_bound(10.0) == pytest.approx(0.2)
    assert stability.regime(lr, 10.0) == regime


def test_no_curvature_means_no_bound():
    assert stability.gd_bound(0.0) == math.inf and stability.gd_bound(-1.0) == math.inf
    assert stability.regime(5.0, -1.0) == "any"


@given(st.floats(0.05, 1e5))
def test_the_steady_rate_is_the_largest_rung_safely_below_one_over_lambda(curvature):
    surface = quadratic(curvature / 2, curvature / 20)
    rate = stability.steady_rate(surface, (0.3, 0.3))
    rungs = [r for r in stability.RATE_LADDER if r * curvature <= stability.STEADY]
    assert rate == (max(rungs) if rungs else stability.RATE_LADDER[0])


def test_the_steady_rate_creeps_without_overshooting_on_a_quadratic():
    surface = quadratic(4.0, 1.0)  # λmax = 8
    rate = stability.steady_rate(surface, (1.0, 1.0))
    assert rate == 0.1  # 0.8/8; the next rung, 0.12, would leave 4% of w1 per step
    w = np.array([1.0, 1.0])
    for _ in range(20):
        new = w - rate * surface.grad(w)
        assert np.all(np.sign(new) == np.sign(w)) and np.all(np.abs(new) < np.abs(w))
        w = new


def test_a_surface_curving_down_has_no_steady_rate():
    assert stability.steady_rate(quadratic(-1.0, -2.0), (0.5, 0.5)) is None


def test_assess_words_the_bound_and_the_verdict_for_each_kind_of_optimizer():
    lesson = surfaces.get("single_point", x=2.0, y_true=4.0)
    gd = stability.assess(lesson, [-1.0], 0.3, "sgd")
    assert gd.lines[0].startswith("L''(w) = 2x² = 8") and "1/x² = 0.25" in gd.lines[0]
    assert gd.lines[1] == "lr = 0.3: gradient descent overshoots further each step: it diverges."
    assert gd.warning and gd.regime == "diverging" and gd.bound == 0.25
    heavy = stability.assess(lesson, [-1.0], 0.3, "momentum", momentum=0.9)
    assert "2(1+β)/λmax = 0.475" in heavy.lines[1] and not heavy.warning
    nesterov = stability.assess(lesson, [-1.0], 0.3, "nesterov", momentum=0.9)
    assert "((1+2β)λmax) = 0.17:" in nesterov.lines[1] and nesterov.warning
    assert nesterov.lines[1].endswith("at lr = 0.3 it diverges.")
    adam = stability.assess(lesson, [-1.0], 0.3, "adam")
    assert "rescale their steps" in adam.lines[1] and not adam.warning


def test_on_two_weights_a_momentum_rate_beyond_the_local_bound_is_not_called_divergent():
    # Rosenbrock's opening: Nesterov at 0.0013 is beyond 2(1+β)/((1+2β)λmax) where it starts,
    # yet it converges once it reaches the valley's floor; the words must not contradict it.
    rosenbrock = surfaces.get("rosenbrock")
    a = stability.assess(rosenbrock, [-1.2, 1.0], 0.0013, "nesterov", momentum=0.9)
    assert a.warning
    assert a.lines[1].endswith("it overshoots here: it diverges unless it reaches flatter ground.")


def test_assess_on_a_concave_start_says_no_rate_overshoots():
    saddle = surfaces.get("saddle")
    a = stability.assess(saddle, [0.0, 0.0], 0.1, "sgd")
    assert a.curvature > 0 or "curves down" in a.lines[0]
    # A concave start does not promise the run stays stable: it says what decides later.
    himmelblau = stability.assess(surfaces.get("himmelblau"), [-0.4, 0.0], 0.05)
    assert himmelblau.curvature < 0
    assert himmelblau.lines[0].endswith(
        "so no step overshoots here; where the run meets ground that curves up, its curvature "
        "sets the bound.")
    flat = stability.assess(surfaces.get("single_point", x=0.0, y_true=4.0), [-1.0], 0.1)
    assert "no learning rate overshoots" in flat.lines[0] and len(flat.lines) == 1


def test_a_start_near_a_saddle_is_not_promised_the_minimum():
    # The saddle lesson starts a hair off the ridge w2 = 0: curved up along w1 (λ = 2) and
    # down along w2 (λ = −4). The run stalls there before sliding off; "creeps straight to
    # the minimum" was wrong, and no minimum lies where the curvature is measured.
    a = stability.assess(surfaces.get("saddle"), [-1.5, 1e-4], 0.05, "sgd")
    assert (a.curvature, a.bound, a.regime) == (pytest.approx(2.0), pytest.approx(1.0),
                                                "monotone")
    assert "The surface also curves down there (λmin = -4), as near a saddle or ridge" in (
        a.lines[0])
    assert a.lines[1] == ("lr = 0.05: along the direction that curves up, gradient descent "
                          "creeps without overshooting.")
    assert "minimum" not in " ".join(a.lines)
    fast = stability.assess(surfaces.get("saddle"), [-1.5, 1e-4], 0.8, "sgd")
    assert fast.lines[1].endswith("gradient descent overshoots and oscillates.")
    # A start curved up every way keeps its promise of the minimum.
    bowl = stability.assess(quadratic(1.0, 2.0), [1.0, 1.0], 0.1, "sgd")
    assert bowl.lines[1] == "lr = 0.1: gradient descent creeps straight to the minimum."
    assert "curves down" not in bowl.lines[0]


def test_a_surface_of_straight_pieces_is_not_said_to_curve_down():
    # Absolute error's surface is made of flat facets: its Hessian is 0, not negative, and
    # a fixed step keeps jumping past the crease (the plateau lesson is about exactly that).
    mae = surfaces.get("linear_regression", loss="mae")
    a = stability.assess(mae, [-1.0, -1.0], 0.3, "sgd")
    assert a.curvature == 0 and len(a.lines) == 1
    assert "curves down" not in a.lines[0] and "no learning rate overshoots" not in a.lines[0]
    assert a.lines[0] == ("λmax = 0 at the start: the surface does not curve there (it is made "
                          "of flat pieces), so curvature sets no bound on the learning rate; "
                          "a fixed step can still jump past a crease.")


def test_a_kinked_one_weight_loss_is_not_said_to_hold_w_still():
    # |w| away from 0: no curvature, but a slope of 1, so gradient descent moves w by lr
    # every step and jumps past the kink.
    kinked = compile_expression("abs(w)").surface
    a = stability.assess(kinked, [1.5], 0.4, "sgd")
    assert a.curvature == 0
    assert "does not move w" not in a.lines[0]
    assert a.lines[0] == ("L''(w) = 0 here: the loss is a straight slope around w, so curvature "
                          "sets no bound on the learning rate; each step moves w by lr × |slope| "
                          "however near the minimum, so it can jump past a kink.")
    flat = stability.assess(surfaces.get("single_point", x=0.0, y_true=4.0), [-1.0], 0.1)
    assert "does not move w" in flat.lines[0]


@pytest.mark.parametrize("optimizer,beta", [("momentum", 0.5), ("momentum", 0.9),
                                            ("nesterov", 0.5), ("nesterov", 0.9)])
def test_the_momentum_bounds_are_where_a_quadratic_run_starts_to_diverge(optimizer, beta):
    """On L = λ/2·w² a run just below rate_bound converges and just above it diverges."""
    curvature = 4.0
    bowl = surfaces.Surface(
        name="bowl", title="Bowl", dim=1, loss_fn=lambda p: 0.5 * curvature * p[0] ** 2,
        grad_fn=lambda p: (curvature * p[0])[None],
        hessian_fn=lambda p: np.full((1, 1, *p.shape[1:]), curvature), window=((-2.0, 2.0),))
    bound = stability.rate_bound(curvature, optimizer, beta)
    for factor, runs_away in ((0.97, False), (1.03, True)):
        h = descent.run(bowl, optimizers.make(optimizer, learning_rate=bound * factor,
                                              momentum=beta),
                        start=[1.0], steps=3000)
        grew = h.diverged_at is not None or abs(h.params[-1, 0]) > 1.0
        assert grew == runs_away, (optimizer, beta, factor)


def test_no_verdict_where_the_loss_is_undefined_at_the_start():
    # log(w1) + w2² at (−1, −1): the Hessian is finite there (−1/w1², 2), but the loss is
    # not, so there is no run to judge and no rate to recommend.
    surface = compile_expression("log(w1) + w2^2").surface
    assert stability.assess(surface, [-1.0, -1.0], 0.05) is None
    assert stability.assess(surface, [1.0, -1.0], 0.05) is not None
