-- One row per customer with at least one purchase on or before the analysis date: the facts
-- that RFM, ABC and CLV are computed from. A purchase is an order with at least one line of
-- positive amount; an order made only of returns is not a purchase (it does not count in
-- frequency or recency) but its negative amount does count in net revenue and profit.

with

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

orders as (

    select
        customer_id,
        order_id,
        min(order_date) as order_date,
        bool_or(amount > 0) as is_purchase,
        count(*) as order_lines,
        sum(amount) as revenue,
        sum(profit) as profit,
        sum(case when amount < 0 then -amount else 0 end) as returned_amount

    from order_lines
    group by customer_id, order_id

),

per_customer as (

    select
        customer_id,
        min(order_date) filter (where is_purchase) as first_order_date,
        max(order_date) filter (where is_purchase) as last_order_date,
        count(*) filter (where is_purchase) as frequency,
        count(distinct order_date) filter (where is_purchase) as purchase_days,
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
        as_of.as_of - per_customer.last_order_date as recency_days,
        as_of.as_of - per_customer.first_order_date as tenure_days

    from per_customer
    cross join as_of
    where per_customer.frequency > 0

)

select * from dated
