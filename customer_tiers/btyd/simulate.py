"""Draw synthetic customers from the BG/NBD and Gamma-Gamma processes (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from customer_tiers.btyd._common import FloatArray, Params, as_array, param_values
from customer_tiers.btyd.bgnbd import BGNBD_PARAMS
from customer_tiers.btyd.gamma_gamma import GAMMA_GAMMA_PARAMS


def simulate_bgnbd(
    params: Params, T: npt.ArrayLike, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(x, t_x) for customers observed for T time units after their first purchase.

    Per customer: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); purchases arrive as a
    Poisson(lambda) process and the customer drops out right after repeat purchase
    J ~ Geometric(p) (FHL 2005 assumptions i-iv). With N ~ Poisson(lambda T) arrivals in
    (0, T], x = min(N, J), and t_x, the x-th of N uniform arrival times, is T * Beta(x, N-x+1).
    Fully vectorised; times are continuous.
    """
    r, alpha, a, b = param_values(params, BGNBD_PARAMS)
    Ta = as_array("T", T)
    n = len(Ta)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * Ta)
    x = np.minimum(arrivals, rng.geometric(p)).astype(np.float64)
    t_x = np.zeros(n)
    pos = x > 0
    t_x[pos] = Ta[pos] * rng.beta(x[pos], arrivals[pos] - x[pos] + 1.0)
    return x, t_x


def simulate_gamma_gamma(params: Params, x: npt.ArrayLike, rng: np.random.Generator) -> FloatArray:
    """Mean value m of x transactions per customer (NaN where x = 0), FH (2013).

    nu ~ Gamma(q, rate v) per customer; each value is Gamma(p, rate nu), so the mean of x of
    them is Gamma(p x, rate x nu).
    """
    p, q, v = param_values(params, GAMMA_GAMMA_PARAMS)
    xa = as_array("x", x)
    nu = rng.gamma(q, 1.0 / v, len(xa))
    m = np.full(len(xa), np.nan)
    pos = xa > 0
    m[pos] = rng.gamma(p * xa[pos], 1.0 / (xa[pos] * nu[pos]))
    return m
