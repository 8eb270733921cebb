"""PyTorch as the oracle: our paths equal ``torch.optim``'s, and our schedules its schedulers'.

Each optimiser takes 20 steps on two 2-D surfaces in float64, once through ``descent.run`` and
once through torch (autograd gradients, ``torch.optim`` updates, ``lr_scheduler`` stepped after
each update); the iterates must agree to 1e-10. Newton has no ``torch.optim`` class, so its
oracle is ``torch.autograd.functional.hessian`` with ``torch.linalg.solve``.
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
