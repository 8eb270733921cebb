"""Showing text that may quote a user's input (a link value, a formula) safely.

Streamlit renders alert and write bodies as Markdown. Text we did not write must never be
interpreted, so every Markdown-active character is backslash-escaped and HTML angle brackets
are turned into look-alikes that render literally.
"""

from __future__ import annotations

import re

_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^])")


def plain(text: str) -> str:
    """``text`` escaped so that Markdown shows it literally, line breaks kept."""
    escaped = _ACTIVE.sub(r"\\\1", str(text))
    return escaped.replace("<", "‹").replace(">", "›")
