"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

Purchasing while alive is Poisson with rate lambda ~ Gamma(r, alpha); after each repeat
purchase the customer drops out with probability p ~ Beta(a, b). Inputs per customer are the
standard summary in one time unit (days here): x repeat purchase days, t_x the time of the
last one since the first purchase, T the time from the first purchase to the analysis date.
Equation numbers refer to FHL (2005).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from customer_tiers.btyd._common import (
    FitError,
    FitResult,
    FloatArray,
    Params,
    as_array,
    check_weights,
    compress,
    group_rows,
    maximize,
    param_values,
    summary_arrays,
    wdot,
)

BGNBD_PARAMS = ("r", "alpha", "a", "b")


class _BGNBDData:
    """Per-row constants of the likelihood, prepared once per fit.

    The terms that depend on x only (gamma and beta functions, the expensive part) are
    evaluated on the distinct x values and weighted by their customer counts; customers with
    x = 0 only contribute -r log(alpha + T), summed per distinct T.
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        self.n = float(w.sum())
        (self.xs,), x_idx = group_rows(x)
        self.wx = np.bincount(x_idx, weights=w, minlength=len(self.xs))
        zero = x == 0
        (self.T0,), t_idx = group_rows(T[zero])
        self.w0 = np.bincount(t_idx, weights=w[zero], minlength=len(self.T0))
        pos = ~zero
        self.x, self.t_x, self.T, self.w = x[pos], t_x[pos], T[pos], w[pos]
        self.xm1 = self.x - 1.0

    def loglik_grad(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Log-likelihood (eq. 6, summed with weights) and its gradient in (r, alpha, a, b)."""
        r, alpha, a, b = theta
        xs, wx = self.xs, self.wx
        # Terms in x only: log Gamma(r+x)/Gamma(r) + log B(a, b+x)/B(a, b).
        ll = wdot(wx, gammaln(r + xs) + betaln(a, b + xs)) - self.n * (gammaln(r) + betaln(a, b))
        ll += self.n * r * np.log(alpha)
        dig_ab_x = digamma(a + b + xs)
        g_r = wdot(wx, digamma(r + xs)) - self.n * digamma(r) + self.n * np.log(alpha)
        g_alpha = self.n * r / alpha
        g_a = wdot(wx, digamma(a + b) - dig_ab_x)
        g_b = wdot(wx, digamma(b + xs) - dig_ab_x) + self.n * (digamma(a + b) - digamma(b))

        # x = 0: the bracket of eq. 6 is just (alpha + T)^-r.
        log_at0 = np.log(alpha + self.T0)
        ll -= r * wdot(self.w0, log_at0)
        g_r -= wdot(self.w0, log_at0)
        g_alpha -= r * wdot(self.w0, 1.0 / (alpha + self.T0))

        # x > 0: log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)] as a log-sum-exp.
        rx = r + self.x
        log_aT = np.log(alpha + self.T)
        log_atx = np.log(alpha + self.t_x)
        log_bx = np.log(b + self.xm1)
        a3 = -rx * log_aT
        a4 = np.log(a) - log_bx - rx * log_atx
        w = self.w
        ll += wdot(w, np.logaddexp(a3, a4))
        share4 = expit(a4 - a3)  # weight of the "dropped out at t_x" term
        share3 = 1.0 - share4
        g_r -= wdot(w, share3 * log_aT + share4 * log_atx)
        g_alpha -= wdot(w, rx * (share3 / (alpha + self.T) + share4 / (alpha + self.t_x)))
        g_a += wdot(w, share4) / a
        g_b -= wdot(w, share4 / (b + self.xm1))
        return float(ll), np.array([g_r, g_alpha, g_a, g_b])


