"""Permalinks: the page's query string, read into ``Settings`` and written back.

A permalink is the page's query string: ``?surface=rosenbrock&opt=adam,sgd&lr=0.01&steps=200``.
It holds only what differs from the *baseline*: the defaults (the course chapter's lesson), or
the preset of the lesson named by ``lesson=``. So ``?lesson=ravine`` alone opens that lesson.

A link is untrusted input. ``parse_query`` never raises: malformed or non-finite values are
ignored, out-of-range numbers are clamped, unknown keys and names are dropped, and each such
repair adds a plain-words warning for the learner. ``to_query`` writes the shortest link, and
``parse_query(to_query(s)) == (s, [])`` for every consistent ``s`` (see
``settings.reconcile``). ``to_link`` percent-encodes it, so a formula's ``+`` survives.

What the fields are, their defaults and ranges, and how they are made to agree is
``losslab.settings``; this module only reads and writes text.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from urllib.parse import quote, urlencode

from losslab.limits import MAX_FORMULA_CHARS
from losslab.settings import (
    FIELD,
    FIELDS,
    SURFACES,
    TWO_WEIGHT_OPENING,
    TWO_WEIGHT_VIEWS,
    Field,
    Notes,
    Settings,
    baseline,
    formula_problem,
    implied_network,
    implied_rates,
    implied_start,
    implied_surface_settings,
    implied_view,
    normal,
    number_text,
    opening_of,
    quoted,
    repair,
)

__all__ = ["MAX_VALUE_CHARS", "parse_query", "to_link", "to_query"]

MAX_VALUE_CHARS = MAX_FORMULA_CHARS
"""Longer link values are rejected unread (the longest formula is as long)."""

# Added to shared links by mail and social sites, or reserved by Streamlit: not ours to judge.
_FOREIGN_KEYS = frozenset({"embed", "embed_options", "fbclid", "gclid", "mc_cid", "mc_eid"})
# Plain decimals only: no "inf"/"nan", "1_000", "0x10", spaces or non-ASCII digits.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BY_KEY: Mapping[str, Field] = MappingProxyType({f.key: f for f in FIELDS})
_BY_SPELLING: Mapping[str, str] = MappingProxyType({
    **{f.name.lower(): f.key for f in FIELDS}, **{f.key.lower(): f.key for f in FIELDS},
    "optimizer": "opt", "optimiser": "opt", "optimisers": "opt", "dataset": "data",
})
"""A link key as a hand-written link may spell it (a field's name, any case) → its key."""


def _guess(key: str) -> str:
    """'; did you mean "data"?' for a key close to one of ours (``dataset``), else ''."""
    close = difflib.get_close_matches(key.lower()[:40], list(_BY_SPELLING), n=1, cutoff=0.75)
    return f'; did you mean "{_BY_SPELLING[close[0]]}"?' if close else ""


def _closest(name: str, choices: Sequence[str]) -> str:
    """'; did you mean "six_hump_camel"?' for a value close to one of ``choices`` (a typo, or
    spaces and hyphens for underscores), else ''."""
    spelt = re.sub(r"[\s-]+", "_", name.strip().lower())[:40]
    close = difflib.get_close_matches(spelt, list(choices), n=1, cutoff=0.75)
    return f'; did you mean "{close[0]}"?' if close else ""


class _Invalid(Exception):
    """A link value that cannot be used; its message is the learner's warning."""


def _number(f: Field, text: str, notes: Notes, shown: str) -> float | int:
    kind_is_int = f.kind in ("int", "ints")
    if kind_is_int and _DECIMAL.fullmatch(text) and not _INTEGER.fullmatch(text):
        raise _Invalid(f'Ignored {f.key}="{shown}": write it as a whole number, like 10.')
    if not (_INTEGER if kind_is_int else _DECIMAL).fullmatch(text):
        example = "10" if kind_is_int else "0.05 or 1e-3"
        raise _Invalid(f'Ignored {f.key}="{shown}": not a number (write it like {example}).')
    value: float | int = int(text) if kind_is_int else float(text)
    if not math.isfinite(value):
        raise _Invalid(f'Ignored {f.key}="{shown}": the number is too large.')
    if not f.low <= value <= f.high:
        value = min(max(value, f.low), f.high)
        notes.add(f'{f.label} in the link ({f.key}="{shown}") is outside the allowed range '
                  f"{number_text(f.low)} to {number_text(f.high)}, "
                  f"so {number_text(normal(f, value))} was used.")
    return normal(f, value)


def _menu(f: Field) -> str:
    """The choices of ``f`` in a warning; a long list is left to the app's menu."""
    if len(f.choices) <= 8:
        return f"choose one of {', '.join(f.choices)}"
    return f"choose one from the {f.label.lower()} menu"


def _parse_value(f: Field, text: str, notes: Notes) -> object:
    """The value of ``f`` written as ``text`` in a link; raises ``_Invalid`` if unusable."""
    shown = quoted(text)
    if text == "":
        raise _Invalid(f'Ignored "{f.key}": it has no value.')
    if len(text) > MAX_VALUE_CHARS:
        raise _Invalid(f'Ignored "{f.key}": its value is {len(text)} characters long; '
                       f"the limit is {MAX_VALUE_CHARS}.")
    if f.kind in ("float", "int"):
        return _number(f, text, notes, shown)
    if f.kind == "bool":
        if text not in ("0", "1"):
            raise _Invalid(f'Ignored {f.key}="{shown}": write 1 for on or 0 for off.')
        return text == "1"
    if f.kind == "text":
        problem = formula_problem(text)
        if problem:
            raise _Invalid(f"Ignored the formula ({f.key}): {problem}.")
        return text
    if f.kind == "choice":
        name = text.strip().lower()
        if name not in f.choices:
            guess = _closest(name, f.choices)
            raise _Invalid(f'Ignored {f.key}="{shown}": not a known {f.label.lower()}'
                           + (guess or f"; {_menu(f)}."))
        return name
    items = text.split(",")
    if len(items) > f.max_items:
        notes.add(f'{f.key}="{shown}" lists {len(items)} values; only the first '
                  f"{f.max_items} were used.")
        items = items[: f.max_items]
    if f.kind != "names":
        return tuple(_number(f, i, notes, shown) for i in items)
    names = [i.strip().lower() for i in items]
    unknown = [i for i in names if i not in f.choices]
    if unknown:
        guess = _closest(unknown[0], f.choices)
        notes.add(f'Ignored the unknown name "{quoted(unknown[0])}" in {f.key}'
                  + (guess or f"; {_menu(f)}."))
    kept = tuple(i for i in names if i in f.choices)
    if not kept:
        raise _Invalid(f'Ignored {f.key}="{shown}": no known names in it.')
    return kept


def parse_query(query: Mapping[str, str | list[str]]) -> tuple[Settings, list[str]]:
    """The settings a link describes, and warnings (plain words) for what had to be repaired.

    ``query`` maps URL keys to values, as Streamlit's ``st.query_params`` gives them; pass
    ``{k: st.query_params.get_all(k) for k in st.query_params}`` so repeated keys are seen
    (the last value wins). Never raises for any mapping of strings; the result is consistent.
    """
    notes = Notes()
    texts: dict[str, str] = {}
    for key, value in query.items():
        key = str(key)
        if key.lower() in _FOREIGN_KEYS or key.lower().startswith("utm_"):
            continue
        f = _BY_KEY.get(key)
        if f is None:
            # The guess only for a warning that is shown: a link of thousands of unknown
            # keys must cost no more than reading them.
            guess = "" if notes.full else _guess(key)
            notes.add(f'Ignored "{quoted(key)}": this app has no setting with that name'
                      f"{guess or '.'}")
            continue
        if isinstance(value, (list, tuple)):
            if len(value) > 1:
                notes.add(f'The link sets "{key}" {len(value)} times; the last one was used.')
            value = value[-1] if value else ""
        if not isinstance(value, str):
            notes.add(f'Ignored "{key}": its value is not text.')
            continue
        texts[f.name] = value

    base = Settings()
    if "lesson" in texts:
        text = texts.pop("lesson")
        try:
            base = baseline(_parse_value(FIELD["lesson"], text, notes))
        except _Invalid as problem:
            notes.add(str(problem))
        except ValueError:  # a preset the installed surfaces or optimisers cannot build
            notes.add(f'The lesson "{quoted(text)}" cannot be opened here, so it was skipped.')
    values: dict[str, object] = {}
    for name, text in texts.items():
        try:
            values[name] = _parse_value(FIELD[name], text, notes)
        except _Invalid as problem:
            notes.add(str(problem))
    one_weight = getattr(SURFACES.get(base.surface), "dim", None) == 1
    if values.get("view") in TWO_WEIGHT_VIEWS and "surface" not in values and one_weight:
        # "?view=sweep" alone: the view opens on a two-weight surface, as the sidebar's view
        # switch does, instead of falling back to the one-weight lesson without a word.
        values["surface"] = TWO_WEIGHT_OPENING
    settings = repair(dataclasses.replace(base, **values), base, set(values), notes)
    return settings, notes.final()


def _as_text(f: Field, value: object) -> str:
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind in ("floats", "ints", "names"):
        return ",".join(v if isinstance(v, str) else number_text(v) for v in value)
    return value if isinstance(value, str) else number_text(value)


def to_query(settings: Settings) -> dict[str, str]:
    """The shortest link to ``settings``: only values that differ from the baseline of its
    lesson (``lesson`` itself only when it is not the default), in ``FIELDS`` order."""
    base = baseline(settings.lesson)
    implied = {
        "start": implied_start(settings.surface, base),
        "learning_rates": implied_rates(settings, base),
        "view": implied_view(settings.surface, base),
        **implied_surface_settings(settings.surface, base),
    }
    opening = opening_of(settings.surface, settings) if settings.surface != base.surface else {}
    runs = ("optimizers", "learning_rates", "starts")
    if opening and all(getattr(settings, k) == opening[k] for k in runs):
        implied.update(opening)  # the surface's own runs: the link need not spell them out
    elif opening:
        # Other runs than the story's: the link names them (a link without ``opt`` means the
        # story's runs).
        implied.update({k: v for k, v in opening.items() if k in ("start", "steps")})
        implied["optimizers"] = None
    # As ``parse_query`` reads a link: a surface's opening, when it has one, says what the
    # left-out run fields are; only without one does the network view's training.
    network = implied_network(settings, base, set()) if not opening else {}
    if network and all(getattr(settings, k) == v for k, v in network.items()
                       if k != "steps"):
        implied.update(network)
    elif network:
        implied.update(steps=network["steps"], optimizers=None)
    out = {}
    if settings.lesson != FIELD["lesson"].default:
        out["lesson"] = settings.lesson
    for f in FIELDS:
        if f.name == "lesson":
            continue
        value = getattr(settings, f.name)
        if value != implied.get(f.name, getattr(base, f.name)):
            out[f.key] = _as_text(f, value)
    return out


def to_link(settings: Settings, base_url: str = "") -> str:
    """The page's address for ``settings``: ``base_url`` (anything after a ``?`` dropped) and
    ``to_query`` percent-encoded — a formula's ``+``, ``^`` or spaces survive the trip; commas
    stay readable."""
    query = to_query(settings)
    base = base_url.split("?")[0]
    if not query:
        return base
    return base + "?" + urlencode(query, safe=",", quote_via=quote)
