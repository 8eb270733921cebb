"""Small pieces that run in the learner's browser: presenter styling, playback and step keys.

Everything here is static text written by us — no user input is ever put into it. Playback
moves the chart's own Step slider (a Vega-Lite parameter bound to a range input), so playing
and scrubbing never send anything to the server.
"""

from __future__ import annotations

import streamlit as st

_PRESENTER_CSS = """
<style>
  .stMainBlockContainer { padding-top: 1.5rem; max-width: 1280px; }
  .stMarkdown p, .stMarkdown li, .stCaption { font-size: 1.25rem !important; }
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
  const stepInput = () => [...document.querySelectorAll('.vega-bindings label')]
    .filter(l => l.textContent.trim().startsWith('Step'))
    .map(l => l.querySelector('input[type=range]')).find(Boolean);
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


def presenter_style() -> None:
    st.html(_PRESENTER_CSS)


def playback_controls() -> None:
    """Play/pause and keyboard stepping for the chart drawn just above."""
    st.html(_PLAYBACK_JS, unsafe_allow_javascript=True)



def rate_hint() -> None:
    """One line under a chart whose runs carry their own learning-rate controls."""
    st.caption(
        "Move a run's *learning rate* control under the chart to try other rates at once: "
        "its path, its curves and its outcome follow in your browser. The sidebar's rate is "
        "the centre of each range; *Share this view* keeps the rates on screen."
    )
