"""Loss surfaces: a registry of named surfaces with analytic gradients and Hessians.

>>> from losslab import surfaces
>>> s = surfaces.get("single_point", x=2.0, y_true=4.0)
>>> float(s.loss([1.0]))
4.0
"""

from __future__ import annotations

from losslab.surfaces._base import Dataset, Surface
from losslab.surfaces._lesson import single_point

__all__ = ["SURFACES", "Dataset", "Surface", "get", "names"]

SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (
        single_point(),
    )
}


def names(dim: int | None = None) -> list[str]:
    """Registry names, optionally only those of one dimension."""
    return [n for n, s in SURFACES.items() if dim is None or s.dim == dim]


def get(name: str, **params: float) -> Surface:
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
