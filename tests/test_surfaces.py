"""The surface registry: declared facts, derivatives, broadcasting, data-driven surfaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, optimizers, surfaces
from losslab.surfaces import MAX_ROWS, Surface, get, nearest_minimum_distance, single_point

# The registry, plus settings that reach code paths the defaults do not.
CASES: dict[str, Surface] = {
    **surfaces.SURFACES,
    "ravine[rotated]": get("ravine", condition=400.0, angle=30.0),
    "rosenbrock[a=-1]": get("rosenbrock", a=-1.0, b=10.0),
    "linear_regression[l2]": get("linear_regression", l2=0.5),
    "linear_regression[l1]": get("linear_regression", l1=0.3),
    "linear_regression[mae]": get("linear_regression", loss="mae"),
    "linear_regression[mae,l1,l2]": get("linear_regression", loss="mae", l1=0.2, l2=0.1),
    "linear_regression[huber]": get("linear_regression", loss="huber", noise=3.0, delta=0.5),
    "linear_regression[huber,l1]": get("linear_regression", loss="huber", l1=0.2, noise=2.0),
    "logistic_regression[l1,l2]": get("logistic_regression", l1=0.05, l2=0.1, noise=0.6),
    "logistic_regression[w=0]": get("logistic_regression", l1=5.0),
}
IDS = list(CASES)
SMOOTH_IDS = [name for name in IDS if CASES[name].smooth]

CLASSIC = (
    "rosenbrock",
    "himmelblau",
    "beale",
    "booth",
    "rastrigin",
    "ackley",
    "six_hump_camel",
    "three_hump_camel",
    "goldstein_price",
    "matyas",
    "mccormick",
    "styblinski_tang",
)


def _width(s: Surface) -> np.ndarray:
    return np.array([hi - lo for lo, hi in s.window])


def _random_points(s: Surface, count: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = np.array(s.window).T
    return lo + (hi - lo) * rng.random((count, s.dim))


def _window_grid(s: Surface, k: int) -> np.ndarray:
    axes = [np.linspace(lo, hi, k) for lo, hi in s.window]
    return np.array(np.meshgrid(*axes, indexing="ij")) if s.dim == 2 else axes[0][np.newaxis]


def _central(fn, p: np.ndarray, j: int, h: float) -> np.ndarray:
    e = np.zeros_like(p)
    e[j] = h
    return (np.asarray(fn(p + e)) - np.asarray(fn(p - e))) / (2 * h)


def _compare_with_differences(s: Surface, fn, derivative, scale_of) -> int:
    """Check ``derivative(p)[j]`` against central differences of ``fn`` along each axis j at
    random window points; returns how many (point, axis) pairs were checked.

    A pair is skipped only on a non-smooth surface and only where the difference quotients at
    steps h and h/2 disagree, i.e. where a kink lies within h and differences mean nothing.
    """
    checked = 0
    for p in _random_points(s, 12):
        exact = np.asarray(derivative(p))
        for j, width in enumerate(_width(s)):
            h = 1e-6 * width
            diff, diff_half = _central(fn, p, j, h), _central(fn, p, j, h / 2)
            tol = 1e-6 * max(np.max(np.abs(exact)), 1e-300) + 1e-7 * (1 + scale_of(p)) / width
            if not s.smooth and np.max(np.abs(diff - diff_half)) > tol:
                continue
            np.testing.assert_allclose(exact[j], diff, rtol=0, atol=tol, err_msg=f"{s.name} {p}")
            checked += 1
    return checked


def _formula_text(latex: str) -> str:
    """The formula with its layout (lines, alignment, spacing, bracket sizes) taken out."""
    for layout in (r"\begin{aligned}", r"\end{aligned}", r"\qquad", r"\quad", r"\left",
                   r"\right", r"\big", "\\\\", "{}", "&", " "):
        latex = latex.replace(layout, "")
    return latex.replace(r"\times", "")


@pytest.mark.parametrize("name", [n for n in IDS if CASES[n].latex_narrow])
def test_a_formula_set_for_a_phone_is_the_same_formula(name):
    """The phone's shorter lines say what the desktop's line says, symbol for symbol."""
    s = CASES[name]
    assert s.latex_narrow.startswith(r"\begin{aligned}"), s.latex_narrow
    assert s.latex_narrow.count("\\\\") >= 1
    assert _formula_text(s.latex_narrow) == _formula_text(s.latex)


@pytest.mark.parametrize("name", IDS)
def test_surface_declares_its_facts(name):
    s = CASES[name]
    assert s.title and s.latex and s.teaches
    assert len(s.window) == s.dim == len(s.axis_labels)
    assert all(lo < hi for lo, hi in s.window)
    assert s.minimizers and s.optimal_value is not None
    assert all(len(m) == s.dim for m in s.minimizers)


@pytest.mark.parametrize("name", IDS)
def test_rebuilding_from_its_params_gives_the_same_surface(name):
    s = CASES[name]
    again = s.build(**s.params)
    p = _random_points(s, 1)[0]
    assert again.loss(p) == s.loss(p) and again.minimizers == s.minimizers


@pytest.mark.parametrize("name", IDS)
def test_loss_at_each_minimiser_is_the_optimal_value(name):
    s = CASES[name]
    for m in s.minimizers:
        assert s.loss(np.array(m)) == pytest.approx(s.optimal_value, rel=1e-12, abs=1e-12)


def _assert_flat(s: Surface, points) -> None:
    """The gradient vanishes at each of ``points``, next to its size elsewhere on ``s``."""
    scale = 1 + np.max(np.abs(s.grad(_random_points(s, 5).T)))
    for point in points:
        assert len(point) == s.dim
        g = s.grad(np.array(point))
        assert np.max(np.abs(g)) <= 1e-9 * scale, (point, g)


@pytest.mark.parametrize("name", SMOOTH_IDS)
def test_gradient_vanishes_at_minimisers_of_smooth_surfaces(name):
    _assert_flat(CASES[name], CASES[name].minimizers)


@pytest.mark.parametrize("name", SMOOTH_IDS)
def test_hessian_is_positive_semidefinite_at_minimisers_of_smooth_surfaces(name):
    s = CASES[name]
    for m in s.minimizers:
        h = s.hessian(np.array(m))
        assert np.min(np.linalg.eigvalsh(h)) >= -1e-9 * (1 + np.max(np.abs(h))), (m, h)


@pytest.mark.parametrize("name", SMOOTH_IDS)
def test_each_declared_saddle_is_flat_and_curves_both_ways(name):
    # The map marks these as the passes where runs stall: the gradient vanishes there, the
    # loss curves up one way and down another, and points on either side are lower and higher.
    s = CASES[name]
    _assert_flat(s, s.saddles)
    for point in s.saddles:
        curvatures, directions = np.linalg.eigh(s.hessian(np.array(point)))
        assert curvatures[0] < 0 < curvatures[-1], (point, curvatures)
        at = s.loss(np.array(point))
        for direction, sign in ((directions[:, 0], -1), (directions[:, -1], 1)):
            for side in (-1e-3, 1e-3):
                assert sign * (s.loss(np.array(point) + side * direction) - at) > 0, point


def test_the_saddle_lessons_and_himmelblaus_passes_are_declared():
    assert surfaces.get("saddle").saddles == ((0.0, 0.0),)
    # "At the saddle": within 1 % of the window's width (4 here), not merely near it.
    assert surfaces.get("saddle").landmark_at((0.03, -0.02)) == ("saddle", (0.0, 0.0))
    assert surfaces.get("saddle").landmark_at((0.1, 0.0)) is None
    assert surfaces.get("rosenbrock").landmark_at((1.0, 1.0)) is None  # the goal, not a trap


@pytest.mark.parametrize("name", SMOOTH_IDS)
def test_each_declared_local_minimum_is_a_minimum_above_the_global_one(name):
    s = CASES[name]
    _assert_flat(s, s.local_minima)
    for point in s.local_minima:
        assert np.min(np.linalg.eigvalsh(s.hessian(np.array(point)))) > 0, point
        assert s.loss(np.array(point)) > s.optimal_value + 1e-6, point


def test_the_surfaces_that_teach_local_minima_declare_them():
    # The literature's values (Surjanovic & Bingham; Jamil & Yang 2013).
    gp = surfaces.get("goldstein_price")
    assert sorted(float(gp.loss(np.array(m))) for m in gp.local_minima) == pytest.approx(
        [30.0, 84.0, 840.0])
    assert len(surfaces.get("six_hump_camel").local_minima) == 4  # six minima, two global
    assert len(surfaces.get("three_hump_camel").local_minima) == 2
    st_ = surfaces.get("styblinski_tang")
    assert (2.746803, 2.746803) == pytest.approx(st_.local_minima[0], abs=1e-6)
    assert st_.landmark_at((2.75, 2.74)) == ("local minimum", st_.local_minima[0])
    passes = surfaces.get("himmelblau").saddles
    assert len(passes) == 4
    # Wikipedia's (and Himmelblau's) six-digit values.
    for known in ((0.086677, 2.884254), (-3.073025, -0.081353), (3.385154, 0.073852),
                  (-0.127961, -1.953715)):
        assert min(math.dist(known, p) for p in passes) < 2e-6


@pytest.mark.parametrize("name", IDS)
def test_no_nearby_point_is_lower_than_a_minimiser(name):
    s = CASES[name]
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    directions = np.array([np.cos(angles), np.sin(angles)]) if s.dim == 2 else np.array([[-1, 1]])
    for m in s.minimizers:
        for radius in 1e-5, 1e-3, 1e-1:
            ring = np.array(m)[:, np.newaxis] + radius * _width(s)[:, np.newaxis] * directions
            lowest = np.min(s.loss(ring))
            assert lowest >= s.optimal_value - 1e-10 * (1 + abs(s.optimal_value)), (m, radius)


@pytest.mark.parametrize("name", IDS)
def test_no_window_point_is_lower_than_the_optimal_value(name):
    s = CASES[name]
    lowest = np.min(s.loss(_window_grid(s, 101)))
    assert lowest >= s.optimal_value - 1e-12 * (1 + abs(s.optimal_value))


@pytest.mark.parametrize("name", IDS)
def test_gradient_matches_central_differences(name):
    s = CASES[name]
    checked = _compare_with_differences(s, s.loss, s.grad, lambda p: abs(float(s.loss(p))))
    assert checked >= 0.75 * 12 * s.dim


@pytest.mark.parametrize("name", IDS)
def test_hessian_matches_central_differences_of_the_gradient(name):
    s = CASES[name]

    def columns(p):  # column j of the Hessian is the derivative of the gradient along j
        return np.moveaxis(s.hessian(p), 1, 0)

    checked = _compare_with_differences(s, s.grad, columns, lambda p: np.max(np.abs(s.grad(p))))
    assert checked >= 0.75 * 12 * s.dim


@pytest.mark.parametrize("name", IDS)
def test_grid_broadcasting_matches_pointwise_values(name):
    s = CASES[name]
    grid = _window_grid(s, 5)[..., :4] if s.dim == 2 else _window_grid(s, 20).reshape(1, 5, 4)
    loss, grad, hess = s.loss(grid), s.grad(grid), s.hessian(grid)
    assert loss.shape == (5, 4)
    assert grad.shape == (s.dim, 5, 4)
    assert hess.shape == (s.dim, s.dim, 5, 4)
    for i in range(5):
        for j in range(4):
            p = grid[:, i, j]
            assert s.loss(p).shape == () and s.grad(p).shape == (s.dim,)
            np.testing.assert_allclose(loss[i, j], s.loss(p), rtol=1e-13)
            np.testing.assert_allclose(grad[:, i, j], s.grad(p), rtol=1e-13, atol=1e-300)
            np.testing.assert_allclose(hess[:, :, i, j], s.hessian(p), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", IDS)
def test_values_on_a_window_grid_are_finite(name):
    s = CASES[name]
    grid = _window_grid(s, 50)
    for values in s.loss(grid), s.grad(grid), s.hessian(grid):
        assert np.all(np.isfinite(values))


# --- the classic functions against the literature ---------------------------------------------

# Surjanovic & Bingham, Virtual Library of Simulation Experiments, with the digits it prints
# (so the tolerance is one unit of the last printed digit).
LITERATURE = {
    "rosenbrock": ([(1, 1)], 0.0, 0.0),
    "himmelblau": (
        [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        0.0,
        1e-6,
    ),
    "beale": ([(3, 0.5)], 0.0, 0.0),
    "booth": ([(1, 3)], 0.0, 0.0),
    "rastrigin": ([(0, 0)], 0.0, 0.0),
    "ackley": ([(0, 0)], 0.0, 0.0),
    "six_hump_camel": ([(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316, 1e-4),
    "three_hump_camel": ([(0, 0)], 0.0, 0.0),
    "goldstein_price": ([(0, -1)], 3.0, 0.0),
    "matyas": ([(0, 0)], 0.0, 0.0),
    "mccormick": ([(-0.54719, -1.54719)], -1.9133, 1e-4),
    "styblinski_tang": ([(-2.903534, -2.903534)], 2 * -39.16599, 4e-4),
}


def test_the_registry_has_the_twelve_classic_functions():
    assert set(CLASSIC) == set(LITERATURE)
    assert set(CLASSIC) <= set(surfaces.names(dim=2))


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_minima_agree_with_the_literature(name):
    s = get(name)
    points, value, digits = LITERATURE[name]
    assert len(s.minimizers) == len(points)
    for point in points:
        nearest = min(s.minimizers, key=lambda m: math.dist(m, point))
        assert math.dist(nearest, point) <= max(digits, 1e-15) * 1.5
    assert s.optimal_value == pytest.approx(value, abs=max(digits, 1e-15))


def test_himmelblau_has_four_and_six_hump_camel_two_global_minima():
    assert len(get("himmelblau").minimizers) == 4
    assert len(get("six_hump_camel").minimizers) == 2


def test_ackley_is_finite_and_flat_at_its_tip():
    s = get("ackley")
    origin = np.zeros(2)
    assert not s.smooth
    np.testing.assert_array_equal(s.grad(origin), [0.0, 0.0])
    assert np.all(np.isfinite(s.hessian(origin)))
    for tiny in 1e-310, 1e-200:
        assert np.all(np.isfinite(s.hessian(np.array([tiny, -tiny]))))
        assert np.all(np.isfinite(s.grad(np.array([tiny, -tiny]))))


# --- the teaching surfaces --------------------------------------------------------------------


def test_saddle_origin_is_a_strict_saddle():
    s = get("saddle")
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_allclose(np.linalg.eigvalsh(s.hessian(np.zeros(2))), [-4.0, 2.0])


def test_gradient_descent_stalls_on_the_saddle_line_and_escapes_beside_it():
    s = get("saddle")
    gd = optimizers.sgd(learning_rate=0.05)
    on_line = descent.run(s, gd, start=[1.5, 0.0], steps=300)
    beside = descent.run(s, gd, start=[1.5, 1e-3], steps=300)
    assert np.linalg.norm(on_line.final) < 1e-6
    assert nearest_minimum_distance(s, beside.params)[-1] < 1e-6


@pytest.mark.parametrize(("condition", "angle"), [(1.0, 0.0), (50.0, 0.0), (1000.0, -45.0)])
def test_ravine_hessian_has_eigenvalues_one_and_its_condition_number(condition, angle):
    s = get("ravine", condition=condition, angle=angle)
    eigenvalues = np.linalg.eigvalsh(s.hessian(np.array([0.3, -1.2])))
    np.testing.assert_allclose(eigenvalues, [1.0, condition], rtol=1e-12)


def test_plateau_gradient_vanishes_far_from_the_well():
    s = get("plateau", width=1.0)
    assert np.linalg.norm(s.grad(np.array([4.0, 0.0]))) < 2e-3
    assert np.linalg.norm(s.grad(np.array([1.0, 0.0]))) > 0.5


# --- settings -----------------------------------------------------------------------------------

BAD_SETTINGS = [
    ("ravine", {"condition": 0.5}, "condition"),
    ("ravine", {"condition": 1001.0}, "condition"),
    ("ravine", {"condition": math.nan}, "condition"),
    ("ravine", {"condition": math.inf}, "condition"),
    ("ravine", {"angle": "steep"}, "angle"),
    ("plateau", {"width": 0.0}, "width"),
    ("rosenbrock", {"b": -1.0}, "b"),
    ("rastrigin", {"a": True}, "a"),
    ("linear_regression", {"n": -5}, "n"),
    ("linear_regression", {"n": 2.5}, "n"),
    ("linear_regression", {"noise": -1.0}, "noise"),
    ("linear_regression", {"loss": "hinge"}, "loss"),
    ("linear_regression", {"l1": math.nan}, "l1"),
    ("linear_regression", {"delta": 0.0}, "delta"),
    ("logistic_regression", {"seed": -1}, "seed"),
    ("logistic_regression", {"l2": -0.1}, "l2"),
]


@pytest.mark.parametrize(("name", "params", "setting"), BAD_SETTINGS)
def test_bad_settings_raise_a_message_naming_them(name, params, setting):
    with pytest.raises(ValueError, match=rf"{name}: .*{setting}.*got {params[setting]!r}"):
        get(name, **params)


def test_unknown_loss_lists_the_choices():
    with pytest.raises(ValueError, match="loss must be one of mse, mae, huber; got 'hinge'"):
        get("linear_regression", loss="hinge")


def test_whole_floats_are_accepted_as_counts():
    assert get("linear_regression", n=40.0, seed=3.0).params["n"] == 40


# --- data-driven surfaces -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["linear_regression", "logistic_regression"])
def test_same_seed_gives_the_same_rows_and_another_seed_others(name):
    a, b, c = get(name, seed=5, n=30), get(name, seed=5, n=30), get(name, seed=6, n=30)
    np.testing.assert_array_equal(a.data.x, b.data.x)
    np.testing.assert_array_equal(a.data.y, b.data.y)
    assert not np.array_equal(a.data.x, c.data.x)


def test_rows_of_a_shared_surface_are_read_only():
    with pytest.raises(ValueError, match="read-only"):
        get("linear_regression").data.x[0] = 0.0


DATA_CASES = [n for n in IDS if CASES[n].data is not None]


@pytest.mark.parametrize("name", DATA_CASES)
def test_batch_gradient_over_all_rows_is_the_gradient(name):
    s = CASES[name]
    grid = _window_grid(s, 6)
    everything = np.arange(len(s.data.x))
    np.testing.assert_allclose(s.batch_grad(grid, everything), s.grad(grid), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", DATA_CASES)
def test_batch_gradient_is_the_gradient_on_those_rows_alone(name):
    s = CASES[name]
    rows = np.array([3, 17, 17, 42, 90])
    x, y = s.data.x[rows], s.data.y[rows]
    settings_ = {k: v for k, v in s.params.items() if k in ("loss", "l1", "l2", "delta")}
    if s.data.kind == "regression":
        alone = surfaces.linear_regression_from_data(x, y, **settings_)
    else:
        alone = surfaces.logistic_regression_from_data(x, y, **settings_)
    points = _random_points(s, 4).T
    np.testing.assert_allclose(s.batch_grad(points, rows), alone.grad(points), rtol=1e-12)


@pytest.mark.parametrize("rows", [np.array([], dtype=int), np.array([0.5]), np.array([100])])
def test_batch_gradient_refuses_bad_rows(rows):
    with pytest.raises(ValueError, match="rows"):
        get("linear_regression").batch_grad(np.zeros(2), rows)


def _direct_mse(grid, x, y):
    w, b = grid[0][..., np.newaxis], grid[1][..., np.newaxis]
    return np.mean((w * x + b - y) ** 2, axis=-1)


@pytest.mark.parametrize(("offset", "scale"), [(0.0, 1.0), (1000.0, 1e-3), (-50.0, 10.0)])
def test_sufficient_statistics_give_the_row_by_row_mse(offset, scale):
    rng = np.random.default_rng(1)
    x = offset + scale * rng.normal(size=500)
    y = 3.0 * x - 2.0 + scale * rng.normal(size=500)
    s = surfaces.linear_regression_from_data(x, y)
    grid = _window_grid(s, 30)
    np.testing.assert_allclose(s.loss(grid), _direct_mse(grid, x, y), rtol=1e-9)
    w, b = s.minimizers[0]
    np.testing.assert_allclose(s.loss(np.array([w, b])), _direct_mse(np.array([w, b]), x, y), 1e-9)


def test_mse_hessian_is_twice_the_second_moment_matrix():
    s = get("linear_regression", l2=0.25)
    x = s.data.x
    expected = 2 * np.array([[np.mean(x * x) + 0.25, np.mean(x)], [np.mean(x), 1.0]])
    np.testing.assert_allclose(s.hessian(np.array([0.3, 0.4])), expected, rtol=1e-12)


def test_ridge_minimiser_solves_the_penalised_normal_equations():
    s = get("linear_regression", l2=0.5)
    x, y = s.data.x, s.data.y
    design = np.column_stack([x, np.ones_like(x)])
    normal = design.T @ design / x.size + np.diag([0.5, 0.0])
    expected = np.linalg.solve(normal, design.T @ y / x.size)
    np.testing.assert_allclose(s.minimizers[0], expected, rtol=1e-12)


def test_non_smooth_losses_and_l1_are_declared_not_smooth():
    assert get("linear_regression").smooth
    for params in {"loss": "mae"}, {"loss": "huber"}, {"l1": 0.1}:
        assert not get("linear_regression", **params).smooth
    assert not get("logistic_regression", l1=0.1).smooth


@pytest.mark.parametrize(
    "name", [n for n in DATA_CASES if CASES[n].params.get("loss", "logistic") != "mae"]
)
def test_data_minimisers_satisfy_the_optimality_conditions(name):
    # F = S + l1·|w| with S differentiable: at w* ≠ 0, ∇S + l1·sign(w*)·e_w = 0 (what grad
    # returns); at w* = 0, ∂S/∂b = 0 and |∂S/∂w| ≤ l1 (grad uses sign(0) = 0).
    s = CASES[name]
    (w, b), l1 = s.minimizers[0], s.params["l1"]
    g = s.grad(np.array([w, b]))
    assert abs(g[1]) < 1e-10
    assert abs(g[0]) < 1e-10 if w != 0.0 else abs(g[0]) <= l1


def test_huber_finds_the_minimiser_of_rows_far_from_the_origin():
    # Every residual of the least-squares fit is far below δ, so the Huber loss is ½·squared
    # error around it and the two fits coincide. At x ≈ 10⁴ rounding alone leaves a gradient of
    # about 10⁻⁸ at the exact minimiser; the surface must still declare it.
    x = np.arange(10_000.0, 10_010.0)
    y = 3.0 * x - 20_000.0 + 0.01 * np.random.default_rng(0).standard_normal(x.size)
    huber = surfaces.linear_regression_from_data(x, y, loss="huber", delta=1.0)
    ols = surfaces.linear_regression_from_data(x, y, loss="mse")
    (w, b), (w_ols, b_ols) = huber.minimizers[0], ols.minimizers[0]
    assert np.max(np.abs(y - (w_ols * x + b_ols))) < 0.1
    assert w == pytest.approx(w_ols, rel=1e-9)
    assert b == pytest.approx(b_ols, rel=1e-9)
    assert huber.optimal_value == pytest.approx(0.5 * ols.optimal_value, rel=1e-6)
    # Nothing nearby is lower: the declared point is the minimum, not a stalled guess.
    for dw, db in ((1e-7, 0.0), (-1e-7, 0.0), (0.0, 1e-3), (0.0, -1e-3), (1e-7, -1e-3)):
        assert float(huber.loss(np.array([w + dw, b + db]))) > huber.optimal_value


def test_strong_l1_puts_the_minimiser_at_w_zero():
    s = get("linear_regression", l1=50.0)
    assert s.minimizers[0][0] == 0.0
    assert s.minimizers[0][1] == pytest.approx(np.mean(s.data.y), rel=1e-12)


def test_separated_classes_have_no_minimiser_unless_penalised():
    apart = get("logistic_regression", noise=0.0)
    assert apart.minimizers == () and apart.optimal_value is None
    held = get("logistic_regression", noise=0.0, l2=0.1)
    assert len(held.minimizers) == 1
    assert np.max(np.abs(held.grad(np.array(held.minimizers[0])))) < 1e-10


@given(
    w=st.floats(-1e6, 1e6, allow_nan=False),
    b=st.floats(-1e6, 1e6, allow_nan=False),
)
@settings(max_examples=60, deadline=None)
def test_logistic_loss_stays_finite_and_exact_for_huge_logits(w, b):
    s = surfaces.logistic_regression_from_data([1.0, -2.0], [0.0, 1.0])
    p = np.array([w, b])
    assert np.isfinite(s.loss(p)) and np.all(np.isfinite(s.grad(p)))
    assert np.all(np.isfinite(s.hessian(p)))
    z = np.array([w + b, -2 * w + b])
    expected = np.mean(np.logaddexp(0, z) - np.array([0.0, 1.0]) * z)
    assert s.loss(p) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_generated_rows_are_capped():
    for name in "linear_regression", "logistic_regression":
        with pytest.raises(ValueError, match=rf"n must be a whole number in \[1, {MAX_ROWS}\]"):
            get(name, n=MAX_ROWS + 1)
    assert len(get("linear_regression", n=MAX_ROWS).data.x) == MAX_ROWS


def test_uploaded_rows_are_capped():
    x = np.zeros(MAX_ROWS + 1)
    with pytest.raises(ValueError, match=f"got {MAX_ROWS + 1}"):
        surfaces.linear_regression_from_data(x, x)
    with pytest.raises(ValueError, match=f"got {MAX_ROWS + 1}"):
        surfaces.logistic_regression_from_data(x, x)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1.0, 2.0], [1.0], "equal length"),
        ([1.0, math.nan], [1.0, 2.0], "row 1 is not finite"),
        ([], [], "got 0"),
        (["a", "b"], [1.0, 2.0], "numbers"),
    ],
)
def test_uploaded_rows_are_checked(x, y, message):
    with pytest.raises(ValueError, match=message):
        surfaces.linear_regression_from_data(x, y)


def test_uploaded_labels_must_be_zero_or_one():
    with pytest.raises(ValueError, match="labels y must be 0 or 1; got 2"):
        surfaces.logistic_regression_from_data([0.0, 1.0], [0.0, 2.0])


def test_uploaded_surface_rebuilds_with_other_settings_on_the_same_rows():
    s = surfaces.linear_regression_from_data([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.5])
    mae = s.build(**{**s.params, "loss": "mae"})
    np.testing.assert_array_equal(mae.data.x, s.data.x)
    assert mae.params["loss"] == "mae" and not mae.smooth


def test_constant_x_declares_no_minimiser_without_a_penalty():
    s = surfaces.linear_regression_from_data([2.0, 2.0, 2.0], [1.0, 2.0, 4.0])
    assert s.minimizers == () and s.optimal_value is None
    assert np.all(np.isfinite(s.loss(_window_grid(s, 10))))


# --- distance to the nearest minimum -------------------------------------------------------------


def test_nearest_minimum_distance_picks_the_closest_minimiser():
    s = get("himmelblau")
    path = np.array([[3.0, 2.0], [3.0, 5.0], [-3.779310253377747, -3.0]])
    d = nearest_minimum_distance(s, path)
    np.testing.assert_allclose(d, [0.0, 3.0, 0.2831859912861696], rtol=1e-12, atol=1e-15)


def test_nearest_minimum_distance_is_finite_for_huge_coordinates():
    d = nearest_minimum_distance(get("booth"), np.array([[1e300, -1e300]]))
    assert np.isfinite(d[0]) and d[0] == pytest.approx(math.sqrt(2) * 1e300)


def test_nearest_minimum_distance_is_none_without_minimisers():
    s = get("logistic_regression", noise=0.0)
    assert nearest_minimum_distance(s, np.zeros((3, 2))) is None


@pytest.mark.parametrize("path", [np.zeros((3, 1)), np.zeros(2), np.array([[0.0, math.nan]])])
def test_nearest_minimum_distance_refuses_bad_paths(path):
    with pytest.raises(ValueError, match="params_path"):
        nearest_minimum_distance(get("booth"), path)


# --- the one-weight lesson, everywhere ------------------------------------------------------------


@given(
    w=st.floats(-10, 10),
    x=st.floats(-10, 10),
    y_true=st.floats(-10, 10),
)
@settings(max_examples=150, deadline=None)
def test_single_point_derivatives_match_central_differences(w, x, y_true):
    s = single_point(x=x, y_true=y_true)
    p, h = np.array([w]), 1e-4
    loss, g = float(s.loss(p)), s.grad(p)
    # The loss is quadratic in w, so central differences are exact up to rounding.
    rounding = 1e-13 * (1 + abs(loss) + abs(g[0]) * (abs(w) + h)) / h
    assert g[0] == pytest.approx(_central(s.loss, p, 0, h), abs=rounding)
    rounding = 1e-13 * (1 + abs(g[0]) + 2 * x * x * (abs(w) + h)) / h
    assert s.hessian(p)[0, 0] == pytest.approx(_central(s.grad, p, 0, h)[0], abs=rounding)
