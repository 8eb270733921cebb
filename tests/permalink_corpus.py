"""Malformed permalinks: each must parse without an exception, with at least one warning.

Shared by the unit tests of ``losslab.permalink`` and the app's AppTest/browser tests. Each entry
is ``(id, query)`` with ``query`` as ``st.query_params`` would give it (a list = a repeated key).
"""

from __future__ import annotations

from losslab.budget import NetworkRequest, SurfaceRequest

MALFORMED_LINKS: tuple[tuple[str, dict[str, str | list[str]]], ...] = (
    ("lr-inf", {"lr": "inf"}),
    ("lr-nan", {"lr": "nan"}),
    ("lr-Infinity", {"lr": "Infinity"}),
    ("lr-abc", {"lr": "abc"}),
    ("lr-overflow", {"lr": "1e999"}),
    ("lr-negative-zero", {"lr": "-0"}),
    ("lr-underscore-digits", {"lr": "1_000"}),
    ("lr-hex", {"lr": "0x10"}),
    ("lr-leading-space", {"lr": " 0.1"}),
    ("lr-trailing-newline", {"lr": "0.1\n"}),
    ("lr-empty", {"lr": ""}),
    ("lr-empty-list", {"lr": []}),
    ("lr-repeated", {"lr": ["0.1", "0.2"]}),
    ("lr-more-rates-than-optimisers", {"lr": "0.1,0.2,0.3"}),
    ("lr-above-newton-limit", {"opt": "newton", "lr": "5"}),
    ("steps-negative", {"steps": "-5"}),
    ("steps-python-power", {"steps": "10**9"}),
    ("steps-huge", {"steps": "99999999999999999999"}),
    ("steps-fraction", {"steps": "1.5"}),
    ("steps-10kB", {"steps": "10" * 5000}),
    ("seed-arabic-digits", {"seed": "١٢٣"}),
    ("x-fullwidth-digit", {"x": "１"}),
    ("kappa-tiny", {"kappa": "1e-300"}),
    ("res-100000", {"res": "100000"}),
    ("res-empty", {"res": ""}),
    ("surface-unknown", {"surface": "no_such_surface"}),
    ("surface-script", {"surface": "<script>alert(1)</script>"}),
    ("start-three-coordinates-on-2d", {"surface": "rosenbrock", "start": "1,2,3"}),
    ("start-two-coordinates-on-1d", {"start": "1,2"}),
    ("start-nan-coordinate", {"start": "1,nan"}),
    ("expr-import-attack", {"surface": "custom", "expr": "__import__('os').system('ls')"}),
    ("expr-dunder", {"surface": "custom", "expr": "w1.__class__"}),
    ("expr-unicode", {"surface": "custom", "expr": "w1²+ω"}),
    ("expr-too-long", {"surface": "custom", "expr": "w1+" * 100}),
    ("opt-twenty-names", {"opt": ",".join(["adam"] * 20)}),
    ("opt-unknown-name", {"opt": "adam,sgd,lbfgs"}),
    ("opt-only-unknown", {"opt": "lbfgs"}),
    ("opt-empty", {"opt": ""}),
    ("lesson-unknown", {"lesson": "no_such_lesson"}),
    ("present-yes", {"present": "yes"}),
    ("hidden-too-wide-too-deep", {"hidden": "1000,1000,1000"}),
    ("w-range-reversed", {"wmin": "5", "wmax": "-5"}),
    ("step-beyond-steps", {"step": "4000"}),
    ("data-unknown", {"data": "mnist"}),
    ("act-unknown", {"act": "sigmoid"}),
    ("sched-unknown", {"sched": "linear"}),
    ("loss-unknown", {"loss": "hinge"}),
    ("view-unknown", {"view": "admin"}),
    ("unknown-key", {"evil": "1"}),
    ("unknown-key-bidi", {"\u202eevil": "1"}),
    ("value-not-text", {"lr": 0.1}),  # type: ignore[dict-item]
    ("many-unknown-keys", {f"k{i}": "1" for i in range(1000)}),
)


# --- well-formed links whose work must be bounded --------------------------------------------
#
# Each parses without a warning, but computing it as asked cost seconds of CPU. Each entry is
# ``(id, query, request)``: ``request`` is the work the link asks for, in the plain numbers of
# ``losslab.budget`` (the app maps its settings onto them); tests/test_budget.py checks that the
# budget brings each one under ``budget.BUDGET`` with a sentence per change. Links whose
# trouble was a value (not work) are here too, with ``request`` None: tests/test_raster.py and
# tests/test_descent.py check those.

_ALL_OPTIMIZERS = "sgd,momentum,nesterov,adagrad,rmsprop,adam,adamw,newton"

HEAVY_LINKS: tuple[tuple[str, dict[str, str], SurfaceRequest | NetworkRequest | None], ...] = (
    (
        "logistic-2000-rows-res-400-fresh-seed",
        {"surface": "logistic_regression", "n": "2000", "res": "400", "seed": "917"},
        SurfaceRequest(resolution=400, rows=2000, loss="logistic", runs=1, steps=30),
    ),
    (
        "logistic-eight-optimisers-5000-steps-batch-1999",
        {"surface": "logistic_regression", "n": "2000", "res": "400", "seed": "918",
         "opt": _ALL_OPTIMIZERS, "steps": "5000", "batch": "1999"},
        SurfaceRequest(resolution=400, rows=2000, loss="logistic", runs=8, steps=5000,
                       batch=1999),
    ),
    (
        "network-32-32-on-2000-rows",
        {"view": "nn", "hidden": "32,32", "n": "2000", "seed": "919"},
        NetworkRequest(hidden=(32, 32), rows=2000, steps=300, grid=41),
    ),
    (
        "network-32-32-5000-steps-batch-1999",
        {"view": "nn", "hidden": "32,32", "n": "2000", "steps": "5000", "batch": "1999"},
        NetworkRequest(hidden=(32, 32), rows=2000, steps=5000, batch=1999, grid=41),
    ),
    (
        "pasted-10000-rows-huber-res-400-eight-optimisers",
        {"surface": "linear_regression", "loss": "huber", "res": "400", "opt": _ALL_OPTIMIZERS,
         "steps": "5000"},
        SurfaceRequest(resolution=400, rows=10_000, loss="huber", runs=8, steps=5000),
    ),
    (
        "formula-flat-at-a-large-constant",
        {"surface": "custom", "view": "surface", "expr": "exp(40) + (w1^2 + w2^2)/1000"},
        None,
    ),
    (
        "formula-range-too-wide-to-colour",
        {"surface": "custom", "view": "surface", "res": "400", "expr": "exp(700)*w1*w2*1000"},
        None,
    ),
    (
        "formula-huge-gradient-in-the-lesson",
        {"surface": "custom", "expr": "exp(700)*w^2*1000", "wmin": "-100", "wmax": "100"},
        None,
    ),
    (
        "formula-nested-fractional-powers",
        {"surface": "custom", "expr": "(" * 19 + "w" + "^1.5)" * 19},
        None,
    ),
)
