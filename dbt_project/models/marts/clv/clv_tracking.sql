-- The CLV backtest's tracking plot (docs/clv_backtest.md), one row per week from the week of
-- the first purchase of the data to as_of: the calibration cohort's cumulative repeat purchase
-- days, actual (int_clv_tracking_counted, SQL) against the backtest model's expectation
-- (stg_predictions__clv_tracking: E[X(t)] since each customer's first purchase, summed over the
-- cohort, orchestration/clv_tracking.py). The expected weeks lead; the actual ones are built on
-- the same calendar (a week without its actual counts fails the mart's not_null tests). Empty
-- when the backtest is skipped.

with

expected as (

    select * from {{ ref('stg_predictions__clv_tracking') }}

),

actual as (

    select * from {{ ref('int_clv_tracking_counted') }}

),

joined as (

    select
        expected.as_of,
        expected.calibration_end,
        expected.model,
        expected.week_index,
        expected.week_start,
        expected.week_end,
        expected.period,
        actual.customers,
        actual.repeat_purchases,
        actual.cumulative_repeat_purchases as actual_cumulative_repeat_purchases,
        expected.expected_cumulative_repeat_purchases

    from expected
    left join actual
        on
            expected.week_index = actual.week_index
            and expected.week_end = actual.week_end

)

select * from joined
