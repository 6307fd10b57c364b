-- Purchase days after the analysis date, per customer of the repeat-purchase summary: the
-- holdout period that checks the BG/NBD predictions (calibration up to as_of, holdout from the
-- next day to the latest order). Empty in everyday runs, where as_of is the latest order day.

with

order_lines as (

    select * from {{ ref('stg_shop__orders') }}

),

calibration as (

    select * from {{ ref('int_customers_btyd_summarized') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

holdout_end as (

    select max(order_date) as holdout_end from order_lines

),

holdout_purchases as (

    select
        order_lines.customer_id,
        order_lines.order_id,
        min(order_lines.order_date) as order_date

    from order_lines
    cross join as_of
    where order_lines.order_date > as_of.as_of
    group by order_lines.customer_id, order_lines.order_id
    having bool_or(order_lines.amount >= 0)

),

purchase_days as (

    select distinct
        customer_id,
        order_date

    from holdout_purchases

),

summarized as (

    select
        calibration.customer_id,
        calibration.frequency as calibration_frequency,
        count(purchase_days.order_date) as holdout_purchase_days,
        {{ days_between('calibration.as_of', 'holdout_end.holdout_end') }} as holdout_days

    from calibration
    cross join holdout_end
    left join purchase_days on calibration.customer_id = purchase_days.customer_id
    where holdout_end.holdout_end > calibration.as_of
    group by all

)

select * from summarized
