-- The CLV backtest of this run (docs/clv_backtest.md): the models refitted as of as_of -
-- holdout_days and checked on the holdout up to as_of. One row per section and label:
--   overall       all calibration customers: actual vs predicted repeat purchases and revenue
--   decile        the same by decile of predicted holdout revenue (1 = the highest)
--   p_alive_band  P(alive) calibration: mean P(alive), predicted and observed share buying
--   frequency     by calibration repeat purchases (0..6, 7+)
--   metric        mae_*, top_decile_revenue_share, normalized_gini, *_interval_coverage_80,
--                 rank_correlation_predicted_clv / _historical_clv, ratio_predicted_actual_*
--   model         each candidate's holdout log-likelihood (note: in use)
--   skipped       the reason when there is no backtest

with

backtest as (

    select * from {{ ref('stg_predictions__clv_backtest') }}

)

select * from backtest
