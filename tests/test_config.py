"""The Streamlit configuration pins the settings a public server depends on."""

from __future__ import annotations

from pathlib import Path

import streamlit.config
import tomllib

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def _server() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]


def test_security_settings_are_pinned_not_left_to_defaults():
    server = _server()
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["enableStaticServing"] is False


def test_widget_state_is_bounded_above_the_largest_paste():
    server = _server()
    assert server["maxUploadSize"] < server["maxWidgetStateSize"] <= 10


def test_every_pinned_server_option_exists_in_this_streamlit():
    streamlit.config.get_option("server.port")  # loads the option table
    for name in _server():
        assert f"server.{name}" in streamlit.config._config_options, name


def test_the_cookie_secret_is_documented_for_replicas_and_never_committed():
    text = CONFIG.read_text(encoding="utf-8")
    assert "cookieSecret" not in _server()
    assert "STREAMLIT_SERVER_COOKIE_SECRET" in text and "replica" in text
