{{ config(materialized='view') }}

-- One row per order on or before the analysis date. An order is a purchase unless every one of
-- its lines is a return (negative amount): a zero-value order (a gift, a voucher) still counts.

with

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

orders as (

    select
        customer_id,
        order_id,
        min(order_date) as order_date,
        bool_or(amount >= 0) as is_purchase,
        count(*) as order_lines,
        sum(amount) as revenue,
        sum(profit) as profit,
        sum(case when amount < 0 then -amount else 0 end) as returned_amount

    from order_lines
    group by customer_id, order_id

)

select * from orders
