"""descent.run (history, caps, divergence, recorded state), label and summary."""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, expressions, optimizers, schedules, surfaces
from losslab.descent import MAX_STEPS, label, run, summary
from losslab.optimizers import Optimizer
from losslab.surfaces import Dataset, Surface


def _single_point():
    return surfaces.get("single_point", x=2.0, y_true=4.0)  # L = (2w − 4)², w* = 2


def _quadratic(curvature, *, optimal: bool = True) -> Surface:
    """L(w) = ½ Σ c_i w_i²; with a negative c it is a saddle (and has no optimal value)."""
    c = np.asarray(curvature, dtype=float)
    dim = len(c)

    def shaped(p):
        return c.reshape((dim,) + (1,) * (p.ndim - 1))

    bowl = optimal and bool(np.all(c > 0))
    return Surface(
        name="quadratic", title="quadratic", dim=dim,
        loss_fn=lambda p: 0.5 * np.sum(shaped(p) * p**2, axis=0),
        grad_fn=lambda p: shaped(p) * p,
        hessian_fn=lambda p: np.diag(c).reshape((dim, dim) + (1,) * (p.ndim - 1)),
        window=((-3.0, 3.0),) * dim,
        minimizers=((0.0,) * dim,) if bowl else (),
        optimal_value=0.0 if bowl else None,
    )


def _flat() -> Surface:
    return Surface(
        name="flat", title="flat", dim=1,
        loss_fn=lambda p: 0.0 * p[0], grad_fn=lambda p: 0.0 * p, hessian_fn=lambda p: 0.0 * p[None],
        window=((-1.0, 1.0),),
    )


def _scripted(steps_by_call) -> Optimizer:
    """An optimiser that returns the given steps in turn (for divergence tests)."""

    def update(grad, state, params=None, *, learning_rate=1.0, hessian=None):
        return np.asarray(steps_by_call[state], dtype=float), state + 1

    return Optimizer("scripted", 1.0, {}, init=lambda p: 0, update=update)


# --- run ------------------------------------------------------------------------------------------


def test_step_zero_is_the_start():
    history = run(_single_point(), optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=3)
    assert history.params[0].tolist() == [-1.0]
    assert history.loss[0] == 36.0  # (−2 − 4)²
    assert history.grad[0].tolist() == [-24.0]  # 2·(−6)·2
    assert len(history) == 4


def test_steps_beyond_the_cap_are_capped():
    history = run(_single_point(), optimizers.sgd(learning_rate=0.01), start=[0.0], steps=10**9)
    assert history.steps_requested == MAX_STEPS
    assert len(history) == MAX_STEPS + 1


def test_negative_steps_take_no_step():
    history = run(_single_point(), optimizers.sgd(learning_rate=0.01), start=[0.0], steps=-5)
    assert len(history) == 1


def test_exploding_loss_stops_the_run_at_that_step():
    # lr = 1: w − 2 is multiplied by (1 − 8) = −7 each update: errors 1, 7, 49, 343, 2401, 16807.
    # The limit is 1e8·(1 + 4); loss 4·16807² ≈ 1.13e9 at step 5 exceeds it.
    history = run(_single_point(), optimizers.sgd(learning_rate=1.0), start=[3.0], steps=50)
    assert history.diverged_at == 5
    assert len(history) == 5
    assert history.params[-1].tolist() == [2.0 + 2401.0]


def test_a_non_finite_step_stops_the_run_at_that_step():
    broken = _scripted([[0.1], [0.1], [np.nan], [0.1]])
    history = run(_single_point(), broken, start=[0.0], steps=4)
    assert history.diverged_at == 3
    assert len(history) == 3
    assert np.all(np.isfinite(history.params))


def test_a_parameter_beyond_the_limit_stops_the_run():
    history = run(_flat(), _scripted([[1.0], [2e6], [1.0]]), start=[0.0], steps=3)
    assert history.diverged_at == 2
    assert history.final.tolist() == [1.0]


def test_a_start_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="start must have 1 coordinate"):
        run(_single_point(), optimizers.sgd(learning_rate=0.1), start=[0.0, 1.0], steps=1)


def test_a_negative_schedule_factor_is_refused():
    with pytest.raises(ValueError, match="factor -0.5 at update 0"):
        run(_single_point(), optimizers.sgd(learning_rate=0.1), start=[0.0], steps=1,
            schedule=lambda t: -0.5)


