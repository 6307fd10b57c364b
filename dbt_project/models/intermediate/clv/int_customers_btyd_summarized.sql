-- The repeat-purchase summary that buy-till-you-die models (BG/NBD, Gamma-Gamma) are fitted
-- on, per customer with a purchase, in days, as of the analysis date: the standard summary
-- (purchases on one day count as one purchase day).
--   frequency  distinct purchase days after the first
--   recency    days from the first to the last purchase day
--   t          days from the first purchase day to as_of
--   monetary   average net value of the purchase days after the first (0 when there are none)

with

orders as (

    select * from {{ ref('int_orders_summarized') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

purchase_days as (

    select
        customer_id,
        order_date,
        sum(revenue) as day_value

    from orders
    where is_purchase
    group by customer_id, order_date

),

numbered as (

    select
        *,
        row_number() over (partition by customer_id order by order_date) as day_number

    from purchase_days

),

per_customer as (

    select
        customer_id,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        count(*) - 1 as frequency,
        {{ days_between('min(order_date)', 'max(order_date)') }} as recency,
        coalesce(avg(day_value) filter (where day_number > 1), 0) as monetary

    from numbered
    group by customer_id

),

summarized as (

    select
        per_customer.customer_id,
        per_customer.first_purchase_date,
        per_customer.last_purchase_date,
        per_customer.frequency,
        per_customer.recency,
        {{ days_between('per_customer.first_purchase_date', 'as_of.as_of') }} as t,
        cast(per_customer.monetary as double) as monetary,
        as_of.as_of

    from per_customer
    cross join as_of

)

select * from summarized
