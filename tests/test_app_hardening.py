"""The heavy and hostile links of the hardening corpus, opened as a learner would: each page
answers in words, computes within the work budget and draws nothing non-finite."""

from __future__ import annotations

import pytest

from tests import chartdata
from tests.permalink_corpus import HEAVY_LINKS
from tests.test_app import all_text, open_app


@pytest.mark.parametrize("name, link", [(n, q) for n, q, _ in HEAVY_LINKS],
                         ids=[n for n, _, _ in HEAVY_LINKS])
def test_a_heavy_link_is_answered_in_words_within_budget(name, link):
    at = open_app(link)
    assert not at.exception
    text = all_text(at)
    for chart in at.get("vega_lite_chart"):
        assert not chartdata.non_finite_cells(chart), name
    if name.startswith(("logistic-eight", "network-32-32-5000", "pasted")):
        assert "so the page stays quick for everyone on this server" in text, text[:500]
    if name == "formula-nested-fractional-powers":
        assert "That formula cannot be used" in text and "too deeply" in text


def test_a_formula_flat_at_a_large_constant_says_the_loss_is_the_same_everywhere():
    at = open_app({"surface": "custom", "view": "surface",
                   "expr": "exp(40) + (w1^2 + w2^2)/1000"})
    assert not at.exception
    assert at.get("vega_lite_chart")


def test_a_paste_with_an_open_quote_is_refused_in_words_and_the_rows_are_kept():
    at = open_app({"surface": "linear_regression"})
    at.text_area(key="paste").set_value("x,y\n1,2\n2,4\n3,6.5\n").run()
    at.button(key="use_rows").click().run()
    assert any("Using your 3 rows" in s.value for s in at.success)
    at.text_area(key="paste").set_value('x,y\n"1,2\n3,4\n').run()
    at.button(key="use_rows").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "cannot be used" in errors and "previous data is kept" in errors
    assert "your 3 rows" in all_text(at)


EVERY_OPTIMISER = "sgd,momentum,nesterov,adagrad,rmsprop,adam,adamw,newton"


@pytest.mark.parametrize("link", [
    {"opt": EVERY_OPTIMISER, "steps": "5000"},  # the opening view: the chapter's data point
    {"surface": "custom", "expr": "(2*w - 4)^2", "opt": EVERY_OPTIMISER, "steps": "5000"},
], ids=["single-point", "a-one-weight-formula"])
def test_steps_lowered_for_the_budget_are_said_on_the_one_weight_view(link):
    # The sidebar still says 5000 steps: the page must say why the runs stop earlier.
    at = open_app(link)
    text = all_text(at)
    steps = [n.value for n in at.sidebar.number_input if n.label == "Steps"]
    assert steps == [5000]
    assert "Steps per optimiser lowered from 5,000 to " in text, text[:600]
    assert "so the page stays quick for everyone on this server" in text


def test_the_budget_counts_no_rate_window_the_page_does_not_draw():
    # Over whatif.MAX_STEPS steps the page draws no window of rates: one run of 5000 steps
    # is cheap, and runs to the end as asked.
    at = open_app({"steps": "5000", "lr": "0.0001"})
    text = all_text(at)
    assert "lowered" not in text
    assert "After 5000 steps" in text
