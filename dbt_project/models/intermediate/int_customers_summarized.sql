-- One row per customer with at least one order line on or before the analysis date: the
-- facts that RFM, ABC and CLV are computed from.

with

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

per_customer as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(distinct order_id) as frequency,
        count(distinct order_date) as purchase_days,
        count(*) as order_lines,
        sum(amount) as monetary,
        sum(profit) as profit,
        sum(case when amount < 0 then -amount else 0 end) as returned_amount,

    from order_lines
    group by customer_id

),

dated as (

    select
        per_customer.*,
        as_of.as_of,
        as_of.as_of - per_customer.last_order_date as recency_days,
        as_of.as_of - per_customer.first_order_date as tenure_days,

    from per_customer
    cross join as_of

)

select * from dated