def test_learning_rate_records_the_scheduled_rate_of_each_update():
    history = run(_single_point(), optimizers.adam(learning_rate=0.1), start=[0.0], steps=4,
                  schedule=schedules.warmup(warmup_steps=2, start_factor=0.5))
    np.testing.assert_allclose(history.learning_rate, [0.05, 0.075, 0.1, 0.1], atol=1e-15)


def _listening(momentum=None):
    """A scheduler that halves the rate at every update and keeps every loss it is fed."""

    def update(t, loss, state):
        lr, seen = state
        mu = momentum(t) if callable(momentum) else momentum
        return lr, mu, (lr / 2, (*seen, loss))

    return descent.Scheduler(init=lambda base: (base, ()), update=update)


def test_a_scheduler_is_fed_the_loss_each_update_starts_from():
    fed = []

    def update(t, loss, state):
        fed.append((t, loss))
        return state, None, state / 2

    history = run(_single_point(), optimizers.sgd(learning_rate=0.01), start=[0.0], steps=5,
                  schedule=descent.Scheduler(init=float, update=update))
    assert fed == list(enumerate(history.loss[:5]))
    np.testing.assert_array_equal(history.learning_rate, [0.01, 0.005, 0.0025, 0.00125, 0.000625])
    assert history.momentum is None


@pytest.mark.parametrize(("name", "param"), [("momentum", "momentum"), ("nesterov", "momentum"),
                                             ("adam", "beta1"), ("adamw", "beta1")])
def test_a_scheduled_momentum_is_used_and_recorded(name, param):
    surface, start = _quadratic([1.0, 4.0]), [1.0, 1.0]
    history = run(surface, optimizers.make(name), start=start, steps=6,
                  schedule=_listening(momentum=lambda t: 0.5 + 0.05 * t))
    np.testing.assert_allclose(history.momentum, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75], rtol=1e-15)
    # the same path by hand: each update with its own momentum and rate
    opt = optimizers.make(name)
    p, state = np.array(start), opt.init(np.array(start))
    for t in range(6):
        step, state = opt.update(surface.grad(p), state, p, learning_rate=opt.learning_rate / 2**t,
                                 momentum=0.5 + 0.05 * t)
        p = p + step
        np.testing.assert_array_equal(history.params[t + 1], p)
    assert opt.momentum_param == param


def test_an_unset_momentum_is_filled_with_the_optimisers_own():
    history = run(_quadratic([1.0, 4.0]), optimizers.make("momentum", momentum=0.9),
                  start=[1.0, 1.0], steps=4,
                  schedule=_listening(momentum=lambda t: 0.5 if t == 2 else None))
    np.testing.assert_array_equal(history.momentum, [0.9, 0.9, 0.5, 0.9])


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "newton"])
def test_optimisers_without_momentum_ignore_a_scheduled_one(name):
    surface = _quadratic([1.0, 4.0])
    scheduled = run(surface, optimizers.make(name), start=[1.0, 1.0], steps=5,
                    schedule=_listening(momentum=0.9))
    halved = run(surface, optimizers.make(name), start=[1.0, 1.0], steps=5,
                 schedule=lambda t: 0.5**t)
    assert scheduled.momentum is None
    np.testing.assert_array_equal(scheduled.params, halved.params)


@pytest.mark.parametrize(("lr", "momentum", "message"), [
    (-0.1, None, "learning rate -0.1 at update 0"),
    (float("nan"), None, "learning rate nan at update 0"),
    (0.1, 1.0, "momentum 1.0 at update 0; it must be in \\[0, 1\\)"),
    (0.1, -0.2, "momentum -0.2 at update 0"),
])
def test_a_scheduler_giving_a_bad_rate_or_momentum_is_refused(lr, momentum, message):
    bad = descent.Scheduler(init=float, update=lambda t, loss, s: (lr, momentum, s))
    with pytest.raises(ValueError, match=message):
        run(_single_point(), optimizers.make("momentum"), start=[0.0], steps=2, schedule=bad)


