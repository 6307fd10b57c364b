-- The actual half of the CLV backtest's tracking plot (docs/clv_backtest.md): per week, the
-- repeat purchase days of the calibration cohort (every customer whose first purchase day is on
-- or before the calibration end) and their running total, across calibration and holdout.
-- A purchase day is counted as in int_customers_backtest_summarized: distinct days with a
-- purchase, every one after the customer's first a repeat purchase. The weeks end on the
-- calibration end (the last calibration week) and go back 7 days at a time to the week of the
-- first purchase of the data; the holdout weeks go forward to as_of, the last one shorter when
-- holdout_days is not a multiple of 7. orchestration/clv_tracking.py builds the same weeks for
-- the expected half. Empty when the backtest is skipped.

with

orders as (

    select * from {{ ref('int_orders_summarized') }}
    where is_purchase

),

window_ as (

    select
        as_of,
        holdout_days,
        calibration_end,
        {{ int_div(days_between('first_purchase_date', 'calibration_end'), 7) }}
            as last_calibration_week

    from (
        select
            as_of,
            holdout_days,
            first_purchase_date,
            as_of - cast(holdout_days as integer) as calibration_end

        from {{ ref('int_clv_backtest_windowed') }}
        where skipped_reason is null
    ) as windowed

),

purchase_days as (

    select distinct
        customer_id,
        order_date

    from orders

),

numbered as (

    select
        customer_id,
        order_date,
        row_number() over (partition by customer_id order by order_date) as day_number,
        min(order_date) over (partition by customer_id) as first_purchase_date

    from purchase_days

),

aged as (

    select
        numbered.day_number,
        window_.last_calibration_week,
        {{ days_between('window_.calibration_end', 'numbered.order_date') }} as days_after_end

    from numbered
    cross join window_
    where numbered.first_purchase_date <= window_.calibration_end

),

placed as (

    select
        day_number,
        case
            when days_after_end <= 0
                then last_calibration_week - {{ int_div('(0 - days_after_end)', 7) }}
            else last_calibration_week + 1 + {{ int_div('(days_after_end - 1)', 7) }}
        end as week_index

    from aged

),

per_week as (

    select
        week_index,
        cast(sum(case when day_number > 1 then 1 else 0 end) as bigint) as repeat_purchases,
        cast(sum(case when day_number = 1 then 1 else 0 end) as bigint) as first_purchases

    from placed
    group by week_index

),

weeks as (

    select
        as_of,
        calibration_end,
        holdout_days,
        last_calibration_week,
        {{ steps_to('last_calibration_week + ' ~ int_div('(holdout_days + 6)', 7)) }} as week_index

    from window_

),

dated as (

    select
        as_of,
        calibration_end,
        week_index,
        case
            when week_index <= last_calibration_week
                then calibration_end - cast(7 * (last_calibration_week - week_index) + 6 as integer)
            else calibration_end + cast(7 * (week_index - last_calibration_week - 1) + 1 as integer)
        end as week_start,
        case
            when week_index <= last_calibration_week
                then calibration_end - cast(7 * (last_calibration_week - week_index) as integer)
            else
                least(
                    calibration_end + cast(7 * (week_index - last_calibration_week) as integer),
                    as_of
                )
        end as week_end,
        case when week_index <= last_calibration_week then 'calibration' else 'holdout' end
            as period

    from weeks

),

counted as (

    select
        dated.as_of,
        dated.calibration_end,
        dated.week_index,
        dated.week_start,
        dated.week_end,
        dated.period,
        coalesce(per_week.repeat_purchases, 0) as repeat_purchases,
        cast(sum(coalesce(per_week.repeat_purchases, 0)) over running as bigint)
            as cumulative_repeat_purchases,
        cast(sum(coalesce(per_week.first_purchases, 0)) over running as bigint) as customers

    from dated
    left join per_week on dated.week_index = per_week.week_index
    window running as (order by dated.week_index rows between unbounded preceding and current row)

)

select * from counted
