"""Small pieces that run in the learner's browser: presenter styling, playback and step keys.

Everything here is static text written by us — no user input is ever put into it. Playback
moves the chart's own Step slider (a Vega-Lite parameter bound to a range input), so playing
and scrubbing never send anything to the server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import streamlit as st

from losslab.charts import Control

_PRESENTER_CSS = """
<div class="losslab-presenter" hidden></div>
<style>
  .stMainBlockContainer { padding-top: 1.5rem; max-width: 1280px; }
  .stMarkdown p, .stMarkdown li, .stCaption { font-size: 1.25rem !important; }
  /* A lesson's answers are read off the projector by the room: as large as its prose. */
  [data-testid="stMain"] [data-testid="stRadioOption"] p { font-size: 1.25rem !important; }
  .vega-bindings { font-size: 1.15rem; }
  .vega-bindings input[type=range] { width: 360px; }
</style>
"""

# Arrow keys (outside text fields) and the Play button move the first "Step" slider on the
# page one step at a time; Play advances it on a timer until the last step.
_PLAYBACK_JS = """
<div class="losslab-playback" style="display:flex;gap:.5rem;align-items:center;margin:.25rem 0">
  <button type="button" data-act="play" aria-label="Play or pause the run"
          style="padding:.2rem .8rem;border-radius:.4rem;border:1px solid #bbb;background:#fff">
    ▶ Play</button>
  <label style="font-size:.9rem">speed
    <select data-act="speed" aria-label="Playback speed">
      <option value="400">slow</option><option value="150" selected>normal</option>
      <option value="50">fast</option>
    </select></label>
  <span style="font-size:.85rem;color:#555">or press ← / → to step</span>