def bgnbd_log_likelihood(
    params: Params,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """Weighted BG/NBD log-likelihood, FHL (2005) eq. 6, at the given parameters."""
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    theta = np.array(param_values(params, BGNBD_PARAMS))
    return _BGNBDData(xa, ta, Ta, w).loglik_grad(theta)[0]


def fit_bgnbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    require_convergence: bool = True,
    compress_rows: bool | None = None,
    initial: dict[str, float] | None = None,
) -> FitResult:
    """Maximum-likelihood BG/NBD fit.

    ``weights`` are counts of identical (x, t_x, T) rows (default ones). Identical rows are
    merged automatically (``compress_rows=None``: when that removes at least a fifth of the
    rows; True/False force it), which for day-resolution data usually shrinks a million
    customers to a few hundred thousand rows. Raises FitError when the fit does not converge
    (see ``maximize`` for the criteria) unless ``require_convergence=False``, in which case
    inspect ``converged`` and ``message``. Also raises FitError when no customer has T > 0 or
    nobody made a repeat purchase: the likelihood then does not depend on (some of) the
    parameters.
    """
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    (xa, ta, Ta), w = compress((xa, ta, Ta), w, compress_rows)
    n = float(w.sum())
    if n <= 0:
        raise FitError("BG/NBD: no customers (total weight is zero)")
    if not (w @ (Ta > 0)) > 0:
        raise FitError("BG/NBD: every customer has T = 0, the likelihood is constant")
    if not (w @ xa) > 0:
        raise FitError("BG/NBD: no repeat purchases (all x = 0), the model is not identified")

    if initial is None:
        # Ignoring dropout, lambda ~ total repeats / total exposure; r = 1 is a neutral shape.
        rate = (w @ xa) / (w @ Ta)
        initial = {"r": 1.0, "alpha": 1.0 / rate, "a": 1.0, "b": 1.0}
    theta0 = np.array(param_values(initial, BGNBD_PARAMS))
    data = _BGNBDData(xa, ta, Ta, w)
    opt = maximize(data.loglik_grad, theta0, BGNBD_PARAMS, scale=n)
    result = FitResult(
        model="BG/NBD",
        params=dict(zip(BGNBD_PARAMS, opt.theta.tolist(), strict=True)),
        log_likelihood=opt.log_likelihood,
        n_customers=n,
        converged=opt.converged,
        message=opt.message,
        iterations=opt.iterations,
        covariance=opt.covariance,
        n_rows=len(xa),
        param_names=BGNBD_PARAMS,
    )
    if require_convergence and not result.converged:
        raise FitError(f"BG/NBD fit failed: {result.message}; params {result.params}")
    return result


def _log_alive_odds(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x); -inf for x = 0 (no dropout possible)."""
    out = np.full(np.broadcast(x, t_x, T).shape, -np.inf)
    pos = np.broadcast_to(x > 0, out.shape)
    xb, tb, Tb = (np.broadcast_to(v, out.shape)[pos] for v in (x, t_x, T))
    out[pos] = (
        np.log(a) - np.log(b + xb - 1.0) + (r + xb) * (np.log(alpha + Tb) - np.log(alpha + tb))
    )
    return out


def p_alive(params: Params, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(alive at T | x, t_x, T), FHL (2005): the reciprocal of eq. 10's denominator.

    1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),

    evaluated as expit(-log odds) so it does not overflow for large x. Exactly 1 for x = 0:
    in the BG/NBD nobody can drop out before a repeat purchase.
    """
    r, alpha, a, b = param_values(params, BGNBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    return expit(-_log_alive_odds(r, alpha, a, b, xa, ta, Ta))


def _future_bracket(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray | float,
    x: FloatArray | float,
    T: FloatArray | float,
) -> FloatArray:
    """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    z = t/(alpha+T+t). Eq. 10's hypergeometric term has c - a - b = a - 1 - r - x, so it
    diverges like (1-z)^(a-1-r-x) as z -> 1 while its prefactor (1-z)^(r+x) vanishes:
    overflow times underflow for large x or t. Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the product into
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters stay O(1) apart from C,
    which only grows with x (pushing 2F1 towards 1). ``t``, ``x``, ``T`` broadcast.
    At a = 1 the expression is 0/0 (removable); within 1e-6 of it, it is averaged from
    a = 1 -+ 1e-6, where cancellation still leaves ~10 digits.
    """
    if abs(a - 1.0) < 1e-6:
        return 0.5 * (
            _bracket_euler(r, alpha, 1.0 - 1e-6, b, t, x, T)
            + _bracket_euler(r, alpha, 1.0 + 1e-6, b, t, x, T)
        )
    return _bracket_euler(r, alpha, a, b, t, x, T)


def _bracket_euler(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray | float,
    x: FloatArray | float,
    T: FloatArray | float,
) -> FloatArray:
    z = t / (alpha + T + t)
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)
    f = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    return (a + b + x - 1.0) / (a - 1.0) * (1.0 - np.exp((a - 1.0) * log_1mz) * f)


