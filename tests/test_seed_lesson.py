"""The course chapter's lesson, reproduced exactly, and the descent drawn on it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from losslab import charts, descent, optimizers, stability, surfaces

SEED_W = np.linspace(-1, 3, 100)


def seed_loss(w, x, y_true):
    return (w * x - y_true) ** 2


def seed_grad(w, x, y_true):
    return 2 * (w * x - y_true) * x


def test_seed_values_at_the_seed_points_match_the_closed_form():
    s = surfaces.get("single_point", x=2.0, y_true=4.0)
    w = SEED_W[np.newaxis]
    np.testing.assert_allclose(s.loss(w), seed_loss(SEED_W, 2.0, 4.0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.grad(w)[0], seed_grad(SEED_W, 2.0, 4.0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.hessian(SEED_W[np.newaxis])[0, 0], np.full(100, 8.0))


def test_default_surface_is_the_seed_example():
    s = surfaces.get("single_point")
    assert s.params == {"x": 2.0, "y_true": 4.0}
    assert s.window == ((-1.0, 3.0),)
    assert s.minimizers == ((2.0,),) and s.optimal_value == 0.0


def test_lesson_curve_is_the_seed_grid_by_default():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=30)
    curve, path = charts.lesson_frames(s, h)
    np.testing.assert_allclose(curve["w"], SEED_W, atol=1e-15)
    np.testing.assert_allclose(curve["loss"], seed_loss(SEED_W, 2.0, 4.0), atol=1e-12)
    assert list(path["step"]) == list(range(31))


def test_gradient_descent_takes_the_hand_computed_steps():
    s = surfaces.get("single_point", x=2.0, y_true=4.0)
    h = descent.run(s, optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=2)
    # g0 = 2(-2 - 4)2 = -24 -> w1 = -1 + 0.05*24 = 0.2; g1 = 2(0.4 - 4)2 = -14.4 -> w2 = 0.92
    np.testing.assert_allclose(h.params[:, 0], [-1.0, 0.2, 0.92], atol=1e-14)
    np.testing.assert_allclose(h.grad[:, 0], [-24.0, -14.4, 2 * (1.84 - 4) * 2], atol=1e-12)
    np.testing.assert_allclose(h.loss, [36.0, 12.96, (1.84 - 4) ** 2], atol=1e-12)
    assert h.params.shape == (3, 1) and h.loss.shape == (3,) and h.grad.shape == (3, 1)
    assert h.diverged_at is None


def test_divergence_stops_at_the_first_runaway_step_and_keeps_only_finite_values():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.3), start=[-1.0], steps=200)
    # loss_t = 36 * 1.96**t; the run stops when it exceeds 1e8 * (1 + 36).
    expected = math.ceil(math.log(1e8 * 37 / 36) / math.log(1.96))
    assert h.diverged_at == expected
    assert len(h) == expected
    for arr in (h.params, h.loss, h.grad):
        assert np.all(np.isfinite(arr))


REGIMES = [(0.05, "monotone"), (0.2, "oscillating"), (0.3, "diverging")]


@pytest.mark.parametrize(("lr", "expected"), REGIMES)
def test_stability_regime_follows_the_bound_one_over_x_squared(lr, expected):
    assert stability.gd_bound(8.0) == pytest.approx(0.25)
    assert stability.regime(lr, 8.0) == expected


def test_steps_beyond_the_cap_are_capped():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.001), start=[-1.0], steps=10**9)
    assert len(h) == descent.MAX_STEPS + 1


def test_lesson_figure_has_both_panels_the_tangent_and_the_step_param():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=30)
    spec = charts.lesson_figure(s, h).to_dict()
    text = json.dumps(spec)
    assert "Loss surface" in text and "Gradient of loss w.r.t. w" in text
    assert [p["name"] for p in spec["params"]] == ["step"]
    assert spec["params"][0]["bind"]["input"] == "range"
    assert '"strokeDash": [5, 4]' in text  # the dashed zero line
    assert text.count('"x2"') >= 1  # the tangent segment


def test_lesson_figure_data_is_finite_even_for_a_diverged_run():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.9), start=[-1.0], steps=100)
    spec = charts.lesson_figure(s, h).to_dict()
    for rows in spec["datasets"].values():
        for row in rows:
            for v in row.values():
                if isinstance(v, float):
                    assert math.isfinite(v)
