"""losslab: see how neural networks are optimised — loss surfaces, gradients and optimiser paths.

The public modules::

    from losslab import surfaces, optimizers, descent, charts
    s = surfaces.get("single_point", x=2.0, y_true=4.0)
    h = descent.run(s, optimizers.sgd(learning_rate=0.05), start=[-1.0], steps=60)
    charts.lesson_figure(s, h)
"""

from losslab import (
    budget,
    charts,
    descent,
    export,
    expressions,
    ledger,
    lessons,
    optimizers,
    permalink,
    schedules,
    stability,
    surfaces,
    userdata,
)

__all__ = [
    "budget",
    "charts",
    "descent",
    "export",
    "expressions",
    "ledger",
    "lessons",
    "optimizers",
    "permalink",
    "schedules",
    "stability",
    "surfaces",
    "userdata",
]
__version__ = "0.1.0"
