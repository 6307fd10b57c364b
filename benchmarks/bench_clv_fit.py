"""Time every piece of a run's CLV step (orchestration/clv_fit.py, clv_backtest.py) on one summary.

    PYTHONPATH=. python benchmarks/bench_clv_fit.py --customers 1000000 [--repeat 3]
    PYTHONPATH=. python benchmarks/bench_clv_fit.py --warehouse /tmp/bench/run-1000000/w.duckdb

The summary is either simulated (``--customers``: BG/NBD process with parameters close to the
demo data's fit, days, T uniform on 1..911, whole-day t_x; holdout purchases in the 180 days
after T from the same process; Gamma-Gamma spend) or read from a warehouse that
``tiers run`` published (``--warehouse``: the same SUMMARY_SQL / BACKTEST_SQL the pipeline
reads, e.g. the one ``bench_pipeline.py --keep`` leaves). No pipeline, no dbt.

Per purchase model (each fitted to the whole summary, as the run fits the model in use) it
times what ``fit_clv`` computes: the fit, P(alive), P(purchase) and expected purchases in the
30/60/90-day windows, expected purchases over 365 days and the horizon, the median wait, the
CLV over 365 days with its parameter interval and over the horizon, the 80% predictive
interval of purchases alone and with value. Then Gamma-Gamma, the whole backtest
(``run_backtest``: three fits on its sample, the model in use on every calibration customer)
and the whole ``fit_clv`` for the model the backtest picks. Each piece runs ``--repeat`` times;
the table shows the median seconds. ``--profile PIECE`` prints cProfile's top entries for one
piece (e.g. ``pareto_nbd:fit``, ``backtest``). Target (issue 19): fit + predictions <= 15 s per
model at 1M customers.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from customer_tiers import btyd  # noqa: E402
from customer_tiers.btyd._common import group_rows  # noqa: E402
from customer_tiers.btyd.simulate import simulate_gamma_gamma  # noqa: E402
from customer_tiers.orchestration import clv_backtest, clv_fit  # noqa: E402
from customer_tiers.orchestration.config import DEFAULT_CONFIG_PATH, load_config  # noqa: E402

# Close to the 1M demo's fits (days): BG/NBD-like purchasing, Gamma-Gamma spend.
SIM_BGNBD = {"r": 0.46, "alpha": 25.7, "a": 0.84, "b": 5.7}
SIM_GG = {"p": 4.4, "q": 4.1, "v": 285.0}
HOLDOUT_DAYS = 180
AS_OF = dt.date(2026, 6, 30)
FITS = {"bg_nbd": btyd.fit_bgnbd, "mbg_nbd": btyd.fit_mbgnbd, "pareto_nbd": btyd.fit_pareto_nbd}

Arrays = dict[str, np.ndarray]


def simulate(customers: int, seed: int) -> tuple[Arrays, Arrays, dict[str, Any]]:
    """(as_of summary, backtest summary, window) drawn from the BG/NBD process.

    Per customer lambda ~ Gamma(r, alpha), p ~ Beta(a, b), dropout after repeat purchase
    J ~ Geometric(p); N events in (0, T + H] split binomially into calibration (0, T] and
    holdout; x = min(N_cal, J), y = min(N, J) - x; t_x is the x-th of N_cal uniform times.
    The as_of summary is the same customers observed to T + H.
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (SIM_BGNBD[k] for k in ("r", "alpha", "a", "b"))
    t_cal = rng.integers(1, 912, customers).astype(np.float64)
    t_all = t_cal + HOLDOUT_DAYS
    lam = rng.gamma(r, 1.0 / alpha, customers)
    drop = rng.geometric(rng.beta(a, b, customers))
    n_all = rng.poisson(lam * t_all)
    n_cal = rng.binomial(n_all, t_cal / t_all)

    def summary(n: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.minimum(n, drop).astype(np.float64)
        t_x = np.zeros(customers)
        pos = x > 0
        t_x[pos] = np.floor(t[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1.0))
        return x, t_x

    x_cal, tx_cal = summary(n_cal, t_cal)
    x_all, tx_all = summary(n_all, t_all)
    y = np.minimum(n_all, drop) - x_cal
    m_cal = np.nan_to_num(simulate_gamma_gamma(SIM_GG, x_cal, rng))
    m_all = np.nan_to_num(simulate_gamma_gamma(SIM_GG, x_all, rng))
    ids = np.array([f"C{i:07d}" for i in range(customers)], dtype=object)
    as_of = {
        "customer_id": ids,
        "frequency": x_all,
        "recency": tx_all,
        "t": t_all,
        "monetary": m_all,
        "holdout_purchase_days": np.zeros(customers),
        "holdout_days": np.ma.masked_all(customers, dtype=np.int64),
    }
    spend = rng.gamma(SIM_GG["p"] * np.maximum(y, 1), SIM_GG["v"] / SIM_GG["p"]) * (y > 0)
    backtest = {
        "customer_id": ids,
        "frequency": x_cal,
        "recency": tx_cal,
        "t": t_cal,
        "monetary": m_cal,
        "holdout_purchase_days": y.astype(np.float64),
        "holdout_revenue": spend,
        "calibration_orders": x_cal + 1.0,
        "calibration_revenue": m_cal * x_cal + 50.0,
    }
    window = {
        "as_of": AS_OF,
        "holdout_days": HOLDOUT_DAYS,
        "configured_holdout_days": HOLDOUT_DAYS,
        "history_days": 1100,
        "skipped_reason": None,
    }
    return as_of, backtest, window


def from_warehouse(path: str) -> tuple[Arrays, Arrays, dict[str, Any]]:
    """The summaries a run of ``tiers run`` left in its published warehouse (read only)."""
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        as_of = clv_fit.summary_arrays(con.sql(clv_fit.SUMMARY_SQL).to_arrow_table())
        backtest = con.execute(clv_backtest.BACKTEST_SQL).fetchnumpy()
        cur = con.execute(clv_backtest.WINDOW_SQL)
        row = cur.fetchone() or ()
        window = dict(zip([d[0] for d in cur.description], row, strict=True))
    finally:
        con.close()
    return as_of, backtest, window


def pieces(as_of: Arrays, backtest: Arrays, window: dict[str, Any]) -> list[tuple[str, Callable]]:
    """(name, thunk) in run order; a model's later pieces use that model's fit."""
    clv = load_config(DEFAULT_CONFIG_PATH).clv  # the shipped configuration
    x, t_x, t, m = (as_of[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    fits: dict[str, btyd.FitResult] = {}
    state: dict[str, Any] = {}
    out: list[tuple[str, Callable]] = [
        ("gamma_gamma:fit", lambda: state.__setitem__("gg", btyd.fit_gamma_gamma(x, m))),
        ("gamma_gamma:expected_avg_value", lambda: btyd.expected_avg_value(state["gg"], x, m)),
    ]
    for name, fit_func in FITS.items():

        def do_fit(name: str = name, fit_func: Callable = fit_func) -> None:
            fits[name] = fit_func(x, t_x, t)

        def f(name: str = name) -> btyd.FitResult:
            return fits[name]

        out += [
            (f"{name}:fit", do_fit),
            (f"{name}:p_alive", lambda f=f: btyd.model_p_alive(f(), x, t_x, t)),
            (
                f"{name}:p_purchase_30_60_90",
                lambda f=f: [btyd.prob_purchase_within(f(), w, x, t_x, t) for w in (30, 60, 90)],
            ),
            (
                f"{name}:expected_purchases_x5",
                lambda f=f: [
                    btyd.model_expected_purchases(f(), w, x, t_x, t)
                    for w in (30, 60, 90, 365, clv.horizon_days)
                ],
            ),
            (f"{name}:median_wait", lambda f=f: btyd.median_time_to_next_purchase(f(), x, t_x, t)),
            (f"{name}:p_buy_again", lambda f=f: btyd.p_buy_again_given_alive(f(), x, t)),
            (
                f"{name}:clv_365_interval",
                lambda f=f: btyd.model_predicted_clv(f(), state["gg"], x, t_x, t, m, 365.0),
            ),
            (
                f"{name}:clv_horizon",
                lambda f=f: btyd.model_predicted_clv(
                    f(), state["gg"], x, t_x, t, m, clv.horizon_days, interval=False
                ),
            ),
            (
                f"{name}:interval_purchases",
                lambda f=f: btyd.predictive_interval(f(), 365.0, x, t_x, t),
            ),
            (
                f"{name}:interval_value",
                lambda f=f: btyd.predictive_interval(f(), 365.0, x, t_x, t, state["gg"], m),
            ),
        ]

    def run_backtest() -> None:
        state["backtest"] = clv_backtest.run_backtest(backtest, window, clv, clv.model)

    out += [
        ("backtest", run_backtest),
        ("fit_clv", lambda: clv_fit.fit_clv(as_of, window["as_of"], clv, state["backtest"])),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warehouse", help="read the summaries from this published warehouse")
    parser.add_argument("--limit", type=int, help="only the first N customers of a warehouse")
    parser.add_argument("--repeat", type=int, default=1, help="runs per piece; median shown")
    parser.add_argument("--only", nargs="*", default=[], help="pieces whose name starts so")
    parser.add_argument("--profile", help="cProfile this piece (its last repeat)")
    parser.add_argument("--json", help="also write the timings to this file")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.warehouse:
        as_of, backtest, window = from_warehouse(args.warehouse)
        source = args.warehouse
        if args.limit:
            as_of, backtest = (
                {k: v[: args.limit] for k, v in d.items()} for d in (as_of, backtest)
            )
            source += f", first {args.limit:,} customers"
    else:
        as_of, backtest, window = simulate(args.customers, args.seed)
        source = f"simulated, seed {args.seed}"
    x, t_x, t = (as_of[c].astype(np.float64) for c in ("frequency", "recency", "t"))
    (triples, _tx, _t), _ = group_rows(x, t_x, t)
    print(
        f"{len(x):,} customers ({source}), {(x > 0).mean():.1%} with x > 0, "
        f"{len(triples):,} distinct (x, t_x, T); summaries in {time.perf_counter() - start:.1f} s"
    )
    seconds: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    for name, thunk in pieces(as_of, backtest, window):
        selected = not args.only or any(name.startswith(o) for o in args.only)
        needed = name.endswith(":fit") or name == "backtest"  # later pieces need them
        if not selected and not needed:
            continue
        for i in range(args.repeat if selected else 1):
            profiler = cProfile.Profile() if args.profile == name and i == args.repeat - 1 else None
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            result = thunk()
            if profiler:
                profiler.disable()
            seconds.setdefault(name, []).append(time.perf_counter() - began)
            print(f"  {name}: {seconds[name][-1]:.2f} s", file=sys.stderr, flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            if isinstance(result, clv_fit.ClvFit):
                notes[name] = f"model {result.model}"
        if not selected:
            seconds[name + " (needed)"] = seconds.pop(name)
    print("\n| piece | median s | runs |\n|---|---|---|")
    for name, runs in seconds.items():
        note = f" ({notes[name]})" if name in notes else ""
        print(f"| {name}{note} | {statistics.median(runs):.2f} | {len(runs)} |")
    per_model = {
        model: sum(
            statistics.median(v)
            for k, v in seconds.items()
            if k.startswith(model + ":") and "interval_purchases" not in k
        )
        for model in FITS
    }
    print("\nfit + predictions per model (s, without the separate purchases-only interval):")
    for model, total in per_model.items():
        print(f"  {model:<11} {total:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"customers": len(x), "source": source, "seconds": seconds}, indent=2)
        )


if __name__ == "__main__":
    main()
