"""losslab: see how neural networks are optimised — loss surfaces, gradients and optimiser paths.

The public modules::

    from losslab import surfaces, optimizers, descent, charts
    s = surfaces.get("single_point", x=2.0, y_true=4.0)
    h = descent.run(s, optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=60)
    charts.lesson_figure(s, h)
"""

import importlib

_MODULES = frozenset({
    "budget",
    "charts",
    "classroom",
    "cpu_limit",
    "descent",
    "export",
    "expressions",
    "ladder",
    "ledger",
    "lessons",
    "optimizers",
    "permalink",
    "schedules",
    "settings",
    "stability",
    "surfaces",
    "userdata",
    "whatif",
})


def __getattr__(name: str):
    """``losslab.<module>`` imported on first use: a page that never types a formula never
    loads sympy, one that never opens a class never loads SQLAlchemy (PEP 562)."""
    if name in _MODULES:
        return importlib.import_module(f"losslab.{name}")
    raise AttributeError(f"module 'losslab' has no attribute {name!r}")


__all__ = sorted(_MODULES)
__version__ = "0.1.0"
