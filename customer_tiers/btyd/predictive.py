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
        for k in range(1, _MAX_K + 1):
            coef = gammaln(rp + k) - gammaln(rp) - gammaln(k)
            term = base + k * log_ratio - log_u
            columns.append(np.exp(coef[:, None] + term).sum(axis=1))
            if columns[-1].max() < _TAIL:
                break
        return np.minimum(np.column_stack(columns), 1.0)
    a, b = fit.params["a"], fit.params["b"]
    bp = b + xu + (1.0 if model == "MBG/NBD" else 0.0)
    prob = ap / (ap + h)  # NB(r', prob) counts the Poisson events in h given alive
    for k in range(1, _MAX_K + 1):
        survive = np.exp(betaln(a, bp + k - 1.0) - betaln(a, bp))
        columns.append(betainc(float(k), rp, 1.0 - prob) * survive)  # P(NB >= k)
        if columns[-1].max() < _TAIL:
            break
    return np.column_stack(columns)


def _value_quantiles(
    pk: FloatArray, p: float, q_post: FloatArray, v_post: FloatArray, level: float
) -> FloatArray:
    """Quantile of V per customer from P(Y = k) (columns k = 0..K), by bisection on u = V/(V+v').

    Per customer only the k with P(Y >= k) > 1e-4 enter the CDF (the rest moves it by less
    than 1e-4); customers are processed in groups of similar K so the cost follows their own
    purchase range, not the heaviest buyer's.
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
        probs, qn = pk[rows, :width], q_post[rows]
        ks = np.arange(1, width, dtype=np.float64)
        lo, hi = np.zeros(len(rows)), np.ones(len(rows))
        for _ in range(30):  # u precision 1e-9
            mid = 0.5 * (lo + hi)
            inc = betainc(p * ks[None, :], qn[:, None], mid[:, None])
            below = probs[:, 0] + (probs[:, 1:] * inc).sum(axis=1) < level
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        u = 0.5 * (lo + hi)
        out[rows] = v_post[rows] * u / (1.0 - u)
    return out


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
    alive = model_p_alive(fit, xa, ta, Ta)
    (xu, Tu), idx = group_rows(xa, Ta)
    surv = _survival_alive(fit, horizon, xu, Tu)
    n, k_max = len(xa), surv.shape[1]
    low, high = np.zeros(n), np.zeros(n)
    k_count = int((surv.max(axis=0) > 1.0 - HIGH).sum())  # beyond: no count can grow
    for k in range(k_count):  # quantile(level) = #{k >= 1: P(Y >= k) > 1 - level}
        s_k = alive * surv[idx, k]
        low += s_k > 1.0 - LOW
        high += s_k > 1.0 - HIGH

    def tail(j: FloatArray) -> FloatArray:  # P(Y >= j) per customer, j >= 0 whole
        cols = np.clip(j.astype(np.intp) - 1, 0, k_max - 1)
        return np.where(j <= 0, 1.0, alive * surv[idx, cols] * (j <= k_max))

    content = tail(low) - tail(high + 1.0)
    nan = np.full(n, np.nan)
    if gamma_gamma is None:
        return PredictiveInterval(low, high, content, nan, nan)
    if m is None:
        raise ValueError("m (mean repeat value) is needed with a Gamma-Gamma fit")
    p, q, v = param_values(gamma_gamma, GAMMA_GAMMA_PARAMS)
    xg, mg = _prepare(xa, as_array("m", m))
    use = _usable(xg, mg)
    q_post = np.where(use, q + p * xg, q)
    v_post = np.where(use, v + xg * np.where(use, mg, 0.0), v)
    ge = np.column_stack([np.ones(n), alive[:, None] * surv[idx], np.zeros(n)])
    pk = ge[:, :-1] - ge[:, 1:]  # P(Y = k), k = 0..K
    return PredictiveInterval(
        low,
        high,
        content,
        _value_quantiles(pk, p, q_post, v_post, LOW),
        _value_quantiles(pk, p, q_post, v_post, HIGH),
    )
