"""Imported by ``app.py`` after everything else, once per server process.

What the imports allocated (modules, classes, Altair's schema, Streamlit's runtime) lives as
long as the process, so it is moved out of the garbage collector's sight (``gc.freeze``): a
full collection walked all of it, ~70 ms with every session of the server waiting, about
fifteen times a minute with forty learners.
"""

from __future__ import annotations

import gc

gc.freeze()
