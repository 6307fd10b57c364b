-- Actual against expected repeat purchases in the holdout period (the days after as_of up to
-- the latest order), by calibration frequency: the check of Fader, Hardie & Lee (2005).
-- Empty when as_of is the latest order day.

with

holdout as (

    select * from {{ ref('stg_predictions__clv_holdout') }}

)

select * from holdout
