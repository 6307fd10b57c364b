-- One row per customer with at least one purchase on or before the analysis date: the facts
-- that RFM, ABC and CLV are computed from. A purchase is any order but one made only of
-- returns (negative lines): such an order does not count in frequency or recency, but its
-- negative amount does count in net revenue and profit.

with

orders as (

    select * from {{ ref('int_orders_summarized') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

per_customer as (

    select
        customer_id,
        min(order_date) filter (where is_purchase) as first_order_date,
        max(order_date) filter (where is_purchase) as last_order_date,
        count(*) filter (where is_purchase) as frequency,
        sum(order_lines) as order_lines,
        sum(revenue) as monetary,
        sum(profit) as profit,
        sum(returned_amount) as returned_amount

    from orders
    group by customer_id

),

dated as (

    select
        per_customer.*,
        as_of.as_of,
        {{ days_between('per_customer.last_order_date', 'as_of.as_of') }} as recency_days,
        {{ days_between('per_customer.first_order_date', 'as_of.as_of') }} as tenure_days

    from per_customer
    cross join as_of
    where per_customer.frequency > 0

)

select * from dated