def test_plateau_rescues_a_run_that_bounces_for_ever():
    # rate × curvature = 2 on both axes: every step sends w to −w and the loss never falls.
    # The plateau schedule halves the rate after 6 updates without improvement; rate × curvature
    # is then 1 and the next step lands on the minimum.
    surface = _quadratic([20.0, 20.0])
    bouncing = run(surface, optimizers.sgd(learning_rate=0.1), start=[1.0, -0.5], steps=40)
    assert label(bouncing, surface) == "oscillating"
    assert set(bouncing.loss) == {12.5}
    rescued = run(surface, optimizers.sgd(learning_rate=0.1), start=[1.0, -0.5], steps=40,
                  schedule=schedules.plateau(factor=0.5, patience=5))
    assert label(rescued, surface) == "converged"
    assert rescued.learning_rate[6] == 0.1 and rescued.learning_rate[7] == 0.05
    np.testing.assert_array_equal(rescued.final, [0.0, 0.0])


def test_adam_state_records_moments_and_bias_corrected_moments():
    history = run(_quadratic([1.0, 4.0]), optimizers.adam(learning_rate=0.1), start=[1.0, 1.0],
                  steps=5)
    assert set(history.state) == {"m", "v", "m_hat", "v_hat"}
    for key in history.state:
        assert history.state[key].shape == (6, 2)
        np.testing.assert_array_equal(history.state[key][0], [0.0, 0.0])
    t = np.arange(1, 6)[:, None]
    np.testing.assert_allclose(history.state["m_hat"][1:], history.state["m"][1:] / (1 - 0.9**t))
    np.testing.assert_allclose(history.state["v_hat"][1:],
                               history.state["v"][1:] / (1 - 0.999**t))
    # m_1 = 0.1·g_1 with g_1 = (1, 4)
    np.testing.assert_allclose(history.state["m"][1], [0.1, 0.4])


@pytest.mark.parametrize(("optimizer", "keys"), [
    (optimizers.sgd(learning_rate=0.1), set()),
    (optimizers.sgd(learning_rate=0.1, momentum=0.5), {"velocity"}),
    (optimizers.adagrad(learning_rate=0.1), {"sum_sq"}),
    (optimizers.rmsprop(learning_rate=0.1), {"square_avg"}),
    (optimizers.newton(), {"curvature"}),
])
def test_state_records_what_explains_each_optimiser(optimizer, keys):
    history = run(_quadratic([1.0, 4.0]), optimizer, start=[1.0, 1.0], steps=2)
    assert set(history.state) == keys


def test_newton_runs_keep_the_hessian_of_each_update():
    history = run(_quadratic([1.0, 4.0]), optimizers.newton(learning_rate=0.5), start=[1.0, 1.0],
                  steps=3)
    assert history.hessian.shape == (3, 2, 2)
    np.testing.assert_array_equal(history.hessian[0], np.diag([1.0, 4.0]))


def test_first_order_runs_keep_no_hessian():
    history = run(_quadratic([1.0, 4.0]), optimizers.sgd(learning_rate=0.1), start=[1.0, 1.0],
                  steps=3)
    assert history.hessian is None


