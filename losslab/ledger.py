"""The update ledger: one step of a run written out as its equations with the numbers filled in.

``explain_step(history, optimizer, step)`` returns a ``Ledger``: the lines of update ``step``
(which took iterate ``step - 1`` to iterate ``step``), each a ``LedgerLine(label, latex, value)``
— a plain-words label, the equation as LaTeX with that step's numbers, and the line's result
as an array. ``to_latex(ledger)`` joins the lines into one ``aligned`` block for ``st.latex``
or a notebook. Every number is read from the ``History`` (gradient, learning rate, recorded
state, Hessian, iterates), so the ledger shows what the run did, not a re-run of it.

Symbols follow the optimisers' docstrings: g_t = ∇L(w_{t-1}), η_t the scheduled rate,
μ momentum and β1 β2 ε Adam's (μ and β1 are this update's when a schedule moves them), ρ
RMSProp's decay, λ AdamW's weight decay, δ Newton's damping.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from losslab.descent import History
from losslab.optimizers import Optimizer

Array = np.ndarray

__all__ = ["LedgerLine", "Ledger", "explain_step", "to_latex"]


class LedgerLine(NamedTuple):
    """One line: ``label`` in plain words, ``latex`` the equation with numbers, ``value``."""

    label: str
    latex: str
    value: Array


class Ledger(NamedTuple):
    """The lines of one update of one optimiser."""

    optimizer: str
    step: int
    lines: tuple[LedgerLine, ...]


def _num(x: float) -> str:
    """A number as LaTeX: 4 significant digits, powers of ten written out."""
    x = float(x)
    if not math.isfinite(x):
        return r"\text{" + str(x) + "}"
    text = f"{x:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _vec(v: Array) -> str:
    """A vector as LaTeX: a bare number in 1-D, a row ``(a,\\ b)`` otherwise."""
    v = np.asarray(v, dtype=float).reshape(-1)
    if v.size == 1:
        return _num(v[0])
    return r"\left(" + r",\ ".join(_num(x) for x in v) + r"\right)"


def _squares(g: Array) -> str:
    """``_vec(g * g)``, except that a square beyond float range (|g| > ~1.3e154, which the
    optimiser's state can still hold once scaled by 1 - beta) is written from its logarithm,
    never as inf."""
    parts = []
    for x in np.asarray(g, dtype=float).reshape(-1):
        square = float(x) * float(x)
        if math.isfinite(square):
            parts.append(_num(square))
        else:
            exponent = 2.0 * math.log10(abs(float(x)))
            power = math.floor(exponent)
            parts.append(rf"{10.0 ** (exponent - power):.4g} \times 10^{{{power}}}")
    if len(parts) == 1:
        return parts[0]
    return r"\left(" + r",\ ".join(parts) + r"\right)"


def _op(v: Array) -> str:
    """``_vec`` for an operand after ·, + or /: a negative bare number gets brackets."""
    text = _vec(v)
    return rf"\left({text}\right)" if text.startswith("-") else text


def _mat(h: Array) -> str:
    rows = [" & ".join(_num(x) for x in row) for row in np.atleast_2d(h)]
    return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"


def _state(history: History, name: str, index: int) -> Array:
    if name not in history.state:
        raise ValueError(f"this history has no recorded {name!r}; was it run with this optimizer?")
    return history.state[name][index]


def _momentum(opt: Optimizer, h: History, t: int, name: str) -> float:
    """The momentum-like ``name`` that update t used: the schedule's, else the optimiser's."""
    if h.momentum is not None and opt.momentum_param == name:
        return float(h.momentum[t - 1])
    return float(opt.hyperparams[name])


def _sgd_lines(opt: Optimizer, h: History, t: int, g: Array, lr: float) -> list[LedgerLine]:
    mu = _momentum(opt, h, t, "momentum")
    if mu == 0.0:
        return [LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} g_{{{t}}} = "
                           rf"-{_num(lr)} \cdot {_op(g)} = {_vec(-lr * g)}", -lr * g)]
    b = _state(h, "velocity", t)
    if t == 1:
        lines = [LedgerLine("velocity (starts as the first gradient)",
                            rf"b_{{1}} = g_{{1}} = {_vec(b)}", b)]
    else:
        b_prev = _state(h, "velocity", t - 1)
        lines = [LedgerLine("velocity", rf"b_{{{t}}} = \mu b_{{{t - 1}}} + g_{{{t}}} = "
                            rf"{_num(mu)} \cdot {_op(b_prev)} + {_op(g)} = {_vec(b)}", b)]
    if opt.hyperparams.get("nesterov"):
        d = g + mu * b
        lines.append(LedgerLine("Nesterov direction", rf"d_{{{t}}} = g_{{{t}}} + \mu b_{{{t}}} = "
                                rf"{_vec(g)} + {_num(mu)} \cdot {_op(b)} = {_vec(d)}", d))
        lines.append(LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} d_{{{t}}} = "
                                rf"-{_num(lr)} \cdot {_op(d)} = {_vec(-lr * d)}", -lr * d))
    else:
        lines.append(LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} b_{{{t}}} = "
                                rf"-{_num(lr)} \cdot {_op(b)} = {_vec(-lr * b)}", -lr * b))
    return lines


def _scaled_lines(
    opt: Optimizer, h: History, t: int, g: Array, lr: float, key: str
) -> list[LedgerLine]:
    """AdaGrad (``key="sum_sq"``) and RMSProp (``key="square_avg"``)."""
    eps = float(opt.hyperparams["eps"])
    acc, acc_prev = _state(h, key, t), _state(h, key, t - 1)
    if key == "sum_sq":
        symbol = "s"
        line = LedgerLine("sum of squared gradients", rf"s_{{{t}}} = s_{{{t - 1}}} + g_{{{t}}}^2 = "
                          rf"{_vec(acc_prev)} + {_squares(g)} = {_vec(acc)}", acc)
    else:
        symbol, rho = "a", float(opt.hyperparams["decay"])
        line = LedgerLine(
            "average of squared gradients",
            rf"a_{{{t}}} = \rho a_{{{t - 1}}} + (1 - \rho) g_{{{t}}}^2 = {_num(rho)} \cdot "
            rf"{_vec(acc_prev)} + {_num(1 - rho)} \cdot {_squares(g)} = {_vec(acc)}",
            acc,
        )
    denom = np.sqrt(acc) + eps
    step = -lr * (g / denom)
    return [
        line,
        LedgerLine("denominator", rf"\sqrt{{{symbol}_{{{t}}}}} + \epsilon = "
                   rf"{_vec(np.sqrt(acc))} + {_num(eps)} = {_vec(denom)}", denom),
        LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} \, g_{{{t}}} / (\sqrt{{{symbol}_{{{t}}}}}"
                   rf" + \epsilon) = -{_num(lr)} \cdot {_op(g)} / {_op(denom)} = {_vec(step)}",
                   step),
    ]


def _adam_lines(opt: Optimizer, h: History, t: int, g: Array, lr: float) -> list[LedgerLine]:
    b1, b2 = _momentum(opt, h, t, "beta1"), float(opt.hyperparams["beta2"])
    eps = float(opt.hyperparams["eps"])
    m, v = _state(h, "m", t), _state(h, "v", t)
    m_prev, v_prev = _state(h, "m", t - 1), _state(h, "v", t - 1)
    m_hat, v_hat = _state(h, "m_hat", t), _state(h, "v_hat", t)
    bias1, bias2 = 1.0 - b1**t, 1.0 - b2**t
    denom = np.sqrt(v_hat) + eps
    adam_step = -lr * (m_hat / denom)
    lines = [
        LedgerLine("first moment", rf"m_{{{t}}} = \beta_1 m_{{{t - 1}}} + (1 - \beta_1) g_{{{t}}}"
                   rf" = {_num(b1)} \cdot {_op(m_prev)} + {_num(1 - b1)} \cdot {_op(g)}"
                   rf" = {_vec(m)}", m),
        LedgerLine("second moment", rf"v_{{{t}}} = \beta_2 v_{{{t - 1}}} + (1 - \beta_2)"
                   rf" g_{{{t}}}^2 = {_num(b2)} \cdot {_op(v_prev)} + {_num(1 - b2)} \cdot "
                   rf"{_squares(g)} = {_vec(v)}", v),
        LedgerLine("bias correction of m", rf"\hat m_{{{t}}} = m_{{{t}}} / (1 - \beta_1^{{{t}}})"
                   rf" = {_vec(m)} / {_num(bias1)} = {_vec(m_hat)}", m_hat),
        LedgerLine("bias correction of v", rf"\hat v_{{{t}}} = v_{{{t}}} / (1 - \beta_2^{{{t}}})"
                   rf" = {_vec(v)} / {_num(bias2)} = {_vec(v_hat)}", v_hat),
        LedgerLine("denominator", rf"\sqrt{{\hat v_{{{t}}}}} + \epsilon = {_vec(np.sqrt(v_hat))}"
                   rf" + {_num(eps)} = {_vec(denom)}", denom),
    ]
    if opt.kind == "adam":
        lines.append(LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} \hat m_{{{t}}} / (\sqrt{{\hat "
                                rf"v_{{{t}}}}} + \epsilon) = -{_num(lr)} \cdot {_op(m_hat)} / "
                                rf"{_vec(denom)} = {_vec(adam_step)}", adam_step))
        return lines
    wd = float(opt.hyperparams["weight_decay"])
    w_prev = h.params[t - 1]
    decay = -lr * wd * w_prev
    step = decay + adam_step
    lines += [
        LedgerLine("weight decay", rf"-\eta_{{{t}}} \lambda w_{{{t - 1}}} = -{_num(lr)} \cdot "
                   rf"{_num(wd)} \cdot {_op(w_prev)} = {_vec(decay)}", decay),
        LedgerLine("Adam part", rf"-\eta_{{{t}}} \hat m_{{{t}}} / (\sqrt{{\hat v_{{{t}}}}} + "
                   rf"\epsilon) = -{_num(lr)} \cdot {_op(m_hat)} / {_op(denom)} = "
                   rf"{_vec(adam_step)}", adam_step),
        LedgerLine("step", rf"\Delta w = {_vec(decay)} + {_op(adam_step)} = {_vec(step)}", step),
    ]
    return lines


def _newton_lines(opt: Optimizer, h: History, t: int, g: Array, lr: float) -> list[LedgerLine]:
    if h.hessian is None:
        raise ValueError("this history has no recorded Hessian; was it run with Newton?")
    hess = h.hessian[t - 1]
    damping = float(opt.hyperparams["damping"])
    curvature = np.linalg.eigvalsh((hess + hess.T) / 2.0)
    shape = "a bowl" if curvature.min() > 0 else (
        "a saddle: Newton heads for it" if curvature.max() > 0 else "no bowl: not a descent step"
    )
    direction = np.linalg.lstsq(hess + damping * np.eye(len(g)), g, rcond=None)[0]
    step = -lr * direction
    return [
        LedgerLine("Hessian", rf"H_{{{t}}} = \nabla^2 L(w_{{{t - 1}}}) = {_mat(hess)}", hess),
        LedgerLine(f"curvature ({shape})", rf"\operatorname{{eig}}(H_{{{t}}}) = {_vec(curvature)}",
                   curvature),
        LedgerLine("Newton direction", rf"d_{{{t}}} = (H_{{{t}}} + \delta I)^{{+}} g_{{{t}}} = "
                   rf"{_vec(direction)}", direction),
        LedgerLine("step", rf"\Delta w = -\eta_{{{t}}} d_{{{t}}} = -{_num(lr)} \cdot "
                   rf"{_vec(direction)} = {_vec(step)}", step),
    ]


def explain_step(history: History, optimizer: Optimizer, step: int) -> Ledger:
    """The ledger of update ``step`` (1 ≤ step ≤ len(history) − 1) of ``optimizer``'s run.

    Lines: the learning rate, the momentum or β1 when the schedule set it (one-cycle), the
    gradient used (the mini-batch one in mini-batch runs), the
    optimiser's own lines (velocity; sums; moments, bias corrections and denominator; weight
    decay; Hessian, curvature and Newton direction), the step Δw and the new weights. Raises
    ``ValueError`` for a step outside the run or a history not made by this optimiser's kind.
    """
    n = len(history)
    if isinstance(step, bool) or int(step) != step or not 1 <= step <= n - 1:
        kept = f"updates 1 to {n - 1} were kept" if n > 1 else "no update was kept"
        raise ValueError(f"step {step} is not an update of this run ({kept})")
    t = int(step)
    lr = float(history.learning_rate[t - 1])
    batch = history.batch_grad is not None
    g = history.batch_grad[t - 1] if batch else history.grad[t - 1]
    source = r"\nabla L_{\mathrm{batch}}" if batch else r"\nabla L"
    lines = [LedgerLine("learning rate", rf"\eta_{{{t}}} = {_num(lr)}", np.array(lr))]
    if history.momentum is not None and optimizer.momentum_param is not None:
        mu = float(history.momentum[t - 1])
        symbol = r"\mu" if optimizer.momentum_param == "momentum" else r"\beta_1"
        word = "momentum" if optimizer.momentum_param == "momentum" else "β1"
        lines.append(LedgerLine(f"{word} (set by the schedule)",
                                rf"{symbol} = {_num(mu)}", np.array(mu)))
    lines.append(LedgerLine("mini-batch gradient" if batch else "gradient",
                            rf"g_{{{t}}} = {source}(w_{{{t - 1}}}) = {_vec(g)}", g))
    kind = optimizer.kind
    if kind == "sgd":
        lines += _sgd_lines(optimizer, history, t, g, lr)
    elif kind in ("adagrad", "rmsprop"):
        key = "sum_sq" if kind == "adagrad" else "square_avg"
        lines += _scaled_lines(optimizer, history, t, g, lr, key)
    elif kind in ("adam", "adamw"):
        lines += _adam_lines(optimizer, history, t, g, lr)
    elif kind == "newton":
        lines += _newton_lines(optimizer, history, t, g, lr)
    else:
        raise ValueError(f"no ledger for optimizer kind {kind!r} ({optimizer.name})")
    w_prev, w = history.params[t - 1], history.params[t]
    lines.append(LedgerLine("new weights", rf"w_{{{t}}} = w_{{{t - 1}}} + \Delta w = "
                            rf"{_vec(w_prev)} + {_op(w - w_prev)} = {_vec(w)}", w))
    return Ledger(optimizer=optimizer.name, step=t, lines=tuple(lines))


def to_latex(ledger: Ledger) -> str:
    """The ledger as one LaTeX ``aligned`` block, equals signs aligned, one line per row."""
    rows = [line.latex.replace(" = ", " &= ", 1) for line in ledger.lines]
    return r"\begin{aligned}" + "\n" + " \\\\\n".join(rows) + "\n" + r"\end{aligned}"
