"""Shared test set-up: the repository root on sys.path so `losslab` and `app.py` import."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import settings  # noqa: E402

# Timing is never a test's business here (the machines are shared and noisy): no deadlines.
settings.register_profile("losslab", deadline=None)
settings.load_profile("losslab")

# Database fixtures for class mode (SQLite and a throwaway PostgreSQL), shared with tests/e2e.
from tests.databases import db_url, postgres_url  # noqa: E402, F401


def pytest_collection_modifyitems(config, items):
    """Coverage measures the app layer as the AppTest tests drive it: every other test runs
    untraced (pytest-cov's ``no_cover``), since tracing slows the maths tests for nothing."""
    plugin = config.pluginmanager.getplugin("_cov")
    if plugin is None or getattr(plugin, "cov_controller", None) is None:
        return  # coverage is off (--no-cov, or pytest-cov absent): nothing to pause
    for item in items:
        # test_app*.py, test_classroom_app.py, test_fuzz_app.py: every file that runs the app.
        if not item.path.stem.endswith("_app") and not item.path.name.startswith("test_app"):
            item.add_marker("no_cover")