def expected_purchases(
    params: Params,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T], FHL (2005) eq. 10: expected purchases in the next ``t`` time units.

    ``t`` is one horizon for everybody or one per customer. Eq. 10 is P(alive)
    times a bracket that depends on (x, T, t) only; the bracket is evaluated once per
    distinct (x, T, t) (a few thousand for day-level data, so hyp2f1 is not called a million
    times) in the Euler-transformed form of ``_future_bracket``, which stays finite and
    accurate for large x and large t.
    """
    r, alpha, a, b = param_values(params, BGNBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), xa.shape)
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ValueError("t must be finite and non-negative")
    (xu, Tu, tu), idx = group_rows(xa, Ta, np.ascontiguousarray(horizon))
    bracket = _future_bracket(r, alpha, a, b, tu, xu, Tu)[idx]
    return bracket * expit(-_log_alive_odds(r, alpha, a, b, xa, ta, Ta))


def expected_purchases_new(params: Params, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)] for a customer just acquired, FHL (2005) eq. 7.

    (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))], evaluated in the
    same Euler-transformed form as eq. 10 (eq. 7 is eq. 10 with x = t_x = T = 0).
    """
    r, alpha, a, b = param_values(params, BGNBD_PARAMS)
    ta = as_array("t", t)
    if not np.isfinite(ta).all() or (ta < 0).any():
        raise ValueError("t must be finite and non-negative")
    return _future_bracket(r, alpha, a, b, ta, 0.0, 0.0)


@dataclass(frozen=True)
class HoldoutTable:
    """FHL (2005) "conditional expectations" table, one row per calibration frequency.

    ``labels`` are "0", "1", ..., "7+"; ``actual_mean`` is the average number of repeat
    purchases in the holdout, ``expected_mean`` the average of eq. 10 over the same
    customers. Totals are sums over all customers.
    """

    labels: tuple[str, ...]
    n_customers: FloatArray
    actual_mean: FloatArray
    expected_mean: FloatArray
    actual_total: float
    expected_total: float

    def as_rows(self) -> list[tuple[str, float, float, float]]:
        """(label, customers, actual mean, expected mean) per row."""
        return list(
            zip(
                self.labels,
                self.n_customers.tolist(),
                self.actual_mean.tolist(),
                self.expected_mean.tolist(),
                strict=True,
            )
        )


def holdout_table(
    params: Params,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    actual: npt.ArrayLike,
    holdout_days: float,
    max_frequency: int = 7,
) -> HoldoutTable:
    """Actual vs. expected holdout purchases by calibration frequency (FHL 2005, Figure 5).

    ``x, t_x, T`` are the calibration summary, ``actual`` the repeat purchases each customer
    made in the ``holdout_days`` after the calibration end; frequencies >= ``max_frequency``
    are pooled into the last row.
    """
    xa, ta, Ta = summary_arrays(x, t_x, T)
    act = as_array("actual", actual)
    if len(act) != len(xa):
        raise ValueError(f"actual has length {len(act)}, expected {len(xa)}")
    expected = expected_purchases(params, holdout_days, xa, ta, Ta)
    bins = np.minimum(xa, max_frequency).astype(np.intp)
    k = max_frequency + 1
    n = np.bincount(bins, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual_mean = np.bincount(bins, weights=act, minlength=k) / n
        expected_mean = np.bincount(bins, weights=expected, minlength=k) / n
    labels = (*(str(i) for i in range(max_frequency)), f"{max_frequency}+")
    return HoldoutTable(
        labels, n, actual_mean, expected_mean, float(act.sum()), float(expected.sum())
    )
