"""btyd against derivations that share no code with it: likelihoods written out here from the
papers, a different optimiser, a finite-difference Hessian, eq. 10 as printed, and the one
customer-level prediction Fader, Hardie & Lee publish.

Formulas: BG/NBD likelihood, FHL (2005) eq. 6 (for one customer, with A = Gamma(r + x)
alpha^r / Gamma(r), L = A B(a, b + x) / B(a, b) [(alpha + T)^-(r + x) + [x > 0] a / (b + x - 1)
(alpha + t_x)^-(r + x)]); P(alive) eq. 13; Gamma-Gamma, Fader & Hardie (2013) eq. 3 with the
average spend m of x repeat purchases: f(m) = Gamma(px + q) / (Gamma(px) Gamma(q))
v^q m^(px - 1) x^(px) / (v + m x)^(px + q).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import betaln, gammaln

from customer_tiers.btyd import (
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_table,
    p_alive,
)
from tests.unit.test_btyd import (  # noqa: F401  (bgnbd_fit, cdnow, gg_fit: the fixtures)
    HOLDOUT_DAYS,
    bgnbd_fit,
    cdnow,
    eq10_direct,
    gg_fit,
)

BG_NAMES = ("r", "alpha", "a", "b")
GG_NAMES = ("p", "q", "v")
# FHL (2005) Table 1 / section 5, fitted in weeks
FHL_WEEKS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def bgnbd_ll(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> float:
    """FHL (2005) eq. 6, summed with weights (log-sum-exp for the two terms)."""
    r, alpha, a, b = theta
    log_a = gammaln(r + x) - gammaln(r) + r * math.log(alpha)
    log_b = betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    dropped = np.where(
        x > 0,
        math.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return float(np.sum(w * (log_a + log_b + np.logaddexp(alive, dropped))))


def gamma_gamma_ll(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    """Fader & Hardie (2013) eq. 3 over the repeat customers."""
    p, q, v = theta
    return float(
        np.sum(
            gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * math.log(v)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x)
        )
    )  # fmt: skip


def hessian(f, theta: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    """Central second differences of f alone (no gradient), steps relative to each value."""
    k = len(theta)
    h = rel_step * theta
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            out[i, j] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    return out


@pytest.fixture(scope="module")
def rows(cdnow: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:  # noqa: F811
    """The CDNOW summary as distinct (x, t_x, T) rows and their counts (cheaper to sum)."""
    unique, counts = np.unique(
        np.column_stack([cdnow["x"], cdnow["t_x"], cdnow["T"]]), axis=0, return_counts=True
    )
    return unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(np.float64)


def test_bgnbd_likelihood_and_optimum_from_a_second_implementation(rows, bgnbd_fit) -> None:  # noqa: F811
    """The LL written here equals the fit's at its parameters, and Nelder-Mead (no gradient)
    on it finds the same optimum. Tolerance 1e-5 relative: Nelder-Mead stops when the
    simplex spans 1e-10 in log-parameters, but the LL is flat to 1e-10 over about 1e-6 of a
    parameter around the optimum (measured: the two agree to 5e-8)."""
    theta = np.array([bgnbd_fit.params[k] for k in BG_NAMES])
    assert bgnbd_ll(theta, *rows) == pytest.approx(bgnbd_fit.log_likelihood, rel=1e-12)
    found = optimize.minimize(
        lambda u: -bgnbd_ll(np.exp(u), *rows),
        np.log([1.0, 10.0, 1.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 20_000},
    )
    assert found.success
    np.testing.assert_allclose(np.exp(found.x), theta, rtol=1e-5)
    assert -found.fun == pytest.approx(bgnbd_fit.log_likelihood, abs=1e-6)


def test_bgnbd_standard_errors_from_a_finite_difference_hessian(rows, bgnbd_fit) -> None:  # noqa: F811
    """Standard errors = sqrt(diag((-H)^-1)) with H the second differences of the LL above.
    The code differentiates its analytic gradient instead. With steps of 1e-4 of each
    parameter the truncation (O(h^2)) and rounding (eps |LL| / h^2) errors of the two schemes
    leave them 1e-6 apart (measured, BG/NBD and Gamma-Gamma); 1e-4 allows for that times the
    Hessian's condition number, and still fails a step of 1e-2 (3% off for Gamma-Gamma)."""
    theta = np.array([bgnbd_fit.params[k] for k in BG_NAMES])
    covariance = np.linalg.inv(-hessian(lambda t: bgnbd_ll(t, *rows), theta))
    se = bgnbd_fit.standard_errors
    assert se is not None
    np.testing.assert_allclose([se[k] for k in BG_NAMES], np.sqrt(np.diag(covariance)), rtol=1e-4)
    # the correlations too (absolute: a small covariance is a difference of large numbers)
    ours = bgnbd_fit.covariance / np.outer(*[np.sqrt(np.diag(bgnbd_fit.covariance))] * 2)
    reference = covariance / np.outer(*[np.sqrt(np.diag(covariance))] * 2)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_gamma_gamma_optimum_and_standard_errors_from_a_second_implementation(
    cdnow: dict[str, np.ndarray],  # noqa: F811
    gg_fit,  # noqa: F811
) -> None:
    """Nelder-Mead on Fader & Hardie's eq. 3 (written above) finds the fit's optimum, and the
    finite-difference Hessian of that LL gives its standard errors (tolerances as for BG/NBD)."""
    repeat = cdnow["x"] > 0
    x, m = cdnow["x"][repeat], cdnow["m"][repeat]
    theta = np.array([gg_fit.params[k] for k in GG_NAMES])
    found = optimize.minimize(
        lambda u: -gamma_gamma_ll(np.exp(u), x, m),
        np.log([1.0, 1.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 20_000},
    )
    assert found.success
    np.testing.assert_allclose(np.exp(found.x), theta, rtol=1e-5)
    covariance = np.linalg.inv(-hessian(lambda t: gamma_gamma_ll(t, x, m), theta))
    se = gg_fit.standard_errors
    assert se is not None
    np.testing.assert_allclose([se[k] for k in GG_NAMES], np.sqrt(np.diag(covariance)), rtol=1e-4)


def test_fhl_2005_published_customer_expectation() -> None:
    """FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to make
    1.226 purchases in the next 39 weeks (the paper's parameters, in weeks). Days give the same
    number: alpha and every time scale together."""
    assert round(float(expected_purchases(FHL_WEEKS, 39, [2], [30.43], [38.86])[0]), 3) == 1.226
    days = {**FHL_WEEKS, "alpha": FHL_WEEKS["alpha"] * 7}
    in_days = expected_purchases(days, 39 * 7, [2], [30.43 * 7], [38.86 * 7])[0]
    assert round(float(in_days), 3) == 1.226


def test_p_alive_is_eq_13() -> None:
    """P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),
    FHL (2005) eq. 13, on the paper's parameters for a grid of customers."""
    r, alpha, a, b = FHL_WEEKS.values()
    cases = [(0, 0.0, 30.0), (1, 5.0, 30.0), (2, 30.43, 38.86), (5, 10.0, 38.0), (5, 37.0, 38.0)]
    for x, t_x, T in cases:
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        ours = p_alive(FHL_WEEKS, [x], [t_x], [T])[0]
        assert ours == pytest.approx(1 / (1 + odds), rel=1e-12), (x, t_x, T)


def test_holdout_table_from_eq10_and_the_observed_counts(
    cdnow: dict[str, np.ndarray],  # noqa: F811
    bgnbd_fit,  # noqa: F811
) -> None:
    """FHL (2005) Figure 5's table on CDNOW weeks 40-78: the actual column is the mean of the
    holdout purchase days per calibration frequency, counted here; the expected column is
    eq. 10 as printed (scipy's hyp2f1, not the code's Euler form) averaged the same way.
    Tolerance 1e-9: the two forms of eq. 10 agree to 1e-10 (test_btyd)."""
    x, t_x, T, actual = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["holdout"]
    table = holdout_table(bgnbd_fit, x, t_x, T, actual, HOLDOUT_DAYS)
    params = bgnbd_fit.params
    by_row = {
        key: eq10_direct(params, HOLDOUT_DAYS, *key) for key in set(zip(x, t_x, T, strict=True))
    }
    expected = np.array([by_row[key] for key in zip(x, t_x, T, strict=True)])
    bins = [x == k for k in range(7)] + [x >= 7]
    assert table.n_customers.tolist() == [int(b.sum()) for b in bins]
    np.testing.assert_allclose(table.actual_mean, [actual[b].mean() for b in bins], rtol=1e-12)
    np.testing.assert_allclose(table.expected_mean, [expected[b].mean() for b in bins], rtol=1e-9)
    assert table.actual_total == actual.sum() == 1882
    assert table.expected_total == pytest.approx(expected.sum(), rel=1e-9)
    # as drawn in Figure 5: the model tracks the holdout from below, rising with x
    assert (table.expected_mean < table.actual_mean).all()
    assert (np.diff(table.expected_mean) > 0).all()


def test_fit_recovers_the_published_parameters_from_their_own_simulation() -> None:
    """Monte Carlo: 8,000 customers drawn from FHL's CDNOW parameters (weeks, T uniform over
    the cohort's 27-39 weeks) give back those parameters within 4 of the fit's standard errors,
    and the standard errors match the spread of the estimates across 8 such samples within
    0.4 to 2 times: with 7 degrees of freedom the sample spread falls outside that range by
    chance with probability under 1% (chi-square), while a standard error off by the factor of
    ten the old test allowed cannot pass."""
    from customer_tiers.btyd.simulate import simulate_bgnbd

    rng = np.random.default_rng(2005)
    estimates, errors = [], []
    for _ in range(8):
        T = rng.uniform(27, 39, 8_000)
        x, t_x = simulate_bgnbd(FHL_WEEKS, T, rng)
        fit = fit_bgnbd(x, t_x, T)
        assert fit.standard_errors is not None
        estimates.append([fit.params[k] for k in BG_NAMES])
        errors.append([fit.standard_errors[k] for k in BG_NAMES])
    mean_se = np.mean(errors, axis=0)
    spread = np.std(estimates, axis=0, ddof=1)
    assert (np.abs(np.mean(estimates, axis=0) - list(FHL_WEEKS.values())) < 4 * mean_se).all()
    assert (spread / mean_se > 0.4).all() and (spread / mean_se < 2).all()


def test_gamma_gamma_fit_on_simulated_spend() -> None:
    """Spend drawn from Fader & Hardie's CDNOW Gamma-Gamma (p 6.25, q 3.74, v 15.44) for 3,000
    repeat customers is fitted back within 4 standard errors."""
    from customer_tiers.btyd.simulate import simulate_gamma_gamma

    rng = np.random.default_rng(2013)
    truth = {"p": 6.25, "q": 3.74, "v": 15.44}
    x = rng.integers(1, 8, 3_000).astype(np.float64)
    m = simulate_gamma_gamma(truth, x, rng)
    fit = fit_gamma_gamma(x, m)
    assert fit.standard_errors is not None
    for k, v in truth.items():
        assert abs(fit.params[k] - v) < 4 * fit.standard_errors[k], (k, fit.params[k])
