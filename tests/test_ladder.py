"""All rungs of a learning-rate ladder at once: each column is, bit for bit, the run at that rate.

The reference is ``descent.run`` with the optimiser built by ``optimizers.make`` at each rate.
Equality is exact (``assert_array_equal``): a point is evaluated the same way alone as among
others (see ``Surface``), and the optimisers' updates are element-wise, so every column goes
through the same floating-point operations as its own run.
"""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, expressions, ladder, optimizers, stability, surfaces
from losslab.surfaces import Surface

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw", "newton")
WIDE = stability.RATE_LADDER[::5]
"""1e-4 … 6, every fifth rung: slow rungs, good rungs and rungs that diverge at different steps."""
SURFACES = {
    "rosenbrock": (lambda: surfaces.get("rosenbrock"), (-1.2, 1.0)),
    "linear_regression": (lambda: surfaces.get("linear_regression"), (0.0, 0.0)),
    "logistic_regression": (lambda: surfaces.get("logistic_regression"), (0.0, 0.0)),
    "huber_rows": (lambda: surfaces.get("linear_regression", loss="huber"), (0.0, 0.0)),
    "rastrigin": (lambda: surfaces.get("rastrigin"), (1.3, 0.4)),
    "ackley": (lambda: surfaces.get("ackley"), (1.5, -1.0)),
    "typed_formula": (lambda: expressions.parse("(w1^2 + w2 - 11)^2 + sin(3*w1)*exp(w2/5)"),
                      (1.0, 1.0)),
    "single_point": (lambda: surfaces.get("single_point", x=2.0, y_true=4.0), (-1.0,)),
}


def assert_same_history(ours: descent.History, reference: descent.History) -> None:
    assert ours.diverged_at == reference.diverged_at
    assert ours.steps_requested == reference.steps_requested
    for field in ("params", "loss", "grad", "learning_rate"):
        mine, theirs = getattr(ours, field), getattr(reference, field)
        assert mine.shape == theirs.shape, field
        np.testing.assert_array_equal(mine, theirs, err_msg=field)
    assert ours.state.keys() == reference.state.keys()
    for name in reference.state:
        np.testing.assert_array_equal(ours.state[name], reference.state[name], err_msg=name)
    assert ours.batch_grad is None and ours.momentum is None and reference.momentum is None
    if reference.hessian is None:
        assert ours.hessian is None
    else:
        np.testing.assert_array_equal(ours.hessian, reference.hessian)


def reference_runs(surface, name, rates, start, steps, **settings):
    return [descent.run(surface, optimizers.make(name, **settings, learning_rate=r),
                        start=start, steps=steps) for r in rates]


@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_rate_is_the_run_at_that_rate_bit_for_bit(surface_name, name):
    build, start = SURFACES[surface_name]
    surface = build()
    top = float(optimizers.HYPERPARAMS[name][0].max_value)
    rates = [r for r in WIDE if r <= top]
    ours = ladder.run_rates(surface, optimizers.make(name), rates=rates, start=start, steps=120)
    reference = reference_runs(surface, name, rates, start, 120)
    assert len(ours) == len(rates)
    for mine, theirs in zip(ours, reference, strict=True):
        assert_same_history(mine, theirs)


def test_the_table_covers_rungs_that_diverge_at_different_steps():
    # The comparison above means little if every rung ran to the end.
    surface, start = SURFACES["linear_regression"][0](), SURFACES["linear_regression"][1]
    ours = ladder.run_rates(surface, optimizers.make("sgd"), rates=WIDE, start=start, steps=120)
    stopped = [h.diverged_at for h in ours if h.diverged_at is not None]
    assert len(set(stopped)) >= 3 and any(h.diverged_at is None for h in ours)
    for h in ours:
        assert np.isfinite(h.params).all() and np.isfinite(h.loss).all()


@pytest.mark.parametrize("name", ["adam", "adagrad"])
def test_a_state_that_overflows_stops_its_column_at_that_step(name):
    # L = -e^(350 + 30w): w climbs by about lr a step and g² leaves float range once w > ~0.05,
    # so a larger rate overflows the state sooner; the loss stays within its limit.
    surface = expressions.parse("-exp(350)*exp(30*w)")
    rates = (0.005, 0.01, 0.02, 0.1)
    ours = ladder.run_rates(surface, optimizers.make(name), rates=rates, start=[0.0], steps=40)
    for mine, theirs in zip(ours, reference_runs(surface, name, rates, [0.0], 40), strict=True):
        assert_same_history(mine, theirs)
    steps = [h.diverged_at for h in ours]
    assert None not in steps and len(set(steps)) > 1
    assert all(np.isfinite(v).all() for h in ours for v in h.state.values())