</div>
<script>
(() => {
  // The step's input: Vega's own binding or the panels' shared one, both named "step".
  const stepInput = () => document.querySelector('.vega-bindings input[type=range][name="step"]');
  const move = (delta, wrap) => {
    const input = stepInput();
    if (!input) return false;
    const max = Number(input.max), min = Number(input.min);
    let next = Number(input.value) + delta;
    if (next > max) { if (!wrap) return false; next = min; }
    input.value = Math.max(min, next);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    return next < max;
  };
  const root = document.currentScript ? document.currentScript.previousElementSibling : null;
  const boxes = document.querySelectorAll('.losslab-playback');
  const box = root || boxes[boxes.length - 1];
  if (box && !box.dataset.ready) {
    box.dataset.ready = '1';
    const button = box.querySelector('[data-act=play]');
    const speed = box.querySelector('[data-act=speed]');
    let timer = null;
    const stop = () => { clearInterval(timer); timer = null; button.textContent = '▶ Play'; };
    button.addEventListener('click', () => {
      if (timer) return stop();
      const input = stepInput();
      if (input && Number(input.value) >= Number(input.max)) {
        input.value = input.min; input.dispatchEvent(new Event('input', {bubbles: true}));
      }
      button.textContent = '❚❚ Pause';
      timer = setInterval(() => { if (!move(1, false)) stop(); }, Number(speed.value));
    });
  }
  if (!window.__losslabKeys) {
    window.__losslabKeys = true;
    document.addEventListener('keydown', (e) => {
      const t = e.target;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)
                || t.getAttribute('role') === 'slider')) return;
      if (e.key === 'ArrowRight') { move(1, false); }
      else if (e.key === 'ArrowLeft') { move(-1, false); }
    });
  }
})();
</script>
"""


# Every chart is drawn at the size its spec gives (the server does not know the window, and a
# spec that kept its shape lets the browser take new rows in place); here, in the browser, each
# figure is then scaled to its column: down to fit a narrow column or a phone, up to FIT_MAX on a
# wide desktop, and in presenter mode also down to the window's height. Vega draws SVG with a
# viewBox, so a scaled figure stays sharp and Vega still maps the pointer through the scaling
# (getScreenCTM). A canvas (Vega's choice for very many inline rows) is only ever scaled down.
FIT_MAX = 1.35
"""The largest factor a figure is enlarged by to fill a wide column (text 11 px → 15 px)."""
PHONE_WIDTH = 700
"""Below this window width (px) figures are never enlarged."""

_FIT_JS = """
<script>
(() => {
  if (window.__losslabFit) return;
  window.__losslabFit = true;
  const MAX = __MAX__, PHONE = __PHONE__;
  // A figure's size in its spec, and the block whose width it may take.
  const measure = (chart) => {
    const svg = chart.querySelector('svg.marks');
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal) return null;
    const w = svg.viewBox.baseVal.width, h = svg.viewBox.baseVal.height;
    const block = chart.closest('[data-testid="stVerticalBlock"]') || chart.parentElement;
    if (!w || !h || !block) return null;
    if (!watched.has(block)) { watched.add(block); resized.observe(block); }
    if (!block.clientWidth) return null;  // hidden (a folded panel): fitted when it opens
    return {svg, w, h, block};
  };
  const apply = ({svg, w, h}, scale) => {
    const width = Math.floor(w * scale) + 'px', height = Math.floor(h * scale) + 'px';
    if (svg.style.width !== width) svg.style.width = width;
    if (svg.style.height !== height) svg.style.height = height;
  };
  // In presenter mode the panels of one figure (side by side in a row) share one height
  // limit, the tallest one's: the figure fits the projector whole and its panels read at one
  // size (a tall map was drawn smaller than the loss charts beside it, which overflowed).
  const presenterLimit = (charts) => {
    const rows = new Map();
    charts.forEach(chart => {
      const m = measure(chart);
      if (!m) return;
      const row = chart.closest('[data-testid="stHorizontalBlock"]') || chart;
      rows.set(row, Math.min(rows.get(row) ?? Infinity, (window.innerHeight - 56) / m.h));
    });
    return (chart) => rows.get(chart.closest('[data-testid="stHorizontalBlock"]') || chart);
  };
  const fitOne = (chart, narrow, limit) => {
    const m = measure(chart);
    if (!m) return;
    let scale = Math.min(m.block.clientWidth / m.w, narrow ? 1 : MAX);
    if (limit) scale = Math.min(scale, limit(chart) ?? Infinity);
    apply(m, scale);
  };
  let queued = false;
  const watched = new WeakSet();
  const resized = new ResizeObserver(() => fit());
  const fit = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      const narrow = window.innerWidth < PHONE;
      const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
      const limit = document.querySelector('.losslab-presenter') ? presenterLimit(charts) : null;
      charts.forEach(chart => fitOne(chart, narrow, limit));
    });
  };
  // A new chart, or a chart whose size changed (a longer legend): only those mutations count,
  // so the many small changes of a scrub cost nothing here.
  const chartAdded = (r) => !(r.target instanceof SVGElement) && [...r.addedNodes].some(
    n => n.nodeType === 1 && (n.matches('svg.marks') || n.querySelector('svg.marks')));
  new MutationObserver((records) => {
    if (records.some(r => r.type === 'attributes' || chartAdded(r))) fit();
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['viewBox']});
  window.addEventListener('resize', fit);
  fit();
})();
</script>
""".replace("__MAX__", str(FIT_MAX)).replace("__PHONE__", str(PHONE_WIDTH))

# A canvas, and anything before the script runs, is kept inside the page on a phone. Columns of
# charts (a figure's panels) stack from PHONE_WIDTH down, not only below Streamlit's 640 px.
_NARROW_CSS = """
<style>
  .st-key-formula-narrow { display: none !important; }
  @media (max-width: 700px) {
    /* A formula a phone can read whole: a little smaller, in shorter lines where it has them. */
    .katex-display > .katex { font-size: 1em; }
    .st-key-formula-wide { display: none !important; }
    .st-key-formula-narrow { display: flex !important; }
    [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]
                                          [data-testid="stVegaLiteChart"]) { flex-wrap: wrap; }
    [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]
                                          [data-testid="stVegaLiteChart"])
      > [data-testid="stColumn"] { min-width: 100%; }
    [data-testid="stVegaLiteChart"] { max-width: 100%; overflow: hidden; }
    [data-testid="stVegaLiteChart"] canvas { max-width: 100% !important; height: auto !important; }
    .vega-bindings input[type=range] { max-width: 45vw; }
  }
