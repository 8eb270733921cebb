"""Optimisers: hand-computed first and second steps, validation, the registry, and a table of
(optimiser, settings) × problems that each know their answer (optax ``alias_test`` style).

The hand-worked problem is L(w) = ½(w1² + 4 w2²) from w0 = (1, 1): g(w) = (w1, 4 w2), so
g1 = (1, 4). Each expected number below was worked out on paper from the update rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, optimizers
from losslab.optimizers import HYPERPARAMS, OPTIMIZERS, make
from losslab.surfaces import Surface

CURV = np.array([1.0, 4.0])


def _grad(w):
    return CURV * np.asarray(w, dtype=float)


def _two_steps(opt, w0=(1.0, 1.0)):
    """w1 and w2 from w0 on the hand-worked problem."""
    w = np.array(w0, dtype=float)
    state = opt.init(w)
    out = []
    for _ in range(2):
        hessian = np.diag(CURV) if opt.needs_hessian else None
        step, state = opt.update(_grad(w), state, w, learning_rate=opt.learning_rate,
                                 hessian=hessian)
        w = w + step
        out.append(w)
    return out, state


# --- hand-computed steps -------------------------------------------------------------------------


def test_sgd_first_two_steps_by_hand():
    (w1, w2), _ = _two_steps(optimizers.sgd(learning_rate=0.1))
    # w1 = (1 - 0.1·1, 1 - 0.1·4); g2 = (0.9, 2.4); w2 = (0.9 - 0.09, 0.6 - 0.24)
    np.testing.assert_allclose(w1, [0.9, 0.6], rtol=0, atol=1e-15)
    np.testing.assert_allclose(w2, [0.81, 0.36], rtol=0, atol=1e-15)


def test_momentum_buffer_starts_as_first_gradient():
    (w1, w2), state = _two_steps(optimizers.sgd(learning_rate=0.1, momentum=0.9))
    # b1 = g1 = (1, 4) (not 0.1·g1): w1 = (0.9, 0.6); g2 = (0.9, 2.4);
    # b2 = 0.9·(1, 4) + (0.9, 2.4) = (1.8, 6.0); w2 = (0.9 - 0.18, 0.6 - 0.6)
    np.testing.assert_allclose(w1, [0.9, 0.6], atol=1e-15)
    np.testing.assert_allclose(w2, [0.72, 0.0], atol=1e-15)
    np.testing.assert_allclose(state.velocity, [1.8, 6.0], atol=1e-15)


def test_nesterov_first_two_steps_by_hand():
    (w1, w2), _ = _two_steps(optimizers.sgd(learning_rate=0.1, momentum=0.9, nesterov=True))
    # d1 = g1 + 0.9·b1 = (1.9, 7.6): w1 = (0.81, 0.24); g2 = (0.81, 0.96);
    # b2 = 0.9·(1, 4) + g2 = (1.71, 4.56); d2 = g2 + 0.9·b2 = (2.349, 5.064)
    np.testing.assert_allclose(w1, [0.81, 0.24], atol=1e-15)
    np.testing.assert_allclose(w2, [0.81 - 0.2349, 0.24 - 0.5064], atol=1e-15)


def test_adagrad_first_two_steps_by_hand():
    (w1, w2), state = _two_steps(optimizers.adagrad(learning_rate=0.1, eps=1e-10))
    # s1 = (1, 16); step = -0.1·(1/(1+ε), 4/(4+ε)): w1 = (0.9, 0.9) up to 1e-11
    np.testing.assert_allclose(w1, [0.9 + 1e-11, 0.9 + 0.25e-11], rtol=0, atol=1e-15)
    # g2 = (0.9, 3.6); s2 = (1.81, 28.96)
    np.testing.assert_allclose(state.sum_sq, [1.81, 28.96], rtol=1e-10)
    expected = [0.9 - 0.1 * 0.9 / math.sqrt(1.81), 0.9 - 0.1 * 3.6 / math.sqrt(28.96)]
    np.testing.assert_allclose(w2, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(w2, [0.8331035268, 0.8331035268], atol=1e-10)


def test_adagrad_adds_eps_after_the_square_root():
    opt = optimizers.adagrad(learning_rate=1.0, eps=1.0)
    step, _ = opt.update(np.array([3.0]), opt.init(np.zeros(1)), np.zeros(1))
    # -3 / (√9 + 1) = -0.75; eps inside the root would give -3/√10
    assert step[0] == pytest.approx(-0.75, abs=1e-15)


def test_rmsprop_first_two_steps_by_hand():
    (w1, w2), state = _two_steps(optimizers.rmsprop(learning_rate=0.01, decay=0.9, eps=1e-8))
    # a1 = 0.1·(1, 16) = (0.1, 1.6); step = -0.01·(1/√0.1, 4/√1.6) = -0.01·(√10, √10)
    np.testing.assert_allclose(w1, [1 - 0.0316227766, 1 - 0.0316227766], atol=1e-9)
    a2 = [0.9 * 0.1 + 0.1 * 0.968377223**2, 0.9 * 1.6 + 0.1 * (4 * 0.968377223) ** 2]
    np.testing.assert_allclose(state.square_avg, a2, rtol=1e-8)
    expected = [0.968377223 - 0.01 * 0.968377223 / math.sqrt(a2[0]),
                0.968377223 - 0.01 * 3.873508892 / math.sqrt(a2[1])]
    np.testing.assert_allclose(w2, expected, atol=1e-9)


def test_rmsprop_adds_eps_after_the_square_root():
    opt = optimizers.rmsprop(learning_rate=1.0, decay=0.0, eps=1.0)
    step, _ = opt.update(np.array([3.0]), opt.init(np.zeros(1)), np.zeros(1))
    assert step[0] == pytest.approx(-0.75, abs=1e-15)  # -3 / (√9 + 1)


def test_adam_first_two_steps_by_hand():
    (w1, w2), state = _two_steps(optimizers.adam(learning_rate=0.1))
    # bias correction makes the first step lr·sign(g): w1 = (0.9, 0.9) up to ε
    np.testing.assert_allclose(w1, [0.9, 0.9], atol=1e-8)
    # g2 = (0.9, 3.6); m2 = 0.9·0.1·(1, 4) + 0.1·(0.9, 3.6) = (0.18, 0.72)
    # v2 = 0.999·0.001·(1, 16) + 0.001·(0.81, 12.96) = (0.001809, 0.028944)
    np.testing.assert_allclose(state.m, [0.18, 0.72], rtol=1e-7)
    np.testing.assert_allclose(state.v, [0.001809, 0.028944], rtol=1e-7)
    m_hat = np.array([0.18, 0.72]) / 0.19  # 1 - 0.9²
    v_hat = np.array([0.001809, 0.028944]) / 0.001999  # 1 - 0.999²
    np.testing.assert_allclose(w2, 0.9 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), atol=1e-7)
    np.testing.assert_allclose(w2, [0.8004122287, 0.8004122279], atol=1e-8)


def test_adam_adds_eps_to_the_root_of_the_corrected_v():
    opt = optimizers.adam(learning_rate=1.0, eps=1.0)
    step, _ = opt.update(np.array([3.0]), opt.init(np.zeros(1)), np.zeros(1))
    # m̂ = 3, v̂ = 9: -3 / (√9 + 1) = -0.75
    assert step[0] == pytest.approx(-0.75, abs=1e-12)


def test_adamw_decays_weights_before_the_adam_step():
    (w1, w2), _ = _two_steps(optimizers.adamw(learning_rate=0.1, weight_decay=0.1))
    # w1 = 1·(1 - 0.01) - 0.1·sign(g1) = (0.89, 0.89)
    np.testing.assert_allclose(w1, [0.89, 0.89], atol=1e-8)
    # g2 = (0.89, 3.56): m2 = (0.179, 0.716), v2 = (0.0017911, 0.0286576) — no decay inside
    m_hat = np.array([0.179, 0.716]) / 0.19
    v_hat = np.array([0.0017911, 0.0286576]) / 0.001999
    np.testing.assert_allclose(w2, 0.89 * 0.99 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8),
                               atol=1e-7)


def test_adamw_without_decay_is_adam():
    (a1, a2), _ = _two_steps(optimizers.adam(learning_rate=0.1))
    (b1, b2), _ = _two_steps(optimizers.adamw(learning_rate=0.1, weight_decay=0.0))
    np.testing.assert_array_equal(a2, b2)


def test_newton_solves_a_quadratic_in_one_step():
    (w1, w2), state = _two_steps(optimizers.newton())
    np.testing.assert_allclose(w1, [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(w2, [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(state.curvature, [1.0, 4.0])


def test_damped_newton_first_two_steps_by_hand():
    (w1, w2), _ = _two_steps(optimizers.newton(learning_rate=1.0, damping=1.0))
    # H + I = diag(2, 5): step = -(1/2, 4/5), w1 = (0.5, 0.2);
    # g2 = (0.5, 0.8): step = -(0.5/2, 0.8/5), w2 = (0.25, 0.04)
    np.testing.assert_allclose(w1, [0.5, 0.2], atol=1e-15)
    np.testing.assert_allclose(w2, [0.25, 0.04], atol=1e-15)


def test_newton_steps_onto_a_saddle():
    opt = optimizers.newton()
    h = np.diag([1.0, -1.0])  # L = ½(w1² − w2²): the saddle is at the origin
    w = np.array([1.0, 1.0])
    step, state = opt.update(h @ w, opt.init(w), w, hessian=h)
    np.testing.assert_allclose(w + step, [0.0, 0.0], atol=1e-15)
    assert state.curvature.min() < 0


def test_enough_damping_turns_newton_away_from_a_saddle():
    opt = optimizers.newton(damping=2.0)
    h = np.diag([1.0, -1.0])
    w = np.array([1.0, 1.0])
    step, _ = opt.update(h @ w, opt.init(w), w, hessian=h)
    # (H + 2I) = diag(3, 1): step = -(1/3, -1); w2 grows, away from the saddle
    np.testing.assert_allclose(w + step, [2 / 3, 2.0], atol=1e-15)


def test_newton_on_a_singular_hessian_ignores_the_flat_direction():
    opt = optimizers.newton()
    h = np.diag([1.0, 0.0])  # L = ½ w1² + w2: no curvature along w2
    w = np.array([2.0, 5.0])
    step, _ = opt.update(np.array([2.0, 1.0]), opt.init(w), w, hessian=h)
    np.testing.assert_allclose(step, [-2.0, 0.0], atol=1e-15)


def test_newton_on_a_zero_hessian_takes_no_step():
    opt = optimizers.newton()
    step, _ = opt.update(np.array([1.0, 1.0]), opt.init(np.zeros(2)), np.zeros(2),
                         hessian=np.zeros((2, 2)))
    np.testing.assert_array_equal(step, [0.0, 0.0])


def test_newton_on_a_non_finite_hessian_returns_a_non_finite_step():
    opt = optimizers.newton()
    step, _ = opt.update(np.ones(2), opt.init(np.zeros(2)), np.zeros(2),
                         hessian=np.array([[np.nan, 0.0], [0.0, 1.0]]))
    assert not np.any(np.isfinite(step))


def test_newton_without_hessian_is_an_error():
    opt = optimizers.newton()
    with pytest.raises(ValueError, match="Hessian"):
        opt.update(np.ones(2), opt.init(np.zeros(2)), np.zeros(2))


# --- purity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_leaves_the_old_state_untouched(name):
    opt = make(name)
    w = np.array([1.0, -2.0])
    state = opt.init(w)
    hessian = np.eye(2) if opt.needs_hessian else None
    state1 = opt.update(np.array([0.5, 1.5]), state, w, hessian=hessian)[1]
    before = {k: v.copy() for k, v in opt.explain(state1).items()}
    opt.update(np.array([-3.0, 2.0]), state1, w, hessian=hessian)
    for key, value in opt.explain(state1).items():
        np.testing.assert_array_equal(value, before[key])


@settings(max_examples=50, deadline=None)
@given(
    g=st.lists(st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3), min_size=1, max_size=3),
    lr=st.floats(1e-4, 1.0),
)
def test_adam_first_step_is_the_learning_rate_whatever_the_gradient_scale(g, lr):
    opt = optimizers.adam(learning_rate=lr)
    step, _ = opt.update(np.array(g), opt.init(np.zeros(len(g))), np.zeros(len(g)))
    np.testing.assert_allclose(np.abs(step), lr, rtol=1e-4)
    assert np.all(np.sign(step) == -np.sign(g))


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (optimizers.sgd, {"learning_rate": 0.0}, "Invalid learning rate: 0.0"),
        (optimizers.sgd, {"learning_rate": float("nan")}, "Invalid learning rate: nan"),
        (optimizers.sgd, {"learning_rate": 0.1, "momentum": -1}, "Invalid momentum value: -1"),
        (optimizers.sgd, {"learning_rate": 0.1, "momentum": 1.0}, "Invalid momentum value: 1.0"),
        (optimizers.sgd, {"learning_rate": 0.1, "nesterov": True}, "Nesterov"),
        (optimizers.adagrad, {"learning_rate": 0.1, "eps": 0.0}, "Invalid epsilon value: 0.0"),
        (optimizers.rmsprop, {"learning_rate": 0.1, "decay": 1.0}, "Invalid decay value: 1.0"),
        (optimizers.rmsprop, {"learning_rate": -1.0}, "Invalid learning rate: -1.0"),
        (optimizers.adam, {"learning_rate": 0.1, "beta1": 1.0}, "Invalid beta1 value: 1.0"),
        (optimizers.adam, {"learning_rate": 0.1, "beta2": -0.5}, "Invalid beta2 value: -0.5"),
        (optimizers.adam, {"learning_rate": 0.1, "eps": -1e-8}, "Invalid epsilon value"),
        (optimizers.adamw, {"learning_rate": 0.1, "weight_decay": -0.1},
         "Invalid weight_decay value: -0.1"),
        (optimizers.newton, {"damping": -1.0}, "Invalid damping value: -1.0"),
        (optimizers.newton, {"learning_rate": float("inf")}, "Invalid learning rate: inf"),
    ],
)
def test_bad_hyperparameters_are_refused_with_their_value(factory, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        factory(**kwargs)


def test_factories_take_keywords_only():
    with pytest.raises(TypeError):
        optimizers.adam(0.1)  # type: ignore[misc]


def test_make_refuses_an_unknown_name_and_lists_the_choices():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'.*adam"):
        make("lbfgs")


def test_make_refuses_a_setting_the_entry_does_not_have():
    message = "sgd has no setting momentum; its settings: learning_rate$"
    with pytest.raises(ValueError, match=message):
        make("sgd", momentum=0.9)


# --- registry -------------------------------------------------------------------------------------


def test_registry_has_the_app_optimisers():
    assert set(OPTIMIZERS) == set(HYPERPARAMS) == {
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "newton"
    }


@pytest.mark.parametrize(("name", "expected"), [
    ("sgd", "SGD"), ("momentum", "Momentum"), ("nesterov", "Nesterov"), ("adagrad", "AdaGrad"),
    ("rmsprop", "RMSProp"), ("adam", "Adam"), ("adamw", "AdamW"), ("newton", "Newton"),
])
def test_make_with_defaults_builds_the_named_optimiser(name, expected):
    opt = make(name)
    assert opt.name == expected
    assert opt.needs_hessian == (name == "newton")


def test_momentum_preset_is_sgd_with_momentum():
    opt = make("momentum", momentum=0.5)
    assert opt.kind == "sgd"
    assert opt.hyperparams["momentum"] == 0.5
    assert make("nesterov").hyperparams["nesterov"] is True


@pytest.mark.parametrize("name", list(HYPERPARAMS))
def test_widget_ranges_hold_their_default_and_are_accepted(name):
    for param in HYPERPARAMS[name]:
        assert param.min_value <= param.default <= param.max_value, param
        for value in (param.min_value, param.max_value):
            make(name, **{param.name: value})


@pytest.mark.parametrize("name", list(HYPERPARAMS))
def test_hyperparams_record_what_make_was_given(name):
    first = HYPERPARAMS[name][0]
    value = (first.min_value + first.default) / 2
    assert make(name, **{first.name: value}).hyperparams[first.name] == value


# --- table: (optimiser, settings) × problems that know their answer -------------------------------


def _quadratic(curvature, centre) -> Surface:
    """L(w) = ½ Σ c_i (w_i − centre_i)²; minimiser ``centre``, minimum 0."""
    c = np.asarray(curvature, dtype=float)
    z = np.asarray(centre, dtype=float)
    dim = len(c)

    def shaped(a, p):
        return a.reshape((dim,) + (1,) * (p.ndim - 1))

    return Surface(
        name="quadratic", title="quadratic", dim=dim,
        loss_fn=lambda p: 0.5 * np.sum(shaped(c, p) * (p - shaped(z, p)) ** 2, axis=0),
        grad_fn=lambda p: shaped(c, p) * (p - shaped(z, p)),
        hessian_fn=lambda p: np.diag(c).reshape((dim, dim) + (1,) * (p.ndim - 1)),
        window=((-3.0, 3.0),) * dim, minimizers=(tuple(z),), optimal_value=0.0,
    )


def _rosenbrock() -> Surface:
    """(1 − x)² + 5(y − x²)²: minimiser (1, 1), minimum 0."""
    return Surface(
        name="rosen5", title="rosen5", dim=2,
        loss_fn=lambda p: (1 - p[0]) ** 2 + 5 * (p[1] - p[0] ** 2) ** 2,
        grad_fn=lambda p: np.stack([-2 * (1 - p[0]) - 20 * p[0] * (p[1] - p[0] ** 2),
                                    10 * (p[1] - p[0] ** 2)]),
        hessian_fn=lambda p: np.array([[2 - 20 * p[1] + 60 * p[0] ** 2, -20 * p[0]],
                                       [-20 * p[0], 10 + 0 * p[0]]]),
        window=((-2.0, 2.0), (-1.0, 3.0)), minimizers=((1.0, 1.0),), optimal_value=0.0,
    )


PROBLEMS = {
    "bowl": (_quadratic([1.0, 10.0], [1.0, -2.0]), (-2.0, 2.0)),
    "bowl_at_origin": (_quadratic([2.0, 0.5], [0.0, 0.0]), (1.5, -2.5)),
    "line": (_quadratic([8.0], [2.0]), (-1.0,)),
    "rosenbrock": (_rosenbrock(), (-1.0, 1.5)),
}

TABLE = [
    # (registry name, settings, problem, steps, tolerance on the distance to the minimiser)
    ("sgd", {"learning_rate": 0.15}, "bowl", 300, 1e-6),
    ("sgd", {"learning_rate": 0.2}, "line", 100, 1e-8),
    ("sgd", {"learning_rate": 0.02}, "rosenbrock", 3000, 1e-4),
    ("momentum", {"learning_rate": 0.05, "momentum": 0.9}, "bowl", 400, 1e-6),
    ("momentum", {"learning_rate": 0.005, "momentum": 0.9}, "rosenbrock", 3000, 1e-4),
    ("nesterov", {"learning_rate": 0.05, "momentum": 0.9}, "bowl", 400, 1e-6),
    ("nesterov", {"learning_rate": 0.05}, "line", 300, 1e-8),
    ("adagrad", {"learning_rate": 0.5}, "bowl", 1000, 1e-6),
    ("adagrad", {"learning_rate": 0.5}, "rosenbrock", 3000, 1e-3),
    ("rmsprop", {"learning_rate": 0.01}, "bowl", 2000, 1e-3),
    ("rmsprop", {"learning_rate": 0.01}, "line", 2000, 1e-3),
    ("adam", {"learning_rate": 0.05}, "bowl", 1000, 1e-5),
    ("adam", {"learning_rate": 0.02}, "rosenbrock", 3000, 1e-4),
    ("adam", {"learning_rate": 0.1}, "line", 1000, 1e-5),
    ("adamw", {"learning_rate": 0.05, "weight_decay": 0.01}, "bowl_at_origin", 1000, 1e-5),
    ("newton", {}, "bowl", 1, 1e-12),
    ("newton", {}, "rosenbrock", 20, 1e-10),
    ("newton", {"learning_rate": 0.5, "damping": 0.1}, "line", 60, 1e-10),
]


@pytest.mark.parametrize(
    ("name", "hyperparams", "problem", "steps", "tol"),
    TABLE,
    ids=[f"{row[0]}-{row[2]}" for row in TABLE],
)
def test_optimiser_reaches_the_problems_minimiser(name, hyperparams, problem, steps, tol):
    surface, start = PROBLEMS[problem]
    history = descent.run(surface, make(name, **hyperparams), start=start, steps=steps)
    assert history.diverged_at is None
    distance = np.linalg.norm(history.final - np.array(surface.minimizers[0]))
    assert distance <= tol


def test_adamw_rests_away_from_a_minimiser_off_the_origin():
    surface, start = PROBLEMS["line"]
    history = descent.run(surface, make("adamw", weight_decay=0.1), start=start, steps=1000)
    assert history.final[0] < 2.0 - 1e-3  # pulled towards 0 from w* = 2