def _data_surface() -> Surface:
    """Mean squared error of y = w·x on four rows with y = 2x."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = 2.0 * x

    def batch_grad(p, rows):
        return np.array([np.mean(2 * (p[0] * x[rows] - y[rows]) * x[rows])])

    return Surface(
        name="rows", title="rows", dim=1,
        loss_fn=lambda p: np.mean((p[0][..., None] * x - y) ** 2, axis=-1),
        grad_fn=lambda p: np.mean(2 * (p[0][..., None] * x - y) * x, axis=-1)[None],
        hessian_fn=lambda p: np.full((1, 1, *p.shape[1:]), np.mean(2 * x * x)),
        window=((0.0, 4.0),), minimizers=((2.0,),), optimal_value=0.0,
        data=Dataset(x, y), batch_grad=batch_grad,
    )


def test_mini_batch_runs_record_the_sampled_gradient_and_repeat_with_the_seed():
    opt = optimizers.sgd(learning_rate=0.01)
    first = run(_data_surface(), opt, start=[0.0], steps=5, batch=2, seed=3)
    again = run(_data_surface(), opt, start=[0.0], steps=5, batch=2, seed=3)
    assert first.batch_grad.shape == (5, 1)
    np.testing.assert_array_equal(first.params, again.params)
    np.testing.assert_allclose(np.diff(first.params[:, 0]), -0.01 * first.batch_grad[:, 0])


# --- label and summary ----------------------------------------------------------------------------


def test_a_run_that_stopped_early_is_diverged():
    history = run(_single_point(), optimizers.sgd(learning_rate=1.0), start=[3.0], steps=50)
    assert label(history) == "diverged"
    assert summary("SGD", history) == "SGD diverged at step 5"


def test_a_run_at_the_declared_minimum_is_converged():
    surface = _quadratic([1.0, 4.0])
    history = run(surface, optimizers.newton(), start=[1.0, 1.0], steps=5)
    assert label(history, surface) == "converged"
    assert summary("Newton", history, surface) == "Newton converged: loss 0 at step 1"


def test_a_run_that_falls_below_the_declared_optimum_has_not_converged():
    # McCormick's minimum −1.913 holds in its box; outside it the loss falls without end.
    surface = surfaces.SURFACES["mccormick"]
    history = run(surface, optimizers.make("momentum", learning_rate=0.08), start=[3.5, 3.5],
                  steps=150)
    assert history.loss[-1] < surface.optimal_value - 40.0
    assert label(history, surface) == "converging"
    assert summary("Momentum", history, surface).startswith("Momentum is still converging: ")


def test_without_a_surface_a_stationary_point_counts_as_converged():
    history = run(_quadratic([1.0, 4.0]), optimizers.newton(), start=[1.0, 1.0], steps=5)
    assert label(history) == "converged"


def test_a_run_still_losing_loss_is_converging():
    surface = _quadratic([1.0, 4.0])
    history = run(surface, optimizers.sgd(learning_rate=0.01), start=[1.0, 1.0], steps=30)
    assert label(history, surface) == "converging"
    assert summary("SGD", history, surface).startswith("SGD is still converging: loss ")


def test_zig_zag_across_the_minimum_is_oscillating():
    surface = _quadratic([1.0, 10.0])
    # lr·λ = 1.9 along w2: the step flips sign each update and shrinks only by 0.9
    history = run(surface, optimizers.sgd(learning_rate=0.19), start=[0.1, 1.0], steps=30)
    assert label(history, surface) == "oscillating"
    assert summary("SGD", history, surface) == (
        f"SGD is oscillating: loss {history.loss[-1]:.3g} at step 30"
    )


def test_newton_parked_on_a_saddle_is_stalled():
    saddle = _quadratic([1.0, -1.0])
    history = run(saddle, optimizers.newton(), start=[1.0, 1.0], steps=10)
    np.testing.assert_allclose(history.final, [0.0, 0.0], atol=1e-15)
    assert label(history, saddle) == "stalled"
    assert summary("Newton", history, saddle) == "Newton stalled: loss 0 at step 10"


def test_a_run_stalled_at_a_declared_saddle_is_told_where():
    # Started exactly on the line w2 = 0, gradient descent slides into the saddle lesson's
    # saddle and stays; a hair off the line it lingers there, then leaves for a minimum.
    saddle = surfaces.get("saddle")
    sgd = optimizers.sgd(learning_rate=0.05)
    on_line = run(saddle, sgd, start=[-1.5, 0.0], steps=150)
    assert summary("Gradient descent", on_line, saddle) == (
        f"Gradient descent stalled at the saddle (0, 0): loss {on_line.loss[-1]:.3g} at step 150")
    lingering = run(saddle, sgd, start=[-1.5, 1e-9], steps=60)
    assert "stalled at the saddle (0, 0)" in summary("Gradient descent", lingering, saddle)
    left = run(saddle, sgd, start=[-1.5, 1e-9], steps=150)
    assert summary("Gradient descent", left, saddle).startswith("Gradient descent converged")
    # A saddle the surface does not declare is not named (the test above: "Newton stalled").


def test_a_run_stalled_in_a_declared_local_minimum_is_told_which():
    # Styblinski–Tang from the far corner: gradient descent ends in the shallowest basin.
    surface = surfaces.get("styblinski_tang")
    h = run(surface, optimizers.sgd(learning_rate=0.01), start=[4.5, 4.5], steps=200)
    assert label(h, surface) == "stalled"
    assert summary("Gradient descent", h, surface) == (
        f"Gradient descent stalled in the local minimum (2.75, 2.75): loss {h.loss[-1]:.3g} "
        "at step 200")


def test_a_minimum_with_no_declared_value_is_converged_with_the_surface():
    bowl = _quadratic([1.0, 4.0], optimal=False)
    history = run(bowl, optimizers.newton(), start=[1.0, 1.0], steps=3)
    assert label(history, bowl) == "converged"


def test_barely_moving_is_stalled():
    surface = _quadratic([1.0, 4.0])
    history = run(surface, optimizers.sgd(learning_rate=1e-7), start=[1.0, 1.0], steps=30)
    assert label(history, surface) == "stalled"


def test_a_run_of_no_steps_away_from_the_goal_is_stalled():
    surface = _quadratic([1.0, 4.0])
    history = run(surface, optimizers.sgd(learning_rate=0.1), start=[1.0, 1.0], steps=0)
    assert label(history, surface) == "stalled"


def test_converged_summary_names_the_first_step_at_the_goal():
    surface = _single_point()
    # lr = 1/16: w − 2 halves each update from w0 = 3, loss 4·4^−t; goal: loss ≤ 1e−6·4 + 1e−12
    history = run(surface, optimizers.sgd(learning_rate=1 / 16), start=[3.0], steps=40)
    assert label(history, surface) == "converged"
    # 4^−t ≤ 1e−6 first at t = 10 (4^−10 ≈ 9.5e−7)
    assert summary("GD", history, surface) == f"GD converged: loss {4 * 4.0**-10:.3g} at step 10"


def test_labels_are_one_of_the_six():
    assert set(descent.Label.__args__) == {
        "converged", "converging", "oscillating", "jittering", "stalled", "diverged"
    }


def test_a_mini_batch_run_bouncing_near_the_minimum_is_jittering_not_stalled():
    # Sampled gradients keep a run moving around the minimum for ever: it has not stalled
    # (the word a learner reads as "stuck far away"), it sits at the noise floor.
    surface = surfaces.get("linear_regression")
    sgd = optimizers.make("sgd", learning_rate=0.05)
    noisy = run(surface, sgd, start=[0.0, 0.0], steps=100, batch=8, seed=0)
    gap = noisy.loss - surface.optimal_value
    assert gap[-1] < 0.01 * gap[0]  # near the minimum, yet not at it
    assert label(noisy, surface) == "jittering"
    assert summary("SGD", noisy, surface) == (
        f"SGD is jittering near the minimum (mini-batch noise): loss {noisy.loss[-1]:.3g} "
        "at step 100")
    # Full batch, the same run converges; a mini-batch run far from the minimum is not
    # called jittering.
    assert label(run(surface, sgd, start=[0.0, 0.0], steps=100), surface) == "converged"
    early = run(surface, optimizers.make("sgd", learning_rate=1e-4), start=[0.0, 0.0],
                steps=100, batch=8, seed=0)
    assert label(early, surface) != "jittering"


# --- overflow in the optimiser's state ----------------------------------------------------------


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "adagrad"])
def test_squared_gradient_overflowing_the_state_is_divergence_not_a_standstill(name):
    # |g| = 2e174 at w = 1: g² is inf, the step g/√inf is 0 and the run would stand still.
    surface = expressions.parse("exp(400)*w^2")
    history = run(surface, optimizers.make(name, learning_rate=0.1), start=[1.0], steps=50)
    assert history.diverged_at == 1
    assert label(history, surface) == "diverged"
    assert summary(name, history, surface).endswith("diverged at step 1")
    assert all(np.isfinite(v).all() for v in history.state.values())


def test_state_overflow_later_in_the_run_names_that_step():
    # L = -e^(350 + 30w): Adam climbs w by about 0.1 a step, |g| grows twentyfold a step and
    # g² leaves float range at the second update.
    surface = expressions.parse("-exp(350)*exp(30*w)")
    history = run(surface, optimizers.make("adam", learning_rate=0.1), start=[0.0], steps=50)
    assert history.diverged_at == 2
    assert len(history) == 2 and np.isfinite(history.state["v"]).all()


def test_label_of_a_run_with_gradients_near_float_range_does_not_overflow():
    surface = expressions.parse("exp(355)*w^2")
    history = run(surface, optimizers.make("sgd", learning_rate=1e-170), start=[1.0], steps=30)
    assert history.diverged_at is None
    with np.errstate(all="raise"):
        assert label(history, surface) in ("stalled", "converging")
