"""Fixtures for the browser layer: one Streamlit server and one Chromium for the whole session."""

from __future__ import annotations

import pytest

from tests.e2e.browser import chromium, streamlit_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def server_url():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p, chromium(p) as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
