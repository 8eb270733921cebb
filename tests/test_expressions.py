"""Tests for losslab.expressions: typed formulas, their derivatives, and refusing hostile text."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losslab import expressions, surfaces
from losslab.expressions import ExpressionError, compile_expression, normalise, parse
from tests.expression_corpus import HEAVY, HOSTILE, LIVE_PAYLOAD, VALID

ROOT = Path(__file__).resolve().parents[1]
PER_ITEM_SECONDS = 0.25
"""CPU per hostile input, at most: a quarter of the one-second answer every formula gets, so a
regression shows while the product of nineteen sines (about 0.1 s) passes on a loaded machine."""
CORPUS_TIMEOUT_SECONDS = 60

# Runs in a fresh interpreter from an empty directory: one warm-up formula (a running server
# has sympy warm), then every hostile input, one JSON line each, flushed as it goes. Each item
# records CPU seconds (what the parser costs, steady when the shared test machine is
# overloaded) and wall seconds; a hang of any kind is caught by the overall timeout.
_CORPUS_RUNNER = """
import json, sys, time
from losslab import expressions
from tests.expression_corpus import HOSTILE
expressions.parse("(w*x - y)^2 + abs(w) + max(w, 0)")
for index, item in enumerate(HOSTILE):
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        expressions.parse(item.text)
        outcome, message = "accepted", ""
    except expressions.ExpressionError as err:
        outcome, message = "rejected", str(err)
    except BaseException as err:
        outcome, message = "crashed", repr(err)
    print(json.dumps({"index": index, "outcome": outcome, "message": message,
                      "cpu_seconds": time.process_time() - cpu,
                      "wall_seconds": time.perf_counter() - wall}), flush=True)
"""


# Heavy formulas, prepared as a server prepares them (in a child process stopped after
# PREPARE_SECONDS of CPU). sympy's cache is cleared before each, so no item is cheap only because
# the one before built its inner part. CPU is this process's and its children's (os.times).
_HEAVY_RUNNER = """
import json, os, sympy
from losslab import expressions
from tests.expression_corpus import HEAVY
expressions.parse("(w*x - y)^2 + abs(w) + max(w, 0)")
def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
for index, item in enumerate(HEAVY):
    sympy.core.cache.clear_cache()
    start = cpu()
    try:
        expressions.parse(item.text, cpu_seconds=expressions.PREPARE_SECONDS)
        outcome, message = "accepted", ""
    except expressions.ExpressionError as err:
        outcome, message = "rejected", str(err)
    except BaseException as err:
        outcome, message = "crashed", repr(err)
    print(json.dumps({"index": index, "outcome": outcome, "message": message,
                      "cpu_seconds": cpu() - start}), flush=True)
