"""Every data loss against a direct row-by-row sum written here in plain Python.

The surfaces compute their losses vectorised (MSE from sufficient statistics, the others in
blocks of rows); this file recomputes each one the slow, obvious way, so a parameter that is
ignored or mis-wired (Huber's δ, a penalty, the labels) shows up as a wrong number. Gradients
and Hessians are checked against central differences of the same direct sum, and against the
direct sum's own derivatives where the loss is piecewise smooth.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from losslab import surfaces

DELTAS = (0.1, 0.5, 1.0, 2.0, 5.0)
WEIGHTS = ((2.0, 1.0), (0.3, -0.7), (-1.5, 2.5), (4.0, -3.0), (-0.8, 0.05))
"""(w, b) points: near the generating line (2, 1) and far from it, so residuals of every size
occur; w is never 0, where the l1 penalty has its kink."""


def row_loss(kind: str, z: float, y: float, delta: float) -> float:
    """One row's loss at prediction (or logit) ``z``, as textbooks and torch.nn define it."""
    r = z - y
    if kind == "mse":
        return r * r
    if kind == "mae":
        return abs(r)
    if kind == "huber":
        return 0.5 * r * r if abs(r) <= delta else delta * (abs(r) - 0.5 * delta)
    if kind == "logistic":
        # log(1 + e^z) − y·z, written so that large |z| does not overflow.
        return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z
    raise AssertionError(kind)


def direct_loss(kind, x, y, w, b, *, delta=1.0, l1=0.0, l2=0.0) -> float:
    total = 0.0
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        total += row_loss(kind, w * xi + b, yi, delta)
    return total / len(x) + l1 * abs(w) + l2 * w * w


def direct_derivatives(kind, x, y, w, b, *, delta=1.0, l1=0.0, l2=0.0):
    """The direct sum's gradient and Hessian, row by row (piecewise: the branch each row is on)."""
    g = [0.0, 0.0]
    h = [[0.0, 0.0], [0.0, 0.0]]
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        z = w * xi + b
        r = z - yi
        if kind == "mse":
            d1, d2 = 2.0 * r, 2.0
        elif kind == "mae":
            d1, d2 = math.copysign(1.0, r), 0.0
        elif kind == "huber":
            d1, d2 = (r, 1.0) if abs(r) <= delta else (math.copysign(delta, r), 0.0)
        else:
            p = 1.0 / (1.0 + math.exp(-z))
            d1, d2 = p - yi, p * (1.0 - p)
        for i, a in enumerate((xi, 1.0)):
            g[i] += d1 * a
            for j, c in enumerate((xi, 1.0)):
                h[i][j] += d2 * a * c
    n = len(x)
    grad = np.array(g) / n + np.array([l1 * math.copysign(1.0, w) + 2.0 * l2 * w, 0.0])
    hess = np.array(h) / n + np.array([[2.0 * l2, 0.0], [0.0, 0.0]])
    return grad, hess


def central_grad(fn, w: float, b: float, step: float = 1e-6) -> np.ndarray:
    return np.array([
        (fn(w + step, b) - fn(w - step, b)) / (2 * step),
        (fn(w, b + step) - fn(w, b - step)) / (2 * step),
    ])


def regression_cases():
    for loss in ("mse", "mae"):
        yield loss, 1.0
    for delta in DELTAS:
        yield "huber", delta


def outlier_rows() -> tuple[np.ndarray, np.ndarray]:
    """Rows on y = 2x + 1 with small wiggles and three gross outliers."""
    x = np.linspace(-2.0, 3.0, 23)
    y = 2.0 * x + 1.0 + 0.3 * np.sin(7.0 * x)
    y[[3, 11, 19]] += (12.0, -9.0, 25.0)
    return x, y


@pytest.mark.parametrize(("loss", "delta"), list(regression_cases()))
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.2, 0.7)])
def test_generated_regression_loss_is_the_row_mean_plus_penalty(loss, delta, l1, l2):
    s = surfaces.get("linear_regression", n=57, noise=1.5, seed=3, loss=loss, delta=delta,
                     l1=l1, l2=l2)
    x, y = s.data.x, s.data.y
    assert len(x) == 57
    for w, b in WEIGHTS:
        expected = direct_loss(loss, x, y, w, b, delta=delta, l1=l1, l2=l2)
        assert float(s.loss(np.array([w, b]))) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("loss", "delta"), list(regression_cases()))
