"""Customer-level 80% predictive intervals: the range a customer's own purchases and spend over
the horizon fall in 80% of the time under the fitted model (not the parameter-uncertainty
interval of ``clv.predicted_clv``, which only covers the expected value).

Purchases Y in (T, T+h]: P(Y >= k) = P(alive) S_k with S_k = P(Y >= k | alive), exact:
- BG/NBD, MBG/NBD: the k-th purchase needs k Poisson events in h and survival of the k-1
  dropout coins before it: S_k = P(NB(r', alpha'/(alpha'+h)) >= k) * B(a, b'+k-1)/B(a, b'),
  r' = r+x, alpha' = alpha+T, b' = b+x (BG/NBD) or b+x+1 (MBG/NBD: it also survived the first
  purchase's coin).
- Pareto/NBD: the k-th event time G ~ Gamma(k, lambda) must come before h and before death:
  S_k = integral_0^h [Gamma(r'+k)/(Gamma(r') Gamma(k))] alpha'^r' u^(k-1) (alpha'+u)^-(r'+k)
  (beta'/(beta'+u))^s du, by 64-point Gauss-Legendre in w = log(1 + u/alpha').
Value V = the sum of the Y purchase values; under Gamma-Gamma, given Y = k >= 1, V is
v' * BetaPrime(p k, q') with q' = q + p x, v' = v + x m (the posterior of nu), so
P(V <= v) = P(Y=0) + sum_k P(Y=k) I_{v/(v+v')}(p k, q') (regularised incomplete beta).
Bounds are the 10% and 90% quantiles (lowest value with CDF >= level). Y is discrete, so
the interval holds *at least* 80% of the probability; ``purchases_content_80`` reports how
much (it is the coverage to expect from the purchase interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betainc, betaln, gammaln, roots_legendre

from customer_tiers.btyd._common import (
    FitResult,
    FloatArray,
    IntArray,
    Params,
    as_array,
    group_rows,
    param_values,
    summary_arrays,
)
from customer_tiers.btyd.gamma_gamma import GAMMA_GAMMA_PARAMS, _prepare, _usable
from customer_tiers.btyd.next_purchase import _model, model_p_alive
from customer_tiers.btyd.pareto_nbd import PARETO_NBD_PARAMS

LOW, HIGH = 0.1, 0.9
_TAIL = 1e-6  # S_k below this for every row: later k carry no probability worth tracking
_VALUE_TAIL = 1e-4  # P(Y >= k) below this is left out of a customer's value CDF
_MAX_K = 5000
_NODES, _WEIGHTS = roots_legendre(64)


@dataclass(frozen=True)
class PredictiveInterval:
    """Per-customer 80% predictive bounds over the horizon (low = 10%, high = 90% quantile).

    ``purchases_content_80`` is the model probability of low <= Y <= high (>= 0.8, since Y is
    whole). Value bounds are NaN when no Gamma-Gamma fit was given.
    """

    predictive_purchases_low_80: FloatArray
    predictive_purchases_high_80: FloatArray
    purchases_content_80: FloatArray
    predictive_value_low_80: FloatArray
    predictive_value_high_80: FloatArray


def _survival_alive(fit: FitResult, h: float, xu: FloatArray, Tu: FloatArray) -> FloatArray:
    """S_k = P(Y >= k | alive) for k = 1..K per distinct (x, T) row; shape (rows, K)."""
    model = _model(fit)
    r, alpha = fit.params["r"], fit.params["alpha"]
    rp, ap = r + xu, alpha + Tu
    columns: list[FloatArray] = []
    if model == "Pareto/NBD":
        _r, _al, s, beta = param_values(fit, PARETO_NBD_PARAMS)
        top = np.log1p(h / ap)
        w = 0.5 * top[:, None] * (_NODES[None, :] + 1.0)  # nodes in w = log(1 + u/alpha')
        u = ap[:, None] * np.expm1(w)
        # ln of alpha'^r' (alpha'+u)^-(r'+k) du/dw u^(k-1) beta'^s (beta'+u)^-s, k-free parts
        base = (
            rp[:, None] * np.log(ap[:, None])
            - (rp[:, None] - 1.0) * np.log(ap[:, None] + u)
            + s * (np.log(beta + Tu)[:, None] - np.log(beta + Tu[:, None] + u))
            + np.log(0.5 * top)[:, None]
            + np.log(_WEIGHTS)[None, :]
        )
        log_u = np.log(u)  # u > 0: the Gauss-Legendre nodes are interior
        log_ratio = log_u - np.log(ap[:, None] + u)
        log_gamma_rp = gammaln(rp)
        for k in range(1, _MAX_K + 1):
            coef = gammaln(rp + k) - log_gamma_rp - gammaln(k)
            term = base + k * log_ratio - log_u
            columns.append(np.exp(coef[:, None] + term).sum(axis=1))
            if columns[-1].max() < _TAIL:
                break
        return np.minimum(np.column_stack(columns), 1.0)
    a, b = fit.params["a"], fit.params["b"]
    bp = b + xu + (1.0 if model == "MBG/NBD" else 0.0)
    prob = ap / (ap + h)  # NB(r', prob) counts the Poisson events in h given alive
    event, log_b0 = 1.0 - prob, betaln(a, bp)
    for k in range(1, _MAX_K + 1):
        survive = np.exp(betaln(a, bp + k - 1.0) - log_b0)
        columns.append(betainc(float(k), rp, event) * survive)  # P(NB >= k)
        if columns[-1].max() < _TAIL:
            break
    return np.column_stack(columns)


_BISECTIONS = 30  # the value quantile is the midpoint of a 2^-30 bracket of u = V/(V+v')
_GRID = 32  # the u grid that brackets each quantile before Newton's method


def _value_quantiles(pk: FloatArray, p: float, q_post: FloatArray, level: float) -> FloatArray:
    """u = V/(V+v') at the quantile of V per row, from P(Y = k) (columns k = 0..K).

    The result is the one of 30 bisection steps on [0, 1] (the midpoint of the 2^-30 bracket
    holding the root of CDF(u) = level, 0 where P(Y=0) >= level), found with few CDF
    evaluations: the CDF on a grid of 32 points brackets the root, safeguarded Newton steps
    from the grid's linear interpolation (the density is a mixture of beta densities) close
    in on it, and where the root is too close to an end of its 2^-30 bracket to be sure, the
    CDF at both ends, computed as the bisection computes it, confirms the bracket (or a
    neighbour is taken). Per row only the k with P(Y >= k) > 1e-4 enter the CDF (the rest
    moves it by less than 1e-4); rows are processed in groups of similar K so the cost
    follows their own purchase range, not the heaviest buyer's.
    """
    out = np.zeros(len(pk))
    need = np.flatnonzero(pk[:, 0] < level)  # P(Y=0) >= level: the quantile is 0
    if len(need) == 0:
        return out
    tail = 1.0 - np.cumsum(pk[need], axis=1) + pk[need]  # P(Y >= k)
    k_need = np.maximum((tail > _VALUE_TAIL).sum(axis=1), 2)
    group = np.ceil(np.log2(k_need)).astype(np.intp)
    for g in np.unique(group):
        rows = need[group == g]
        width = min(2**g, pk.shape[1])
        out[rows] = _u_quantile(pk[rows, :width], p * np.arange(1, width), q_post[rows], level)
    return out


def _u_quantile(probs: FloatArray, a: FloatArray, qn: FloatArray, level: float) -> FloatArray:
    """The bisection result of ``_value_quantiles`` for rows of one width."""

    def cdf(u: FloatArray, rows: IntArray | slice = slice(None)) -> FloatArray:
        # exactly the bisection's expression, so the bracket check below decides as it did
        inc = betainc(a[None, :], qn[rows, None], u[:, None])
        return probs[rows, 0] + (probs[rows, 1:] * inc).sum(axis=1)

    n = len(probs)
    # 1. Bracket on the grid j/32 (one betainc table per distinct q', shared by its rows).
    grid = np.arange(1, _GRID) / _GRID
    (q_values,), q_idx = group_rows(qn)
    table = betainc(a[None, None, :], q_values[:, None, None], grid[None, :, None])
    below = np.empty((n, _GRID - 1))
    for i in range(len(q_values)):
        at = q_idx == i
        below[at] = probs[at, :1] + np.einsum("rk,gk->rg", probs[at, 1:], table[i])
    j = (below < level).sum(axis=1)
    lo, hi = j / _GRID, (j + 1) / _GRID
    # 2. Safeguarded Newton on CDF(u) = level inside [lo, hi], on the rows still moving,
    # from the linear interpolation of the grid's CDF (CDF(0) = P(Y=0), CDF(1) = 1).
    ends = np.column_stack([probs[:, 0], below, np.ones(n)])
    f_lo, f_hi = ends[np.arange(n), j], ends[np.arange(n), j + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip((level - f_lo) / (f_hi - f_lo), 0.0, 1.0)
    u = lo + np.where(np.isfinite(share), share, 0.5) * (hi - lo)
    log_beta = betaln(a[None, :], qn[:, None])
    act = np.arange(n)
    density_at, error = np.zeros(n), np.ones(n)  # CDF'(u) and a bound on |u - root|
    for _ in range(60):
        ua, la, ha = u[act], lo[act], hi[act]
        gap = cdf(ua, act) - level
        la, ha = np.where(gap < 0, ua, la), np.where(gap < 0, ha, ua)
        with np.errstate(divide="ignore"):
            log_pdf = (
                (a[None, :] - 1.0) * np.log(ua)[:, None]
                + (qn[act] - 1.0)[:, None] * np.log1p(-ua)[:, None]
                - log_beta[act]
            )
            density = (probs[act, 1:] * np.exp(log_pdf)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = ua - gap / density
        newton = np.isfinite(step) & (step >= la) & (step <= ha)
        new = np.where(newton, step, 0.5 * (la + ha))
        u[act], lo[act], hi[act] = new, la, ha
        density_at[act] = density
        error[act] = np.where(newton, np.abs(new - ua), ha - la)  # a Newton step: >> error
        # a step below 1e-12 leaves an error near 1e-24 (quadratic convergence); step 3 checks
        moving = (np.abs(new - ua) > 1e-12) & (ha - la > 2.0**-_BISECTIONS / 4)
        act = act[moving]
        if len(act) == 0:
            break
    # 3. The 2^-30 bracket holding u. Where u is farther from both ends than its error and
    # the CDF rises there by over 1e-11 (100x the rounding of a CDF of <= 1000 terms), the
    # bisection's comparisons at the ends cannot have gone otherwise; elsewhere the bracket
    # is confirmed (or moved) with the bisection's own CDF.
    scale = 2.0**_BISECTIONS
    k = np.clip(np.floor(u * scale), 0, scale - 1)
    margin = np.minimum(u - k / scale, (k + 1) / scale - u) - error
    with np.errstate(invalid="ignore"):
        todo = np.flatnonzero(~(density_at * margin > 1e-11))
    for _ in range(_BISECTIONS):
        if len(todo) == 0:
            break
        kl = k[todo]
        low_ok = (kl == 0) | (cdf(kl / scale, todo) < level)
        high_ok = (kl == scale - 1) | (cdf((kl + 1) / scale, todo) >= level)
        k[todo] = kl - ~low_ok + (low_ok & ~high_ok)
        todo = todo[~(low_ok & high_ok)]
    return (2.0 * k + 1.0) / (2.0 * scale)


def predictive_interval(
    fit: FitResult,
    horizon: float,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    gamma_gamma: Params | None = None,
    m: npt.ArrayLike | None = None,
) -> PredictiveInterval:
    """80% predictive intervals of each customer's purchases (and value) in (T, T+horizon].

    ``fit`` is a BG/NBD, MBG/NBD or Pareto/NBD FitResult; value bounds need the Gamma-Gamma
    fit and m (customers with x = 0 or m <= 0 use the prior, as ``expected_avg_value``).
    """
    if not (np.isfinite(horizon) and horizon > 0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    xa, ta, Ta = summary_arrays(x, t_x, T)
    # Everything but the value's scale depends on (x, t_x, T): work on the distinct triples.
    (xk, tk, Tk), key = group_rows(xa, ta, Ta)
    alive = model_p_alive(fit, xk, tk, Tk)
    (xu, Tu), idx = group_rows(xk, Tk)
    surv = _survival_alive(fit, horizon, xu, Tu)
    n, k_max = len(xk), surv.shape[1]
    low, high = np.zeros(n), np.zeros(n)
    k_count = int((surv.max(axis=0) > 1.0 - HIGH).sum())  # beyond: no count can grow
    for k in range(k_count):  # quantile(level) = #{k >= 1: P(Y >= k) > 1 - level}
        s_k = alive * surv[idx, k]
        low += s_k > 1.0 - LOW
        high += s_k > 1.0 - HIGH

    def tail(j: FloatArray) -> FloatArray:  # P(Y >= j) per triple, j >= 0 whole
        cols = np.clip(j.astype(np.intp) - 1, 0, k_max - 1)
        return np.where(j <= 0, 1.0, alive * surv[idx, cols] * (j <= k_max))

    content = tail(low) - tail(high + 1.0)
    nan = np.full(len(xa), np.nan)
    if gamma_gamma is None:
        return PredictiveInterval(low[key], high[key], content[key], nan, nan)
    if m is None:
        raise ValueError("m (mean repeat value) is needed with a Gamma-Gamma fit")
    p, q, v = param_values(gamma_gamma, GAMMA_GAMMA_PARAMS)
    xg, mg = _prepare(xa, as_array("m", m))
    use = _usable(xg, mg)
    v_post = np.where(use, v + xg * np.where(use, mg, 0.0), v)
    # V / v' has one distribution per (triple, use): q' = q + p x for usable customers, else q
    (vk, vuse), vkey = group_rows(key.astype(np.float64), use.astype(np.float64))
    rows = vk.astype(np.intp)
    q_post = np.where(vuse > 0, q + p * xk[rows], q)
    ge = np.column_stack(
        [np.ones(len(rows)), alive[rows, None] * surv[idx[rows]], np.zeros(len(rows))]
    )
    pk = ge[:, :-1] - ge[:, 1:]  # P(Y = k), k = 0..K
    u_low = _value_quantiles(pk, p, q_post, LOW)[vkey]
    u_high = _value_quantiles(pk, p, q_post, HIGH)[vkey]
    return PredictiveInterval(
        low[key],
        high[key],
        content[key],
        v_post * u_low / (1.0 - u_low),
        v_post * u_high / (1.0 - u_high),
    )