</style>
"""


def page_style() -> None:
    """Figures fitted to their column (and to a phone) in the browser."""
    st.html(_NARROW_CSS + _FIT_JS, unsafe_allow_javascript=True)


def presenter_style() -> None:
    st.html(_PRESENTER_CSS)


# The inputs a figure drawn as separate panels shares (``charts.shared_controls``): every
# panel's parameter listens to one of these. They are written as Vega writes its own
# bindings (a "vega-bindings" form of labelled ranges), so playback, the step keys, the share
# link and the hidden rung numbers find them as they find a single chart's controls.
_CONTROLS_CSS = """
<style>
  /* One grid for every row, so the sliders line up whatever their labels' lengths. */
  .losslab-controls { display: grid; align-items: center; column-gap: .5rem; row-gap: .35rem;
                      grid-template-columns: minmax(6em, max-content) minmax(5em, 14em) 3em;
                      margin: .25rem 0; font-size: .875rem; }
  .losslab-controls .vega-bind, .losslab-controls .vega-bind label { display: contents; }
  .losslab-controls .vega-bind-name { cursor: pointer; }
  .losslab-controls input[type=range] { width: 100%; max-width: none; min-width: 5em; margin: 0;
                                        accent-color: #1c83e1; cursor: pointer; }
  .losslab-controls input[type=range] + span { opacity: .7; }
  /* On a phone each label heads its own row: the slider gets the width a finger needs. */
  @media (max-width: 700px) {
    .losslab-controls { grid-template-columns: minmax(5em, 1fr) 2.5em; row-gap: .15rem; }
    .losslab-controls .vega-bind-name { grid-column: 1 / -1; margin-top: .3rem; }
  }
</style>
"""

# Each input's number follows it, as in Vega's own bindings; Enter never submits the form.
_CONTROLS_JS = """
<script>
(() => {
  const form = document.currentScript && document.currentScript.previousElementSibling;
  if (!form) return;
  form.addEventListener('submit', (e) => e.preventDefault());
  form.addEventListener('input', (e) => {
    const shown = e.target && e.target.nextElementSibling;
    if (shown) shown.textContent = e.target.value;
  });
})();
</script>
"""


def controls_html(controls: Sequence[Control]) -> str:
    """The shared inputs as HTML, without their labels (``controls_labels``): names and ids
    are ours, and nothing a learner typed is in it."""
    rows = "".join(
        f'<div class="vega-bind" id="{c.element}-row"><label>'
        f'<span class="vega-bind-name" id="{c.element}-name"></span>'
        f'<input type="range" id="{c.element}" name="{c.name}" '
        f'min="{c.minimum}" max="{c.maximum}" step="1" value="{c.value}">'
        f"<span>{c.value}</span></label></div>"
        for c in controls)
    return f'<form class="vega-bindings losslab-controls">{rows}</form>'


def _css_text(text: str) -> str:
    """``text`` as a CSS string (quotes, backslashes and line breaks escaped)."""
    escaped = "".join(ch if ch.isalnum() or ch in " :.,()-+=/" else f"\\{ord(ch):x} "
                      for ch in text)
    return f'"{escaped}"'


def controls_labels(controls: Sequence[Control]) -> str:
    """The inputs' labels, as a style of their own: a run that changes optimiser changes
    its labels here while the inputs (``controls_html``) stay the same elements, so the
    charts bound to them keep their views and only take new rows. An unlabelled control
    (the decay of a run without one) is hidden."""
    rules = []
    for c in controls:
        if c.label.strip():
            rules.append(f"#{c.element}-name::before {{ content: {_css_text(c.label)}; }}")
        else:
            rules.append(f"#{c.element}-row {{ display: none; }}")
    return "<style>\n" + "\n".join(rules) + "\n</style>"


def shared_controls(controls: Sequence[Control]) -> None:
    """The step (with play/pause and the arrow keys) and each run's rate and decay (their
    rungs' numbers hidden), drawn once for every panel of a figure: written before the
    panels so the inputs exist when each chart binds to them. Their labels come in a style of
    their own (``controls_labels``), so the inputs' element is only redrawn when the inputs
    themselves change."""
    st.html(controls_labels(controls))
    st.html(_CONTROLS_CSS + _RATE_CONTROLS_CSS + controls_html(controls) + _CONTROLS_JS
            + _PLAYBACK_JS, unsafe_allow_javascript=True)



# A run's rate control moves over the rungs of its window; the rung's number means nothing to a
# learner (the legend under the chart names the rate), so the binding's value is hidden.
_RATE_CONTROLS_CSS = """
<style>
  .vega-bind input[name^="lr_"] ~ span, .vega-bind input[name^="beta_"] ~ span
    { visibility: hidden; }
</style>
"""


def rate_hint() -> None:
    """One line under a figure whose runs carry their own learning-rate controls (drawn by
    ``shared_controls``)."""
    st.caption(
        "Move a run's *learning rate* control under the chart to try other rates at once: "
        "its path, its curves and its outcome follow in your browser. The sidebar's rate is "
        "the centre of each range; *Share this view* keeps the rates on screen."
    )


# The share link of a page whose runs have rate controls: built here, in the browser, from the
# rates on screen (and the step), so sharing what one sees needs no message to the server.
# Everything it reads is ours: the page's query (JSON, "<" escaped) and the windows' rates.
_SHARE_JS = """
<div class="losslab-share" style="font-size:.85rem">
  <code class="losslab-link" style="word-break:break-all;display:block;margin-bottom:.4rem"></code>
  <button type="button" class="losslab-copy"
          style="padding:.15rem .6rem;border-radius:.4rem;border:1px solid #bbb;background:#fff">
    Copy</button>
  <a class="losslab-open" target="_top" style="margin-left:.6rem">Open this view</a>
</div>
<script type="application/json" class="losslab-share-data">__DATA__</script>
<script>
(() => {
  const boxes = document.querySelectorAll('.losslab-share');
  const box = boxes[boxes.length - 1];
  const data = JSON.parse(box.nextElementSibling.textContent);
  const link = () => {
    const query = new URLSearchParams(data.query);
    const rates = data.windows.map((rates, k) => {
      const input = document.querySelector(`.vega-bindings input[name="lr_${k + 1}"]`);
      const i = input ? Number(input.value) : data.chosen[k];
      return rates[Math.max(0, Math.min(rates.length - 1, i))];
    });
    const same = rates.every(r => r === rates[0]);
    if (rates.length) query.set('lr', same ? rates[0] : rates.join(','));
    const step = document.querySelector('.vega-bindings input[name="step"]');
    if (step && Number(step.value) < Number(step.max)) query.set('step', step.value);
    else query.delete('step');
    const text = query.toString().replace(/%2C/g, ',');
    return data.base + (text ? '?' + text : '');
  };
  const show = () => {
    const url = link();
    box.querySelector('.losslab-link').textContent = url;
    box.querySelector('.losslab-open').href = url;
  };
  box.querySelector('.losslab-copy').addEventListener('click', () => {
    const url = link();
    if (navigator.clipboard) navigator.clipboard.writeText(url);
  });
  document.addEventListener('input', (e) => {
    if (e.target && e.target.closest && e.target.closest('.vega-bindings')) show();
  });
  show();
  setTimeout(show, 1500);
})();
</script>
"""


def share_link(base: str, query: dict[str, str], windows: list[list[str]],
               chosen: list[int]) -> None:
    """The page's link with the learning rates the chart's controls show (``windows``: each
    run's rates as link text; ``chosen``: the rung each starts at), kept up to date and
    ready to copy, in the browser."""
    data = json.dumps({"base": base, "query": query, "windows": windows, "chosen": chosen})
    st.html(_SHARE_JS.replace("__DATA__", data.replace("<", "\\u003c")),
            unsafe_allow_javascript=True)
