-- Every model fitted in this run, one row per parameter: the purchase model in use and
-- Gamma-Gamma fitted as of as_of, and the backtest's candidates (BG/NBD, MBG/NBD, Pareto/NBD,
-- Gamma-Gamma) fitted on its calibration sample with their holdout log-likelihood; in_use marks
-- what the marts use.

with

params as (

    select * from {{ ref('stg_predictions__clv_model_params') }}

)

select * from params