def test_decays_and_other_settings_are_the_optimisers_own():
    surface = surfaces.get("rosenbrock")
    rates = (0.0005, 0.001, 0.002)
    settings = {"beta1": 0.5, "beta2": 0.99, "eps": 1e-6}
    ours = ladder.run_rates(surface, optimizers.make("adam", **settings), rates=rates,
                            start=(-1.2, 1.0), steps=60)
    for mine, theirs in zip(ours, reference_runs(surface, "adam", rates, (-1.2, 1.0), 60,
                                                 **settings), strict=True):
        assert_same_history(mine, theirs)


def _counting(surface: Surface, calls: list[int]) -> Surface:
    def loss(p):
        calls.append(1)
        return surface.loss_fn(p)

    return Surface(name="counted", title="counted", dim=surface.dim, loss_fn=loss,
                   grad_fn=surface.grad_fn, hessian_fn=surface.hessian_fn,
                   window=surface.window)


def test_all_rates_share_one_loop_over_steps():
    calls: list[int] = []
    surface = _counting(surfaces.get("rosenbrock"), calls)
    ladder.run_rates(surface, optimizers.make("momentum"), rates=(1e-4, 2e-4, 5e-4, 1e-3),
                     start=(-1.2, 1.0), steps=50)
    assert len(calls) == 1 + 50  # the start, then one evaluation of every column per step


def test_newton_shares_the_loop_and_solves_column_by_column_with_the_same_result():
    calls: list[int] = []
    surface = _counting(surfaces.get("rosenbrock"), calls)
    rates = (0.5, 1.0)
    ours = ladder.run_rates(surface, optimizers.make("newton"), rates=rates,
                            start=(-1.2, 1.0), steps=20)
    assert len(calls) == 1 + 20  # one evaluation of every column per step, as for the others
    for mine, theirs in zip(ours, reference_runs(surface, "newton", rates, (-1.2, 1.0), 20),
                            strict=True):
        assert_same_history(mine, theirs)


def test_the_number_of_rates_is_capped_and_bad_rates_are_refused_in_words():
    surface = surfaces.get("rosenbrock")
    sgd = optimizers.make("sgd")
    with pytest.raises(ValueError, match=f"at most {ladder.MAX_RATES}"):
        ladder.run_rates(surface, sgd, rates=[1e-3] * (ladder.MAX_RATES + 1),
                         start=(0.0, 0.0), steps=5)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="Invalid learning rate"):
            ladder.run_rates(surface, sgd, rates=[1e-3, bad], start=(0.0, 0.0), steps=5)


def test_a_start_outside_the_surface_is_refused_in_words():
    with pytest.raises(ValueError, match="start must have 2"):
        ladder.run_rates(surfaces.get("rosenbrock"), optimizers.make("sgd"), rates=[0.01],
                         start=(0.0, 0.0, 0.0), steps=5)
    with pytest.raises(ValueError, match="not defined at the start point"):
        ladder.run_rates(expressions.parse("log(w)"), optimizers.make("sgd"), rates=[0.01],
                         start=(-1.0,), steps=5)


def test_steps_are_capped_and_no_rates_means_no_runs():
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    h, = ladder.run_rates(surface, optimizers.make("sgd"), rates=[1.0], start=(-1.0,),
                          steps=10**9)
    assert h.steps_requested == descent.MAX_STEPS
    # L'' = 2x² = 8: each step multiplies the distance to the minimum by 1 - 8 = -7.
    assert h.diverged_at == 5 and abs(h.params[-1, 0] - 2.0) == 3.0 * 7**4
    assert ladder.run_rates(surface, optimizers.make("sgd"), rates=[], start=(-1.0,),
                            steps=10) == []


@pytest.mark.parametrize("surface", [
    *(surfaces.get(name) for name in surfaces.SURFACES),
    surfaces.get("linear_regression", loss="mae"),
    SURFACES["typed_formula"][0](),
], ids=lambda s: f"{s.name}-{s.params.get('loss', '')}")
def test_a_point_alone_gets_the_same_bits_as_among_others(surface):
    # What makes the equality above exact: NumPy scalars would call the C library's pow
    # (x**2 is not always x*x) and a BLAS matrix product may round a row differently with
    # other rows beside it, so a single point is evaluated as a column.
    rng = np.random.default_rng(7)
    lows, highs = np.array(surface.window).T
    points = lows[:, None] + (highs - lows)[:, None] * rng.random((surface.dim, 256))
    losses, grads = surface.loss(points), surface.grad(points)
    for j in range(points.shape[1]):
        np.testing.assert_array_equal(surface.loss(points[:, j]), losses[j])
        np.testing.assert_array_equal(surface.grad(points[:, j]), grads[:, j])
