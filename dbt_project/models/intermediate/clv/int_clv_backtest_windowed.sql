-- The window of this run's CLV backtest (config clv.backtest), one row: calibration up to
-- as_of - holdout_days, holdout from the next day to as_of. The holdout is the configured
-- holdout_days, shortened to half the purchase history when the history is shorter than twice
-- that (the calibration is never shorter than the holdout); a holdout shorter than
-- min_holdout_days skips the backtest, and skipped_reason says why.

{%- set backtest = cfg('clv.backtest') %}

with

orders as (

    select * from {{ ref('int_orders_summarized') }}
    where is_purchase

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

history as (

    select min(order_date) as first_purchase_date from orders

),

windowed as (

    select
        as_of.as_of,
        history.first_purchase_date,
        coalesce({{ days_between('history.first_purchase_date', 'as_of.as_of') }}, 0)
            as history_days,
        {{ backtest.holdout_days }} as configured_holdout_days,
        least(
            {{ backtest.holdout_days }},
            {%- set history_days = days_between('history.first_purchase_date', 'as_of.as_of') %}
            {{ int_div("coalesce(" ~ history_days ~ ", 0)", 2) }}
        ) as holdout_days

    from as_of
    cross join history

),

explained as (

    select
        *,
        case
            when holdout_days < {{ backtest.min_holdout_days }}
                then
                    'the purchase history spans ' || history_days || ' days: a backtest needs '
                    || {{ 2 * backtest.min_holdout_days }}
                    || ' (a holdout of at least {{ backtest.min_holdout_days }} days,'
                    || ' clv.backtest.min_holdout_days, after a calibration as long)'
        end as skipped_reason

    from windowed

)

select * from explained
