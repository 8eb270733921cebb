"""Imported by ``app.py`` after everything else, once per server process.

What the imports allocated (modules, classes, Altair's schema, Streamlit's runtime) lives as
long as the process, so it is moved out of the garbage collector's sight (``gc.freeze``): a
full collection walked all of it, ~70 ms with every session of the server waiting, about
fifteen times a minute with forty learners.

The collector also runs less often (``gc.set_threshold``): a rerun allocates tens of thousands
of short-lived containers that reference counting frees anyway, and with Python's defaults
(700, 10, 10) a minute of 100 learners took ~2 800 young collections, 250 middle ones and 24
full ones (up to 115 ms each, every session waiting): 3.3 s of server CPU. With (20 000, 50,
50): 49 young collections and one full one, 0.8 s, and the same memory at the end
(``benchmarks/learners.py``; benchmarks/README.md, tenth series).
"""

from __future__ import annotations

import gc

gc.freeze()
gc.set_threshold(20_000, 50, 50)
