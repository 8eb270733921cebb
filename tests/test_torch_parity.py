"""PyTorch as the oracle: our paths equal ``torch.optim``'s, and our schedules its schedulers'.

Each optimiser takes 20 steps on two 2-D surfaces in float64, once through ``descent.run`` and
once through torch (autograd gradients, ``torch.optim`` updates, ``lr_scheduler`` stepped after
each update); the iterates must agree to 1e-10. Newton has no ``torch.optim`` class, so its
oracle is ``torch.autograd.functional.hessian`` with ``torch.linalg.solve``.
One-cycle, plateau, polynomial and warm restarts run 240 updates on both surfaces with four
momentum-like optimisers: the rates (and one-cycle's momenta) must equal torch's to 1e-12 and
the paths to 1e-10, the plateau schedule being fed the run's own loss as a torch loop does.
Skipped when torch is not installed (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, schedules
from losslab.optimizers import make
from losslab.surfaces import Surface

torch = pytest.importorskip("torch")

STEPS = 20
A = np.array([[3.0, 0.8], [0.8, 1.0]])
B = np.array([1.0, -2.0])


def _tilted_bowl() -> tuple[Surface, object]:
    """L(w) = ½ wᵀAw − bᵀw with a coupled A."""

    def loss(p):
        return 0.5 * np.einsum("i...,ij,j...->...", p, A, p) - np.einsum("i,i...->...", B, p)

    def grad(p):
        return np.einsum("ij,j...->i...", A, p) - B.reshape((2,) + (1,) * (p.ndim - 1))

    surface = Surface(
        name="tilted_bowl", title="tilted bowl", dim=2, loss_fn=loss, grad_fn=grad,
        hessian_fn=lambda p: A.reshape((2, 2) + (1,) * (p.ndim - 1)),
        window=((-3.0, 3.0),) * 2,
    )
    a, b = torch.tensor(A, dtype=torch.float64), torch.tensor(B, dtype=torch.float64)
    return surface, lambda w: 0.5 * w @ a @ w - b @ w


def _rosen5() -> tuple[Surface, object]:
    """(1 − x)² + 5(y − x²)²: a curved valley."""
    surface = Surface(
        name="rosen5", title="rosen5", dim=2,
        loss_fn=lambda p: (1 - p[0]) ** 2 + 5 * (p[1] - p[0] ** 2) ** 2,
        grad_fn=lambda p: np.stack([-2 * (1 - p[0]) - 20 * p[0] * (p[1] - p[0] ** 2),
                                    10 * (p[1] - p[0] ** 2)]),
        hessian_fn=lambda p: np.array([[2 - 20 * p[1] + 60 * p[0] ** 2, -20 * p[0]],
                                       [-20 * p[0], 10 + 0 * p[0]]]),
        window=((-2.0, 2.0), (-1.0, 3.0)),
    )
    return surface, lambda w: (1 - w[0]) ** 2 + 5 * (w[1] - w[0] ** 2) ** 2


SURFACES = {"tilted_bowl": (_tilted_bowl, (-2.0, 2.0)), "rosen5": (_rosen5, (-1.0, 1.5))}

T = torch.optim
CASES = [
    # (id, registry name, our settings, torch optimiser factory)
    ("sgd", "sgd", {"learning_rate": 0.02}, lambda p: T.SGD(p, lr=0.02)),
    ("momentum", "momentum", {"learning_rate": 0.01, "momentum": 0.9},
     lambda p: T.SGD(p, lr=0.01, momentum=0.9)),
    ("nesterov", "nesterov", {"learning_rate": 0.01, "momentum": 0.8},
     lambda p: T.SGD(p, lr=0.01, momentum=0.8, nesterov=True)),
    ("adagrad", "adagrad", {"learning_rate": 0.3, "eps": 1e-10},
     lambda p: T.Adagrad(p, lr=0.3, eps=1e-10)),
    ("rmsprop", "rmsprop", {"learning_rate": 0.01, "decay": 0.9, "eps": 1e-8},
     lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    ("rmsprop-defaults", "rmsprop", {"learning_rate": 0.01},
     lambda p: T.RMSprop(p, lr=0.01)),
    ("adam", "adam", {"learning_rate": 0.05}, lambda p: T.Adam(p, lr=0.05)),
    ("adam-betas", "adam", {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
     lambda p: T.Adam(p, lr=0.1, betas=(0.5, 0.9), eps=1e-3)),
    ("adamw", "adamw", {"learning_rate": 0.05, "weight_decay": 0.1},
     lambda p: T.AdamW(p, lr=0.05, weight_decay=0.1)),
]


def _torch_path(loss_fn, start, make_optimizer, make_scheduler=None) -> np.ndarray:
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    scheduler = None if make_scheduler is None else make_scheduler(optimizer)
    path = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss_fn(w).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        path.append(w.detach().clone().numpy())
    return np.array(path)


def _our_path(surface, start, name, settings, schedule=None) -> np.ndarray:
    history = descent.run(surface, make(name, **settings), start=start, steps=STEPS,
                          schedule=schedule)
    assert history.diverged_at is None
    return history.params[1:]


@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize(("name", "settings", "torch_optimizer"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_path_equals_torch_optim(surface_name, name, settings, torch_optimizer):
    build, start = SURFACES[surface_name]
    surface, loss_fn = build()
    np.testing.assert_allclose(
        _our_path(surface, start, name, settings),
        _torch_path(loss_fn, start, torch_optimizer),
        rtol=0, atol=1e-10,
    )


@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize("damping", [0.0, 0.5])
def test_newton_path_equals_a_torch_newton_step(surface_name, damping):
    build, start = SURFACES[surface_name]
    surface, loss_fn = build()
    w = torch.tensor(start, dtype=torch.float64)
    expected = []
    for _ in range(STEPS):
        x = w.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(x), x)
        h = torch.autograd.functional.hessian(loss_fn, w)
        w = w - 0.8 * torch.linalg.solve(h + damping * torch.eye(2, dtype=torch.float64), g)
        expected.append(w.numpy().copy())
    ours = _our_path(surface, start, "newton", {"learning_rate": 0.8, "damping": damping})
    np.testing.assert_allclose(ours, np.array(expected), rtol=0, atol=1e-10)


LR = torch.optim.lr_scheduler
SCHEDULE_CASES = [
    ("step", schedules.step_decay(step_size=3, gamma=0.5), lambda o: LR.StepLR(o, 3, gamma=0.5)),
    ("exponential", schedules.exponential(gamma=0.9), lambda o: LR.ExponentialLR(o, gamma=0.9)),
    ("cosine", schedules.cosine(t_max=8), lambda o: LR.CosineAnnealingLR(o, T_max=8)),
    ("warmup", schedules.warmup(warmup_steps=5, start_factor=0.2),
     lambda o: LR.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=5)),
]


@pytest.mark.parametrize(("schedule", "torch_scheduler"), [c[1:] for c in SCHEDULE_CASES],
                         ids=[c[0] for c in SCHEDULE_CASES])
def test_schedule_factors_equal_torch_lr_schedulers(schedule, torch_scheduler):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.5)
    scheduler = torch_scheduler(optimizer)
    rates = []
    for _ in range(40):  # past cosine's t_max, where torch's cosine climbs again
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose([0.5 * schedule(t) for t in range(40)], rates, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("schedule", "torch_scheduler"), [c[1:] for c in SCHEDULE_CASES],
                         ids=[c[0] for c in SCHEDULE_CASES])
@pytest.mark.parametrize(("name", "settings", "torch_optimizer"),
                         [CASES[1][1:], CASES[6][1:], CASES[8][1:]],
                         ids=["momentum", "adam", "adamw"])
def test_scheduled_path_equals_torch(schedule, torch_scheduler, name, settings, torch_optimizer):
    surface, loss_fn = _tilted_bowl()
    start = SURFACES["tilted_bowl"][1]
    np.testing.assert_allclose(
        _our_path(surface, start, name, settings, schedule=schedule),
        _torch_path(loss_fn, start, torch_optimizer, torch_scheduler),
        rtol=0, atol=1e-10,
    )


# --- one-cycle, plateau, polynomial, warm restarts: 240 updates, rates, momenta and paths ------

LONG = 240


def _torch_run(loss_fn, start, make_optimizer, make_scheduler, steps=LONG, feed_loss=False):
    """A torch training loop: loss, backward, ``optimizer.step()``, then ``scheduler.step()``
    (with the loss for ``ReduceLROnPlateau``). Returns the iterates after each update and
    the rate and momentum (``momentum`` or ``betas[0]``) each update used."""
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    scheduler = make_scheduler(optimizer)
    path, rates, momenta = [], [], []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        rates.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group.get("momentum"))
        optimizer.zero_grad()
        loss = loss_fn(w)
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item()) if feed_loss else scheduler.step()
        path.append(w.detach().clone().numpy())
    return np.array(path), np.array(rates), np.array(momenta, dtype=float)


NEW_SCHEDULES = [
    # (id, registry name, our parameters, torch scheduler, reads the loss)
    ("onecycle-cos", "onecycle", {},
     lambda o, lr: LR.OneCycleLR(o, max_lr=lr, total_steps=LONG), False),
    ("onecycle-linear", "onecycle",
     {"pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0,
      "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": 0.9},
     lambda o, lr: LR.OneCycleLR(o, max_lr=lr, total_steps=LONG, pct_start=0.25,
                                 anneal_strategy="linear", div_factor=10.0,
                                 final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
     False),
    ("onecycle-no-momentum", "onecycle", {"cycle_momentum": False},
     lambda o, lr: LR.OneCycleLR(o, max_lr=lr, total_steps=LONG, cycle_momentum=False), False),
    ("plateau-rel", "plateau", {"factor": 0.5, "patience": 5, "threshold": 1e-3},
     lambda o, lr: LR.ReduceLROnPlateau(o, factor=0.5, patience=5, threshold=1e-3), True),
    ("plateau-abs-cooldown", "plateau",
     {"factor": 0.3, "patience": 3, "threshold": 1e-6, "threshold_mode": "abs", "cooldown": 4,
      "min_lr": 1e-4},
     lambda o, lr: LR.ReduceLROnPlateau(o, factor=0.3, patience=3, threshold=1e-6,
                                        threshold_mode="abs", cooldown=4, min_lr=1e-4), True),
    ("polynomial", "polynomial", {"total_iters": 200, "power": 2.0},
     lambda o, lr: LR.PolynomialLR(o, total_iters=200, power=2.0), False),
    ("polynomial-whole-run", "polynomial", {"power": 0.5},
     lambda o, lr: LR.PolynomialLR(o, total_iters=LONG, power=0.5), False),
    ("restarts", "restarts", {"t_0": 30, "t_mult": 1, "eta_min": 1e-3},
     lambda o, lr: LR.CosineAnnealingWarmRestarts(o, T_0=30, T_mult=1, eta_min=1e-3), False),
    ("restarts-growing", "restarts", {"t_0": 10, "t_mult": 2},
     lambda o, lr: LR.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), False),
]
OPTIMISERS = [
    # (id, registry name, our settings, torch optimiser factory): each has a momentum-like
    # hyperparameter for one-cycle to move, and a rate at which the loss stops falling
    # steadily, so that the plateau schedule cuts it.
    ("momentum", "momentum", {"learning_rate": 0.01, "momentum": 0.9},
     lambda p: T.SGD(p, lr=0.01, momentum=0.9)),
    ("nesterov", "nesterov", {"learning_rate": 0.01, "momentum": 0.9},
     lambda p: T.SGD(p, lr=0.01, momentum=0.9, nesterov=True)),
    ("adam", "adam", {"learning_rate": 0.2}, lambda p: T.Adam(p, lr=0.2)),
    ("adamw", "adamw", {"learning_rate": 0.2, "weight_decay": 0.1},
     lambda p: T.AdamW(p, lr=0.2, weight_decay=0.1)),
]


@pytest.mark.parametrize("surface_name", list(SURFACES))
@pytest.mark.parametrize(("opt_name", "opt_settings", "torch_optimizer"),
                         [c[1:] for c in OPTIMISERS], ids=[c[0] for c in OPTIMISERS])
@pytest.mark.parametrize(("name", "params", "torch_scheduler", "feed_loss"),
                         [c[1:] for c in NEW_SCHEDULES], ids=[c[0] for c in NEW_SCHEDULES])
def test_new_schedules_give_torchs_rates_momenta_and_path(
    surface_name, opt_name, opt_settings, torch_optimizer, name, params, torch_scheduler,
    feed_loss,
):
    build_surface, start = SURFACES[surface_name]
    surface, loss_fn = build_surface()
    optimizer = make(opt_name, **opt_settings)
    lr = optimizer.learning_rate
    path, rates, momenta = _torch_run(
        loss_fn, start, torch_optimizer, lambda o: torch_scheduler(o, lr), feed_loss=feed_loss
    )
    history = descent.run(surface, optimizer, start=start, steps=LONG,
                          schedule=schedules.build(name, LONG, **params))
    assert history.diverged_at is None and len(history) == LONG + 1
    np.testing.assert_allclose(history.learning_rate, rates, rtol=0, atol=1e-12 * lr)
    if name == "onecycle" and params.get("cycle_momentum", True):
        np.testing.assert_allclose(history.momentum, momenta, rtol=0, atol=1e-12)
        assert np.ptp(momenta) > 0.09  # the momentum really moved, from max to base and back
    else:
        assert history.momentum is None
        np.testing.assert_array_equal(momenta, momenta[0])  # torch's stayed put too
    np.testing.assert_allclose(history.params[1:], path, rtol=0, atol=1e-10)
    if feed_loss:  # the plateau really cut the rate along the way, more than once
        assert len(np.unique(rates)) >= 3, np.unique(rates)


@pytest.mark.parametrize(("name", "params", "torch_scheduler", "feed_loss"),
                         [c[1:] for c in NEW_SCHEDULES if not c[4]],
                         ids=[c[0] for c in NEW_SCHEDULES if not c[4]])
def test_trace_gives_torchs_rates_without_a_run(name, params, torch_scheduler, feed_loss):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.5, momentum=0.9)
    scheduler = torch_scheduler(optimizer, 0.5)
    rates, momenta = [], []
    for _ in range(LONG):
        rates.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    ours, our_momenta = schedules.trace(schedules.build(name, LONG, **params), 0.5, LONG)
    np.testing.assert_allclose(ours, rates, rtol=0, atol=1e-14)
    if our_momenta is not None:
        np.testing.assert_allclose(our_momenta, momenta, rtol=0, atol=1e-14)


def test_plateau_fed_a_recorded_loss_sequence_cuts_where_torch_does():
    """A real loss curve: momentum swinging along the rosen5 valley, whose loss rises and
    falls; torch's scheduler and ours are fed the same 300 losses, down to the floor min_lr."""
    surface, _ = _rosen5()
    swinging = descent.run(surface, make("momentum", learning_rate=0.02), start=(-1.0, 1.5),
                           steps=300)
    losses = swinging.loss[:300]
    assert np.any(np.diff(losses) > 0)
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.09)
    scheduler = LR.ReduceLROnPlateau(optimizer, factor=0.5, patience=8, threshold=1e-3,
                                     cooldown=2, min_lr=1e-3)
    rates = []
    for loss in losses:
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(float(loss))
    ours, _ = schedules.trace(
        schedules.plateau(factor=0.5, patience=8, threshold=1e-3, cooldown=2, min_lr=1e-3),
        0.09, 300, losses,
    )
    np.testing.assert_allclose(ours, rates, rtol=0, atol=1e-15)
    assert len(np.unique(ours)) >= 4 and ours[-1] == 1e-3  # several cuts, then the floor
