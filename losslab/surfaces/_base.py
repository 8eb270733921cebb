"""The `Surface` type every loss surface in losslab shares.

A surface is a scalar function of a parameter vector together with the facts a learner needs
about it. Value, gradient and Hessian broadcast over a leading coordinate axis, as scipy's
``rosen``/``rosen_der`` do: ``P`` has shape ``(dim, ...)``, so one function serves a single
point ``(dim,)`` and a whole meshgrid ``(dim, H, W)`` alike.

    loss(P)    -> shape (...)
    grad(P)    -> shape (dim, ...)
    hessian(P) -> shape (dim, dim, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from losslab.surfaces._opening import Opening

Array = np.ndarray
ArrayFn = Callable[[Array], Array]


class Dataset(NamedTuple):
    """Rows (x, y) behind a data-driven surface; ``kind`` is "regression" or "classification"."""

    x: Array
    y: Array
    kind: str = "regression"


def _read_only(data: Dataset) -> Dataset:
    """``data`` with read-only views of its rows (the caller's own arrays stay writable)."""
    views = []
    for rows in (data.x, data.y):
        view = np.asarray(rows).view()
        view.setflags(write=False)
        views.append(view)
    return Dataset(views[0], views[1], data.kind)


def _column(p: Array) -> Array:
    """One point ``(dim,)`` as a column ``(dim, 1)``. Its coordinates are then arrays, not NumPy
    scalars: scalar arithmetic calls the C library's ``pow`` (``x**2`` is not always ``x*x``)
    where array arithmetic takes NumPy's own loops, so a point alone would differ in the last
    bit from the same point among others (``ladder.run_rates``, grids). As a column it is
    computed exactly as it is in a batch."""
    return p[:, np.newaxis]


@dataclass(frozen=True)
class Surface:
    """A loss surface: value, gradient and Hessian side by side, plus its declared facts.

    Attributes:
        name: registry name (``"rosenbrock"``).
        title: human-readable title.
        dim: number of parameters (1 or 2).
        window: plot window per axis, ``((lo, hi), ...)``; separate from where the function
            is defined.
        minimizers: known global minimisers, each a tuple of ``dim`` floats (may be empty).
        optimal_value: loss at the minimisers, or ``None`` when unknown.
        smooth: whether the loss is twice differentiable everywhere in the window.
        latex: the formula, as LaTeX, set to fit a desktop column (~900 px).
        latex_narrow: the same formula in shorter lines (``aligned``) for a phone-width
            column (~350 px), where ``latex`` would not fit; empty when it does.
        teaches: one sentence on what the surface teaches.
        axis_labels: parameter names, ``("w",)`` or ``("w1", "w2")``.
        params: the settings the surface was built with (``{"x": 2.0, "y_true": 4.0}``).
        data: the rows behind a data-driven surface, else ``None``.
        batch_grad: gradient on a subset of the rows, ``batch_grad(P, rows)``; data-driven only.
        build: rebuilds the surface with other settings (``surfaces.get`` uses it).
        bound_formulas: on a one-weight surface, L'', 2/L'' and 1/L'' in its own symbols
            (``("2x²", "1/x²", "1/(2x²)")``), for the stability sentence; may be empty.
        opening: the runs the surface opens on, chosen so they show what it ``teaches``
            (see ``Opening``); ``None`` when it declares none.
        saddles: known saddle points (zero gradient, the loss curving up one way and down
            another), each a tuple of ``dim`` floats, for the map to mark (may be empty).
        local_minima: known minima that are not global (loss above ``optimal_value``), where
            a run can end short of the goal; marked on the map like the saddles.
    """

    name: str
    title: str
    dim: int
    loss_fn: ArrayFn = field(repr=False)
    grad_fn: ArrayFn = field(repr=False)
    hessian_fn: ArrayFn = field(repr=False)
    window: tuple[tuple[float, float], ...]
    minimizers: tuple[tuple[float, ...], ...] = ()
    optimal_value: float | None = None
    smooth: bool = True
    latex: str = ""
    latex_narrow: str = ""
    teaches: str = ""
    axis_labels: tuple[str, ...] = ()
    params: Mapping[str, float | int | str] = field(default_factory=dict)
    data: Dataset | None = field(default=None, repr=False)
    batch_grad: Callable[[Array, Array], Array] | None = field(default=None, repr=False)
    build: Callable[..., Surface] | None = field(default=None, repr=False, compare=False)
    bound_formulas: tuple[str, ...] = ()
    opening: Opening | None = field(default=None, repr=False)
    saddles: tuple[tuple[float, ...], ...] = ()
    local_minima: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        # Registry surfaces are shared by every session (module level, st.cache_resource):
        # their settings and rows are read-only, so no session can change another's surface.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        if self.data is not None:
            object.__setattr__(self, "data", _read_only(self.data))

    def _points(self, p: Array) -> Array:
        p = np.asarray(p, dtype=float)
        if p.ndim == 0 or p.shape[0] != self.dim:
            raise ValueError(
                f"{self.name} takes points of shape ({self.dim}, ...); got shape {p.shape}"
            )
        return p

    def loss(self, p: Array) -> Array:
        """Loss at ``p`` of shape ``(dim, ...)``; returns shape ``(...)``."""
        p = self._points(p)
        if p.ndim == 1:  # one point: evaluated as a column, see ``_column``
            return np.asarray(self.loss_fn(_column(p)), dtype=float).reshape(())
        return np.asarray(self.loss_fn(p), dtype=float)

    def grad(self, p: Array) -> Array:
        """Gradient at ``p`` of shape ``(dim, ...)``; returns shape ``(dim, ...)``."""
        p = self._points(p)
        if p.ndim == 1:  # one point: evaluated as a column, see ``_column``
            g = np.asarray(self.grad_fn(_column(p)), dtype=float)
            if g.shape == (self.dim, 1):
                return g[:, 0].copy()
            return np.broadcast_to(g, (self.dim, 1))[:, 0].copy()
        g = np.asarray(self.grad_fn(p), dtype=float)
        if g.shape == p.shape:  # already full: one copy, no broadcasting
            return g.copy()
        return np.broadcast_to(g, p.shape).copy()

    def hessian(self, p: Array) -> Array:
        """Hessian at ``p`` of shape ``(dim, ...)``; returns shape ``(dim, dim, ...)``."""
        p = self._points(p)
        if p.ndim == 1:  # one point: evaluated as a column, see ``_column``
            h = np.asarray(self.hessian_fn(_column(p)), dtype=float)
            return np.broadcast_to(h, (self.dim, self.dim, 1))[..., 0].copy()
        shape = (self.dim, self.dim, *p.shape[1:])
        h = np.asarray(self.hessian_fn(p), dtype=float)
        if h.shape == shape:  # already full: one copy, no broadcasting (Newton's every step)
            return h.copy()
        return np.broadcast_to(h, shape).copy()

    def landmark_at(
        self, point: Sequence[float], reach: float = 1e-2
    ) -> tuple[str, tuple[float, ...]] | None:
        """The declared saddle or local minimum ``point`` sits at, within ``reach`` × the
        window's mean width, as ``("saddle", where)`` or ``("local minimum", where)``."""
        near = reach * float(np.mean([hi - lo for lo, hi in self.window]))
        here = np.asarray(point, dtype=float).ravel()
        for kind, points in (("saddle", self.saddles), ("local minimum", self.local_minima)):
            for where in points:
                if float(np.linalg.norm(here - np.asarray(where, dtype=float))) <= near:
                    return kind, tuple(where)
        return None
