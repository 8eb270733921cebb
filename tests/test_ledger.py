"""The update ledger: its numbers are the history's, its LaTeX shows them, bad steps refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, expressions, optimizers, schedules, surfaces
from losslab.ledger import LedgerLine, explain_step, to_latex
from losslab.optimizers import OPTIMIZERS, make
from losslab.surfaces import Dataset, Surface


def _quadratic(curvature) -> Surface:
    c = np.asarray(curvature, dtype=float)

    def shaped(p):
        return c.reshape((2,) + (1,) * (p.ndim - 1))

    return Surface(
        name="quadratic", title="quadratic", dim=2,
        loss_fn=lambda p: 0.5 * np.sum(shaped(p) * p**2, axis=0),
        grad_fn=lambda p: shaped(p) * p,
        hessian_fn=lambda p: np.diag(c).reshape((2, 2) + (1,) * (p.ndim - 1)),
        window=((-3.0, 3.0),) * 2,
    )


BOWL = _quadratic([1.0, 4.0])  # the hand-worked problem of test_optimizers


def _run(name, steps=6, surface=BOWL, **hyperparams):
    opt = make(name, **hyperparams)
    return opt, descent.run(surface, opt, start=[1.0, 1.0], steps=steps)


def _line(ledger, label) -> LedgerLine:
    matches = [line for line in ledger.lines if line.label.startswith(label)]
    assert len(matches) == 1, [line.label for line in ledger.lines]
    return matches[0]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("step", [1, 2, 5])
def test_ledger_numbers_are_the_historys(name, step):
    opt, history = _run(name)
    ledger = explain_step(history, opt, step)
    assert _line(ledger, "learning rate").value == history.learning_rate[step - 1]
    np.testing.assert_array_equal(_line(ledger, "gradient").value, history.grad[step - 1])
    np.testing.assert_array_equal(_line(ledger, "new weights").value, history.params[step])
    np.testing.assert_allclose(_line(ledger, "step").value,
                               history.params[step] - history.params[step - 1],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_ledger_shows_the_recorded_moments(name):
    opt, history = _run(name)
    ledger = explain_step(history, opt, 3)
    for label, key in [("first moment", "m"), ("second moment", "v"),
                       ("bias correction of m", "m_hat"), ("bias correction of v", "v_hat")]:
        np.testing.assert_array_equal(_line(ledger, label).value, history.state[key][3])


def test_momentum_ledger_by_hand():
    opt, history = _run("momentum", learning_rate=0.1, momentum=0.9)
    first, second = explain_step(history, opt, 1), explain_step(history, opt, 2)
    assert _line(first, "velocity").label == "velocity (starts as the first gradient)"
    np.testing.assert_allclose(_line(second, "velocity").value, [1.8, 6.0])  # 0.9·(1, 4) + g2
    np.testing.assert_allclose(_line(second, "new weights").value, [0.72, 0.0], atol=1e-15)


def test_adagrad_ledger_shows_the_running_sum():
    opt, history = _run("adagrad", learning_rate=0.1)
    ledger = explain_step(history, opt, 2)
    np.testing.assert_allclose(_line(ledger, "sum of squared gradients").value, [1.81, 28.96])


def test_sgd_latex_fills_in_the_numbers():
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    opt = optimizers.sgd(learning_rate=0.05)
    history = descent.run(surface, opt, start=[-1.0], steps=1)
    latex = to_latex(explain_step(history, opt, 1))
    # g = 2·(2·(−1) − 4)·2 = −24; Δw = 1.2; w1 = 0.2
    assert r"g_{1} &= \nabla L(w_{0}) = -24" in latex
    assert r"\Delta w &= -\eta_{1} g_{1} = -0.05 \cdot \left(-24\right) = 1.2" in latex
    assert r"w_{1} &= w_{0} + \Delta w = -1 + 1.2 = 0.2" in latex


def test_latex_is_one_aligned_block_of_plain_latex():
    opt, history = _run("adam")
    ledger = explain_step(history, opt, 2)
    latex = to_latex(ledger)
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    rows = latex.split("\\\\\n")
    assert len(rows) == len(ledger.lines)
    assert all(row.count("&=") == 1 for row in rows)
    assert "<" not in latex and ">" not in latex


def test_small_numbers_are_written_as_powers_of_ten():
    opt, history = _run("adagrad", eps=1e-10)
    assert r"1 \times 10^{-10}" in to_latex(explain_step(history, opt, 1))


def test_newton_ledger_names_a_saddle():
    opt, history = _run("newton", surface=_quadratic([1.0, -1.0]))
    ledger = explain_step(history, opt, 1)
    assert "saddle" in _line(ledger, "curvature").label
    np.testing.assert_array_equal(_line(ledger, "Hessian").value, np.diag([1.0, -1.0]))
    np.testing.assert_allclose(_line(ledger, "curvature").value, [-1.0, 1.0])


def test_mini_batch_ledger_uses_the_sampled_gradient():
    x = np.array([1.0, 2.0, 3.0, 4.0])

    def batch_grad(p, rows):
        return np.array([np.mean(2 * (p[0] * x[rows] - 2 * x[rows]) * x[rows])])

    surface = Surface(
        name="rows", title="rows", dim=1,
        loss_fn=lambda p: np.mean((p[0][..., None] * x - 2 * x) ** 2, axis=-1),
        grad_fn=lambda p: np.mean(2 * (p[0][..., None] * x - 2 * x) * x, axis=-1)[None],
        hessian_fn=lambda p: np.full((1, 1, *p.shape[1:]), 15.0),
        window=((0.0, 4.0),), data=Dataset(x, 2 * x),
        batch_grad=batch_grad,
    )
    opt = optimizers.sgd(learning_rate=0.01)
    history = descent.run(surface, opt, start=[0.0], steps=3, batch=1, seed=1)
    ledger = explain_step(history, opt, 2)
    line = _line(ledger, "mini-batch gradient")
    np.testing.assert_array_equal(line.value, history.batch_grad[1])
    assert r"\nabla L_{\mathrm{batch}}" in line.latex


@pytest.mark.parametrize("step", [0, 7, -1, 2.5])
def test_a_step_outside_the_run_is_refused(step):
    opt, history = _run("sgd")
    with pytest.raises(ValueError, match=f"step {step} is not an update of this run"):
        explain_step(history, opt, step)


def test_a_history_from_another_optimiser_is_refused():
    _, history = _run("sgd")
    with pytest.raises(ValueError, match="no recorded 'm'"):
        explain_step(history, make("adam"), 1)


def test_an_optimiser_without_a_known_rule_is_refused():
    opt, history = _run("sgd")
    with pytest.raises(ValueError, match="no ledger for optimizer kind 'custom'"):
        explain_step(history, opt._replace(kind="custom"), 1)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]),
    start=st.tuples(st.floats(-2, 2), st.floats(-2, 2)),
    step=st.integers(1, 8),
)
def test_ledger_lines_reproduce_the_step(name, start, step):
    opt = make(name)
    history = descent.run(BOWL, opt, start=start, steps=8)
    ledger = explain_step(history, opt, step)
    delta = history.params[step] - history.params[step - 1]
    np.testing.assert_allclose(_line(ledger, "step").value, delta, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------- scheduled momentum


def _cycled(name, steps=12, **hyperparams):
    opt = make(name, **hyperparams)
    history = descent.run(BOWL, opt, start=[1.0, 1.0], steps=steps,
                          schedule=schedules.build("onecycle", steps))
    return opt, history


def test_one_cycle_ledger_shows_the_rate_and_momentum_of_that_step():
    opt, history = _cycled("momentum", learning_rate=0.1)
    # update 1 starts one-cycle: rate 0.1 / 25, momentum at its highest, 0.95
    first = explain_step(history, opt, 1)
    assert _line(first, "learning rate").value == pytest.approx(0.004, abs=1e-17)
    assert _line(first, "momentum (set by the schedule)").value == 0.95
    assert r"\mu &= 0.95" in to_latex(first)
    for step in (2, 4, 9):
        ledger = explain_step(history, opt, step)
        mu = history.momentum[step - 1]
        assert _line(ledger, "momentum").value == mu
        b_prev, g = history.state["velocity"][step - 1], history.grad[step - 1]
        velocity = _line(ledger, "velocity")
        np.testing.assert_allclose(velocity.value, mu * b_prev + g, rtol=1e-15)
        assert f"{mu:.4g}" in velocity.latex
        np.testing.assert_allclose(_line(ledger, "step").value,
                                   history.params[step] - history.params[step - 1],
                                   rtol=1e-12, atol=1e-15)
    assert len(set(history.momentum)) > 5  # it really moved


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_one_cycle_adam_ledger_corrects_the_bias_with_this_steps_beta1(name):
    opt, history = _cycled(name)
    step = 4
    ledger = explain_step(history, opt, step)
    b1 = history.momentum[step - 1]
    assert b1 != opt.hyperparams["beta1"]
    assert _line(ledger, "β1 (set by the schedule)").value == b1
    m = history.state["m"][step]
    np.testing.assert_allclose(_line(ledger, "first moment").value,
                               b1 * history.state["m"][step - 1] + (1 - b1) * history.grad[3],
                               rtol=1e-14)
    np.testing.assert_allclose(_line(ledger, "bias correction of m").value, m / (1 - b1**step),
                               rtol=1e-15)
    np.testing.assert_allclose(_line(ledger, "step").value,
                               history.params[step] - history.params[step - 1],
                               rtol=1e-12, atol=1e-15)


def test_optimisers_without_momentum_show_no_momentum_line_under_one_cycle():
    opt, history = _cycled("rmsprop")
    assert history.momentum is None
    labels = [line.label for line in explain_step(history, opt, 3).lines]
    assert not any("momentum" in label or "β1" in label for label in labels)


def test_plateau_ledger_shows_the_cut_rate():
    # curvature 20 and rate 0.1 send w to −w: the loss stays 20. Losses 1, 2 and 3 do not beat
    # the first, so after update 4 (patience 2) the rate halves, and 0.05 lands on the minimum.
    surface = _quadratic([20.0, 20.0])
    opt = make("sgd", learning_rate=0.1)
    history = descent.run(surface, opt, start=[1.0, 1.0], steps=6,
                          schedule=schedules.plateau(factor=0.5, patience=2))
    np.testing.assert_array_equal(history.learning_rate, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05])
    np.testing.assert_array_equal(history.loss[:5], [20.0] * 5)
    assert _line(explain_step(history, opt, 4), "learning rate").value == 0.1
    ledger = explain_step(history, opt, 5)
    assert r"\eta_{5} &= 0.05" in to_latex(ledger)
    np.testing.assert_array_equal(_line(ledger, "new weights").value, [0.0, 0.0])

def test_a_squared_gradient_beyond_float_range_is_written_out_not_as_inf():
    name = "rmsprop"
    # |g| = 3e154: g² ≈ 9e308 is no float, but RMSProp's state (1 − ρ)·g² still is.
    surface = expressions.parse("exp(355)*w^2")
    opt = make(name, learning_rate=1e-3)
    history = descent.run(surface, opt, start=[1.0], steps=1)
    assert history.diverged_at is None
    latex = to_latex(explain_step(history, opt, 1))
    assert "inf" not in latex
    assert r"\times 10^{308}" in latex
