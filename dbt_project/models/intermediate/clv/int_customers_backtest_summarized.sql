-- The CLV backtest's data, per customer with a purchase on or before the calibration end
-- (int_clv_backtest_windowed): the repeat-purchase summary as of the calibration end (the same
-- definitions as int_customers_btyd_summarized), what the customer did in the holdout (purchase
-- days and net revenue after the calibration end up to as_of) and the historical-CLV inputs as
-- of the calibration end (orders, net revenue, tenure; customer_clv's formula). Empty when the
-- backtest is skipped.

with

orders as (

    select * from {{ ref('int_orders_summarized') }}

),

window_ as (

    select * from {{ ref('int_clv_backtest_windowed') }}
    where skipped_reason is null

),

placed as (

    select
        orders.*,
        window_.holdout_days,
        window_.as_of,
        {{ days_between('orders.order_date', 'window_.as_of') }} >= window_.holdout_days
            as in_calibration

    from orders
    cross join window_

),

calibration_days as (

    select
        customer_id,
        order_date,
        sum(revenue) as day_value,
        row_number() over (partition by customer_id order by order_date) as day_number

    from placed
    where in_calibration and is_purchase
    group by customer_id, order_date

),

calibrated as (

    select
        customer_id,
        min(order_date) as first_purchase_date,
        count(*) - 1 as frequency,
        {{ days_between('min(order_date)', 'max(order_date)') }} as recency,
        cast(coalesce(avg(day_value) filter (where day_number > 1), 0) as double) as monetary

    from calibration_days
    group by customer_id

),

calibration_orders as (

    select
        customer_id,
        count(*) filter (where is_purchase) as calibration_orders,
        sum(revenue) as calibration_revenue

    from placed
    where in_calibration
    group by customer_id

),

holdout as (

    select
        customer_id,
        count(distinct case when is_purchase then order_date end) as holdout_purchase_days,
        sum(revenue) as holdout_revenue

    from placed
    where not in_calibration
    group by customer_id

),

summarized as (

    select
        calibrated.customer_id,
        calibrated.frequency,
        calibrated.recency,
        {{ days_between('calibrated.first_purchase_date', 'window_.as_of') }}
        - window_.holdout_days as t,
        calibrated.monetary,
        coalesce(holdout.holdout_purchase_days, 0) as holdout_purchase_days,
        cast(coalesce(holdout.holdout_revenue, 0) as double) as holdout_revenue,
        calibration_orders.calibration_orders,
        cast(calibration_orders.calibration_revenue as double) as calibration_revenue

    from calibrated
    cross join window_
    inner join calibration_orders on calibrated.customer_id = calibration_orders.customer_id
    left join holdout on calibrated.customer_id = holdout.customer_id

)

select * from summarized