"""
HEAVY_CPU_SECONDS = 1.0


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Path]:
    workdir = tmp_path_factory.mktemp("canary_dir")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CORPUS_RUNNER],
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=CORPUS_TIMEOUT_SECONDS,  # subprocess.run kills the child on timeout
        )
    except subprocess.TimeoutExpired as err:
        lines = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else err.stdout
        reached = len((lines or "").splitlines())
        pytest.fail(f"the corpus hung: killed after {CORPUS_TIMEOUT_SECONDS}s at item {reached}")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return records, workdir


@pytest.fixture(scope="module")
def heavy_run() -> list[dict]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _HEAVY_RUNNER],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=CORPUS_TIMEOUT_SECONDS * 2,
        )
    except subprocess.TimeoutExpired as err:
        lines = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else err.stdout
        reached = len((lines or "").splitlines())
        pytest.fail(f"the heavy corpus hung: killed at item {reached}")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _grid(surface, n: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo = np.array([w[0] for w in surface.window]).reshape(-1, 1, 1)
    hi = np.array([w[1] for w in surface.window]).reshape(-1, 1, 1)
    return lo + (hi - lo) * rng.random((surface.dim, n, n + 1))


# --- the hostile corpus, in a subprocess with a hard time limit ---------------------------------


def test_corpus_holds_at_least_40_hostile_inputs():
    assert len(HOSTILE) >= 40
    assert len({h.text for h in HOSTILE}) == len(HOSTILE)


def test_every_hostile_input_is_rejected_with_expression_error(corpus_run):
    records, _ = corpus_run
    assert len(records) == len(HOSTILE)
    wrong = [(HOSTILE[r["index"]].text[:60], r) for r in records if r["outcome"] != "rejected"]
    assert not wrong


def test_every_rejection_names_the_problem(corpus_run):
    records, _ = corpus_run
    vague = [
        (HOSTILE[r["index"]].text[:60], HOSTILE[r["index"]].expect, r["message"])
        for r in records
        if HOSTILE[r["index"]].expect not in r["message"]
    ]
    assert not vague


def test_every_rejection_takes_a_fraction_of_a_second(corpus_run):
    records, _ = corpus_run
    slow = [(HOSTILE[r["index"]].text[:60], r["cpu_seconds"]) for r in records
            if r["cpu_seconds"] >= PER_ITEM_SECONDS]  # fmt: skip
    assert not slow


def test_no_hostile_input_ran_code(corpus_run):
    _, workdir = corpus_run
    assert not (workdir / "canary").exists()
    assert list(workdir.iterdir()) == []


def test_live_payload_creates_the_canary_when_python_evaluates_it(tmp_path):
    # Positive control: the payload the parser refuses is real. Python's eval, in a separate
    # process in an empty directory, makes the canary file.
    subprocess.run(
        [sys.executable, "-c", f"eval({LIVE_PAYLOAD!r})"], cwd=tmp_path, check=True, timeout=30
    )
    assert (tmp_path / "canary").exists()


def test_expression_modules_never_call_eval_exec_or_sympify():
    builtins = {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "S"}
    methods = {"eval", "exec", "sympify", "parse_expr", "S"}  # sp.S("…") sympifies text
    for name in ("expressions/__init__.py", "expressions/_syntax.py", "expressions/_build.py"):
        calls = [n.func for n in ast.walk(ast.parse((ROOT / "losslab" / name).read_text()))
                 if isinstance(n, ast.Call)]  # fmt: skip
        assert not {f.id for f in calls if isinstance(f, ast.Name)} & builtins, name
        assert not {f.attr for f in calls if isinstance(f, ast.Attribute)} & methods, name


# --- heavy formulas: every one answered within a second of CPU -----------------------------------


def test_every_heavy_formula_is_answered_as_expected(heavy_run):
    assert len(heavy_run) == len(HEAVY)
    wrong = [
        (HEAVY[r["index"]].text[:60], HEAVY[r["index"]].expect, r["outcome"], r["message"])
        for r in heavy_run
        if (r["outcome"] != "accepted" if HEAVY[r["index"]].expect is None
            else r["outcome"] != "rejected" or HEAVY[r["index"]].expect not in r["message"])
    ]  # fmt: skip
    assert not wrong


def test_every_heavy_formula_takes_under_a_second_of_cpu(heavy_run):
    slow = [(HEAVY[r["index"]].text[:60], round(r["cpu_seconds"], 2)) for r in heavy_run
            if r["cpu_seconds"] >= HEAVY_CPU_SECONDS]  # fmt: skip
    assert not slow


def test_deeply_nested_powers_are_refused_without_a_child_process():
    # The nesting bound holds on its own, in a notebook or wherever fork is not available.
    start = time.process_time()
    with pytest.raises(ExpressionError, match="at most 5") as info:
        parse("(" * 19 + "w" + "^1.5)" * 19)
    assert time.process_time() - start < HEAVY_CPU_SECONDS
    assert "(6 inside one another)" in str(info.value)


def test_root_nesting_cap_allows_exactly_max_root_nesting():
    depth = expressions.MAX_ROOT_NESTING
    assert parse("sqrt(" * depth + "w^2" + " + 1)" * depth).dim == 1
    with pytest.raises(ExpressionError, match="too deeply"):
        parse("sqrt(" * (depth + 1) + "w^2" + " + 1)" * (depth + 1))


def test_root_made_by_sympy_from_exp_and_log_counts_towards_the_cap():
    text = "exp(1.5*log(" * 6 + "w" + "))" * 6
    with pytest.raises(ExpressionError, match="too deeply"):
        parse(text)


def test_formula_prepared_in_time_gives_the_same_surface_as_without_a_bound():
    bounded = parse("(w1^2 + w2 - 11)^2", cpu_seconds=expressions.PREPARE_SECONDS)
    free = parse("(w1^2 + w2 - 11)^2")
    point = np.array([[1.5], [-0.5]])
    assert float(bounded.loss(point)[0]) == float(free.loss(point)[0]) == 85.5625


def test_refusal_found_in_the_child_keeps_its_position():
    with pytest.raises(ExpressionError, match="not a real number") as info:
        parse("w + log(-2)", cpu_seconds=expressions.PREPARE_SECONDS)
    assert info.value.position == 4


def test_rebuilding_with_new_data_values_keeps_the_bound():
    surface = parse("(w*x - y)^2", cpu_seconds=expressions.PREPARE_SECONDS)
    rebuilt = surface.build(x=1.0, y=1.0)
    assert rebuilt.build.keywords["cpu_seconds"] == expressions.PREPARE_SECONDS
    assert float(rebuilt.loss(np.array([3.0]))) == 4.0


# --- messages ------------------------------------------------------------------------------------


def test_unknown_name_suggests_the_parameters_in_use():
    with pytest.raises(ExpressionError, match="^unknown name 'q' — use w1 and w2$"):
        parse("q*w1 + w2")


def test_too_long_expression_is_refused_before_parsing():
    with pytest.raises(ExpressionError, match=r"^expression too long \(200 characters max\)$"):
        parse("w" + "+w" * 100)


def test_formula_of_exactly_max_length_is_accepted():
    text = "w1" + "+w1" * 66
    assert len(text) == expressions.MAX_LENGTH
    assert parse(text).dim == 2


def test_unclosed_bracket_reports_its_position():
    with pytest.raises(ExpressionError) as info:
        parse("3*(w - 1")
    assert info.value.position == 2
    assert "character 3" in str(info.value)


def test_error_position_points_into_the_normalised_text():
    with pytest.raises(ExpressionError) as info:
        parse("w  +   q")
    assert info.value.position == 4


def test_non_text_input_is_an_expression_error():
    with pytest.raises(ExpressionError, match="must be text"):
        parse(b"w^2")  # type: ignore[arg-type]


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_formula_undefined_for_the_data_values_is_noted_and_plots_nothing():
    c = compile_expression("log(x - 2) + w", constants={"x": 2.0, "y": 4.0})
    assert "undefined everywhere in the plot window, x = 2" in c.notes
    assert np.isnan(c.surface.loss(_grid(c.surface))).all()


def test_data_values_are_never_evaluated_by_sympy():
    # exp(exp(x)) at x = 1e6 would take sympy minutes in arbitrary precision; NumPy says inf.
    start = time.process_time()
    s = parse("exp(exp(x))*w + cosh(x + exp(x))", constants={"x": 1e6, "y": 0.0})
    assert np.isnan(s.loss(np.array([1.0])))
    assert time.process_time() - start < 1.0


def test_division_by_a_zero_data_value_is_nan_not_an_error():
    s = parse("pi/x + w", constants={"x": 0.0, "y": 4.0})
    assert np.isnan(s.loss(np.array([1.0])))


def test_formula_sympy_cannot_typeset_still_evaluates():
    c = compile_expression("e^(min(-1, log(w)))")
    assert c.grad_latex == (r"\frac{dL}{dw} = \text{(cannot be typeset)}",)
    assert c.surface.grad(np.array([0.1]))[0] == pytest.approx(1.0)


def test_merged_constant_exponentials_stay_bounded():
    with pytest.raises(ExpressionError, match="constant inside exp"):
        parse("exp(600)*exp(600)*w")


@pytest.mark.parametrize("constants", [{"z": 1.0}, {"x": math.nan}, {"x": 1e7}, {"x": "two"}])
def test_bad_data_values_are_refused(constants):
    with pytest.raises(ExpressionError):
        parse("(w*x - y)^2", constants=constants)


def test_data_name_without_a_value_is_refused():
    with pytest.raises(ExpressionError, match="'x' is a data value, but none is set here"):
        parse("w*x", constants={})


@pytest.mark.parametrize("window", [(3.0, -3.0), (0.0, math.inf), ((0.0, 1.0),), (0.0, 2e6)])
def test_bad_windows_are_refused(window):
    with pytest.raises(ExpressionError, match="window"):
        parse("w1 + w2", window=window)


def test_exponent_message_quotes_the_whole_exponent_as_typed():
    with pytest.raises(ExpressionError, match=r"not w-w\+10\*\*8 \(for a varying exponent"):
        parse("2**(w-w+10**8)")


def test_mixing_parameter_families_points_at_the_first_numbered_one():
    with pytest.raises(ExpressionError, match="not both") as info:
        parse("b + w2*w")
    assert info.value.position == 4


def test_kink_cap_allows_exactly_max_kinks():
    assert parse("+".join(["abs(w)"] * expressions.MAX_KINKS)).dim == 1
    with pytest.raises(ExpressionError, match="too many kinks"):
        parse("+".join(["abs(w)"] * (expressions.MAX_KINKS + 1)))


def test_nesting_cap_allows_exactly_max_nesting():
    depth = expressions.MAX_NESTING
    assert parse("(" * depth + "w" + ")" * depth).dim == 1
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * (depth + 1) + "w" + ")" * (depth + 1))


# --- valid formulas --------------------------------------------------------------------------


@pytest.mark.parametrize("item", VALID, ids=[v.text for v in VALID])
def test_gradient_matches_central_differences(item):
    s = parse(item.text, window=item.window)
    points = _grid(s, seed=1)
    h = 1e-6
    analytic = s.grad(points)
    for k in range(s.dim):
        step = np.zeros((s.dim, 1, 1))
        step[k] = h
        numeric = (s.loss(points + step) - s.loss(points - step)) / (2 * h)
        defined = np.isfinite(numeric) & np.isfinite(analytic[k])
        scale = 1 + np.abs(analytic[k][defined])
        assert np.all(np.abs(numeric[defined] - analytic[k][defined]) <= 1e-4 * scale)
    assert np.isfinite(analytic).any()


@pytest.mark.parametrize("item", VALID, ids=[v.text for v in VALID])
def test_hessian_matches_differences_of_the_gradient(item):
    s = parse(item.text, window=item.window)
    points = _grid(s, seed=2)
    h = 1e-6
    analytic = s.hessian(points)
    for k in range(s.dim):
        step = np.zeros((s.dim, 1, 1))
        step[k] = h
        numeric = (s.grad(points + step) - s.grad(points - step)) / (2 * h)
        defined = np.isfinite(numeric) & np.isfinite(analytic[:, k])
        scale = 1 + np.abs(analytic[:, k][defined])
        assert np.all(np.abs(numeric[defined] - analytic[:, k][defined]) <= 1e-4 * scale)
    assert np.isfinite(analytic).any()


@pytest.mark.parametrize("item", VALID, ids=[v.text for v in VALID])
def test_axis_labels_follow_the_variables_used(item):
    s = parse(item.text)
    assert s.axis_labels == item.axis_labels
    assert s.dim == len(item.axis_labels)


@pytest.mark.parametrize("item", VALID, ids=[v.text for v in VALID])
def test_grid_evaluation_broadcasts_like_pointwise_evaluation(item):
    s = parse(item.text, window=item.window)
    points = _grid(s, n=3, seed=3)
    loss, grad, hess = s.loss(points), s.grad(points), s.hessian(points)
    assert loss.shape == points.shape[1:]
    assert grad.shape == points.shape
    assert hess.shape == (s.dim, *points.shape)
    i, j = 1, 2
    np.testing.assert_allclose(s.loss(points[:, i, j]), loss[i, j], equal_nan=True)
    np.testing.assert_allclose(s.grad(points[:, i, j]), grad[:, i, j], equal_nan=True)
    np.testing.assert_allclose(s.hessian(points[:, i, j]), hess[:, :, i, j], equal_nan=True)


@pytest.mark.parametrize("text", ["2", "w - w + 3", "x*y"])
def test_constant_formula_has_zero_gradient_of_the_grid_shape(text):
    s = parse(text)
    points = np.zeros((1, 4, 5))
    assert s.grad(points).shape == (1, 4, 5)
    assert s.hessian(points).shape == (1, 1, 4, 5)
    assert np.all(s.grad(points) == 0) and np.all(s.hessian(points) == 0)
    assert s.loss(points).shape == (4, 5)


def test_constant_formula_knows_its_optimal_value():
    assert parse("x*y", constants={"x": 2.0, "y": 4.0}).optimal_value == 8.0


def test_seed_formula_matches_the_lesson_surface():
    typed = parse("(w*x - y)^2", constants={"x": 2.0, "y": 4.0})
    lesson = surfaces.get("single_point", x=2.0, y_true=4.0)
    points = np.linspace(-1, 3, 9)[np.newaxis]
    np.testing.assert_allclose(typed.loss(points), lesson.loss(points))
    np.testing.assert_allclose(typed.grad(points), lesson.grad(points))
    np.testing.assert_allclose(typed.hessian(points), lesson.hessian(points))


def test_caret_and_double_star_are_the_same_power():
    a, b = parse("(w - 1)^3"), parse("(w - 1)**3")
    points = np.linspace(-2, 2, 5)[np.newaxis]
    np.testing.assert_array_equal(a.loss(points), b.loss(points))


@pytest.mark.parametrize(
    ("text", "undefined"),
    [("log(w)", [True, True, False]), ("1/w", [False, True, False]),
     ("sqrt(w)", [True, False, False]), ("w^(1/2)", [True, False, False]),
     ("log(w)/w", [True, True, False])],
)  # fmt: skip
def test_undefined_points_are_nan_never_inf(text, undefined):
    s = parse(text)
    points = np.array([[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(np.isnan(s.loss(points)), undefined)
    for values in (s.loss(points), s.grad(points), s.hessian(points)):
        assert values.dtype == np.float64 and not np.isinf(values).any()


def test_infinite_slope_at_the_edge_of_the_domain_is_nan():
    assert np.isnan(parse("sqrt(w)").grad(np.array([0.0]))[0])


def test_undefined_fraction_of_log_w1_is_half_the_window():
    s = parse("log(w1) + w2^2", window=(-1.0, 1.0))
    assert expressions.undefined_fraction(s, 100) == pytest.approx(0.5)


def test_undefined_fraction_takes_points():
    s = parse("log(w)")
    assert expressions.undefined_fraction(s, np.array([[-1.0, 1.0, 2.0, 3.0]])) == 0.25


@pytest.mark.parametrize("resolution", [1, expressions.MAX_RESOLUTION + 1])
def test_undefined_fraction_refuses_resolutions_beyond_the_cap(resolution):
    with pytest.raises(ValueError, match="resolution"):
        expressions.undefined_fraction(parse("w"), resolution)


def test_notes_say_where_log_is_undefined():
    assert "log is undefined where w1 ≤ 0" in compile_expression("log(w1) + w2^2").notes


def test_notes_name_kinks_and_the_hessian_convention():
    notes = compile_expression("(w*x - y)^2 + 0.1*abs(w)").notes
    assert any("abs has a kink where w = 0" in n for n in notes)
    assert any("Hessian uses 0" in n for n in notes)


def test_abs_has_a_zero_hessian_so_newton_can_run():
    s = parse("abs(w1) + 2*abs(w2)")
    points = _grid(s)
    np.testing.assert_array_equal(s.hessian(points), 0.0)


def test_gradient_at_kinks_uses_sign_zero_and_averages_max():
    assert parse("abs(w)").grad(np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(parse("max(w1, w2)").grad(np.zeros(2)), [0.5, 0.5])


def test_gradient_at_a_three_way_tie_stays_a_subgradient():
    g = parse("max(max(w1, w2), 0)").grad(np.zeros(2))
    assert g.min() >= 0 and g.sum() <= 1


@pytest.mark.parametrize(
    ("text", "smooth"),
    [("(1 - w1)^2 + 100*(w2 - w1^2)^2", True), ("log(w1) + w2^2", True), ("abs(w)", False),
     ("max(w, b)", False), ("sqrt(w)", False), ("relu(w)", False), ("sqrt(w^2 + 1)", True)],
)  # fmt: skip
def test_smooth_flag_is_false_when_a_kink_appears(text, smooth):
    assert parse(text).smooth is smooth


def test_surface_facts():
    s = parse("(w*x + b - y)^2")
    assert (s.name, s.minimizers, s.optimal_value) == ("custom", (), None)
    assert s.window == ((-3.0, 3.0), (-3.0, 3.0))
    assert s.params == {"x": 2.0, "y": 4.0}
    assert s.title == "Your loss: (w*x + b - y)^2"


def test_surface_settings_are_read_only_so_a_shared_cache_is_safe():
    with pytest.raises(TypeError):
        parse("(w*x - y)^2").params["x"] = 3.0  # type: ignore[index]


def test_huge_whole_numbers_evaluate_as_floats():
    value = parse("atan(999999^6)*w + 999999^6").loss(np.array([1.0]))
    assert value == pytest.approx(math.atan(999999.0**6) + 999999.0**6)


def test_constant_softplus_has_a_value():
    assert parse("softplus(0.5)").optimal_value == pytest.approx(math.log1p(math.exp(0.5)))


def test_e_to_a_power_is_the_exponential():
    np.testing.assert_allclose(parse("e^(w/2)").loss(np.array([[2.0]])), [math.e])


def test_one_window_pair_applies_to_every_axis():
    assert parse("w1*w2", window=(-1, 2)).window == ((-1.0, 2.0), (-1.0, 2.0))


def test_build_rebuilds_with_other_data_values():
    s = parse("(w*x - y)^2").build(x=1.0, y=3.0)
    assert s.params == {"x": 1.0, "y": 3.0}
    assert float(s.loss(np.array([3.0]))) == 0.0


def test_latex_of_the_seed_formula_and_its_derivatives():
    c = compile_expression("(w*x - y)^2")
    assert c.latex == r"L(w) = \left(w x - y\right)^{2}"
    assert c.grad_latex == (r"\frac{dL}{dw} = 2 x \left(w x - y\right)",)
    assert c.hessian_latex == ((r"\frac{d^{2}L}{dw^{2}} = 2 x^{2}",),)


def test_latex_of_a_2d_formula_names_each_partial_derivative():
    c = compile_expression("(1 - w1)^2 + 100*(w2 - w1^2)^2")
    assert c.grad_latex[1] == r"\frac{\partial L}{\partial w_{2}} = - 200 w_{1}^{2} + 200 w_{2}"
    mixed = r"\frac{\partial^{2} L}{\partial %s \partial %s} = - 400 w_{1}"
    assert c.hessian_latex[0][1] == mixed % ("w_{1}", "w_{2}")
    assert c.hessian_latex[1][0] == mixed % ("w_{2}", "w_{1}")


def test_step_functions_read_as_indicators_in_latex():
    assert r"\mathbb{1}\left[w > b\right]" in compile_expression("max(w, b)").grad_latex[0]


def test_sigmoid_and_softplus_stay_finite_far_out():
    s = parse("sigmoid(w) + softplus(w)")
    points = np.array([[-1000.0, 0.0, 1000.0]])
    for values in (s.loss(points), s.grad(points), s.hessian(points)):
        assert np.isfinite(values).all()


def test_normalise_collapses_whitespace_so_equal_formulas_share_a_key():
    assert normalise("  (w  -\t3)^2\n") == "(w - 3)^2"
    assert normalise("(w -  3)^2") == normalise("(w - \n 3)^2")


def test_parse_reads_the_normalised_text():
    assert compile_expression("  w^2  +   1 ").text == "w^2 + 1"


# --- properties ------------------------------------------------------------------------------

_ALPHABET = "wb12xy.e+-*/^(),  sinexplogmaq"
_BUDGET_SECONDS = 1.5


def _parse_or_refuse(text: str) -> None:
    # A guard against runaway symbolic work, in CPU time so a busy machine cannot flake it.
    start = time.process_time()
    try:
        parse(text)
    except ExpressionError as err:
        assert err.__cause__ is None, "the catch-all for unforeseen sympy errors was reached"
    assert time.process_time() - start < _BUDGET_SECONDS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_text_from_the_formula_alphabet_only_ever_raises_expression_error(text):
    _parse_or_refuse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=250))
def test_any_unicode_text_only_ever_raises_expression_error(text):
    _parse_or_refuse(text)


_LEAVES = st.sampled_from(["w1", "w2", "1", "2.5", "pi", "x", "y", "0.5", "e", "999999", "1e-9"])
_UNARY = st.sampled_from([f for f in expressions.FUNCTIONS if f not in ("max", "min")])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from("+-*/"), children).map(lambda t: f"({' '.join(t)})"),
        st.tuples(_UNARY, children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["max", "min"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["2", "3", "0.5", "-1", "1/2"])).map(
            lambda t: f"({t[0]})^{t[1]}"
        ),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(_LEAVES, _extend, max_leaves=8).filter(lambda s: len(s) <= 200),
    st.sampled_from([0.0, 2.0, -1.0, 1e6]),
)
def test_generated_formulas_give_finite_or_nan_values_of_the_right_shapes(text, x):
    try:
        s = parse(text, constants={"x": x, "y": 4.0}, window=(-2.0, 2.0))
    except ExpressionError as err:
        assert err.__cause__ is None, "the catch-all for unforeseen sympy errors was reached"
        return
    points = _grid(s, n=4)
    loss, grad, hess = s.loss(points), s.grad(points), s.hessian(points)
    assert loss.shape == points.shape[1:] and grad.shape == points.shape
    assert hess.shape == (s.dim, *points.shape)
    for values in (loss, grad, hess):
        assert values.dtype == np.float64 and not np.isinf(values).any()


def test_compiled_formula_reports_its_size_for_the_work_budget():
    small = compile_expression("(w - 3)^2")
    large = compile_expression("(w1^2 + w2 - 11)^2 + (w1 + w2^2 - 7)^2")
    assert 3 <= small.nodes < large.nodes <= 40