def test_regression_on_a_learners_rows_is_the_row_mean(loss, delta):
    x, y = outlier_rows()
    s = surfaces.linear_regression_from_data(x, y, loss=loss, delta=delta, l1=0.1, l2=0.2)
    points = np.array(WEIGHTS).T  # every point at once: shape (2, k)
    expected = [direct_loss(loss, x, y, w, b, delta=delta, l1=0.1, l2=0.2) for w, b in WEIGHTS]
    np.testing.assert_allclose(s.loss(points), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_delta_decides_which_rows_are_squared(delta):
    """Rows fall inside δ and outside it, so both branches are checked, and a different δ
    gives a different loss (δ is used, not a fixed threshold)."""
    x, y = outlier_rows()
    s = surfaces.linear_regression_from_data(x, y, loss="huber", delta=delta)
    inside = outside = 0
    for w, b in WEIGHTS:
        residuals = np.abs(w * x + b - y)
        inside += int((residuals <= delta).sum())
        outside += int((residuals > delta).sum())
        got = float(s.loss(np.array([w, b])))
        assert got == pytest.approx(direct_loss("huber", x, y, w, b, delta=delta), rel=1e-12)
        for other in DELTAS:
            if other != delta and (residuals > min(delta, other)).any():
                assert got != pytest.approx(
                    direct_loss("huber", x, y, w, b, delta=other), rel=1e-9
                ), f"δ = {delta} gives the loss of δ = {other}"
    assert inside and outside


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.0, 0.4), (0.25, 0.0), (0.1, 1.0)])
@pytest.mark.parametrize("noise", [0.4, 1.0, 2.5])
def test_logistic_loss_is_the_row_mean_cross_entropy_plus_penalty(noise, l1, l2):
    s = surfaces.get("logistic_regression", n=48, noise=noise, seed=5, l1=l1, l2=l2)
    x, y = s.data.x, s.data.y
    assert set(y.tolist()) == {0.0, 1.0}
    for w, b in (*WEIGHTS, (12.0, -30.0)):  # a large logit: the stable form matters
        expected = direct_loss("logistic", x, y, w, b, l1=l1, l2=l2)
        assert float(s.loss(np.array([w, b]))) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_logistic_on_a_learners_rows_is_the_row_mean():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.2, 0.9, 1.5, 3.0])
    y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    s = surfaces.logistic_regression_from_data(x, y, l2=0.3)
    for w, b in WEIGHTS:
        expected = direct_loss("logistic", x, y, w, b, l2=0.3)
        assert float(s.loss(np.array([w, b]))) == pytest.approx(expected, rel=1e-12)


def all_surfaces():
    for loss, delta in regression_cases():
        for l1, l2 in ((0.0, 0.0), (0.2, 0.6)):
            yield (loss, delta, l1, l2), surfaces.get(
                "linear_regression", n=41, noise=1.2, seed=9, loss=loss, delta=delta,
                l1=l1, l2=l2,
            )
    for l1, l2 in ((0.0, 0.0), (0.2, 0.6)):
        yield ("logistic", 1.0, l1, l2), surfaces.get(
            "logistic_regression", n=40, noise=1.0, seed=9, l1=l1, l2=l2
        )


CASES = list(all_surfaces())


@pytest.mark.parametrize(("case", "surface"), CASES, ids=["-".join(map(str, c)) for c, _ in CASES])
def test_gradient_matches_central_differences_of_the_direct_sum(case, surface):
    kind, delta, l1, l2 = case
    x, y = surface.data.x, surface.data.y

    def fn(w, b):
        return direct_loss(kind, x, y, w, b, delta=delta, l1=l1, l2=l2)

    for w, b in WEIGHTS:
        got = surface.grad(np.array([w, b]))
        np.testing.assert_allclose(got, central_grad(fn, w, b), rtol=1e-6, atol=1e-6)
        exact, _ = direct_derivatives(kind, x, y, w, b, delta=delta, l1=l1, l2=l2)
        np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("case", "surface"), CASES, ids=["-".join(map(str, c)) for c, _ in CASES])
def test_hessian_is_the_direct_sum_of_row_curvatures(case, surface):
    kind, delta, l1, l2 = case
    x, y = surface.data.x, surface.data.y
    for w, b in WEIGHTS:
        _, exact = direct_derivatives(kind, x, y, w, b, delta=delta, l1=l1, l2=l2)
        got = surface.hessian(np.array([w, b]))
        np.testing.assert_allclose(got, exact, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("case", "surface"), CASES, ids=["-".join(map(str, c)) for c, _ in CASES])
def test_mini_batch_gradient_is_the_direct_sum_over_those_rows(case, surface):
    kind, delta, l1, l2 = case
    x, y = surface.data.x, surface.data.y
    rows = np.array([0, 3, 4, 10, 17, 25, 33])
    for w, b in WEIGHTS:
        exact, _ = direct_derivatives(kind, x[rows], y[rows], w, b, delta=delta, l1=l1, l2=l2)
        got = surface.batch_grad(np.array([w, b]), rows)
        np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-12)
