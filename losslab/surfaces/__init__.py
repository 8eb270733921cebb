"""Loss surfaces: a registry of named surfaces with analytic gradients and Hessians.

The registry holds the one-weight lesson (``single_point``), twelve classic test functions
of (w1, w2) (``_classic``, ``_classic_multimodal``), three teaching surfaces (``saddle``,
``ravine``, ``plateau``) and two data-driven surfaces over (w, b) (``linear_regression``,
``logistic_regression``). ``linear_regression_from_data`` and
``logistic_regression_from_data`` build the data-driven ones on a learner's own rows.
Every registry surface declares an ``Opening``: the runs that show what it teaches.

>>> from losslab import surfaces
>>> s = surfaces.get("single_point", x=2.0, y_true=4.0)
>>> float(s.loss([1.0]))
4.0
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from losslab.surfaces._base import Dataset, Surface
from losslab.surfaces._classic import beale, booth, goldstein_price, himmelblau, matyas, rosenbrock
from losslab.surfaces._classic_multimodal import (
    ackley,
    mccormick,
    rastrigin,
    six_hump_camel,
    styblinski_tang,
    three_hump_camel,
)
from losslab.surfaces._data import (
    REGRESSION_LOSSES,
    linear_regression,
    linear_regression_from_data,
    logistic_regression,
    logistic_regression_from_data,
)
from losslab.surfaces._datarows import MAX_ROWS
from losslab.surfaces._distance import nearest_minimum_distance
from losslab.surfaces._opening import Opening, Run
from losslab.surfaces._single_point import single_point
from losslab.surfaces._teaching import MAX_CONDITION, plateau, ravine, saddle

__all__ = [
    "MAX_CONDITION",
    "MAX_ROWS",
    "REGRESSION_LOSSES",
    "SURFACES",
    "Dataset",
    "Opening",
    "Run",
    "Surface",
    "get",
    "linear_regression_from_data",
    "logistic_regression_from_data",
    "names",
    "nearest_minimum_distance",
]

SURFACES: Mapping[str, Surface] = MappingProxyType({
    s.name: s
    for s in (
        single_point(),
        rosenbrock(),
        himmelblau(),
        beale(),
        booth(),
        rastrigin(),
        ackley(),
        six_hump_camel(),
        three_hump_camel(),
        goldstein_price(),
        matyas(),
        mccormick(),
        styblinski_tang(),
        saddle(),
        ravine(),
        plateau(),
        linear_regression(),
        logistic_regression(),
    )
})
"""Registry name → surface; read-only, as every session shares it."""


def names(dim: int | None = None) -> list[str]:
    """Registry names, optionally only those of one dimension."""
    return [n for n, s in SURFACES.items() if dim is None or s.dim == dim]


def get(name: str, **params: float | int | str) -> Surface:
    """The registry surface ``name``, rebuilt with ``params`` where given.

    Raises ``ValueError`` for an unknown name or setting, with the valid choices.
    """
    if name not in SURFACES:
        raise ValueError(f"unknown surface {name!r}; choose one of: {', '.join(SURFACES)}")
    base = SURFACES[name]
    if not params:
        return base
    unknown = sorted(set(params) - set(base.params))
    if unknown:
        allowed = ", ".join(base.params) or "none"
        raise ValueError(f"{name} has no setting {', '.join(unknown)}; its settings: {allowed}")
    assert base.build is not None
    return base.build(**{**base.params, **params})
