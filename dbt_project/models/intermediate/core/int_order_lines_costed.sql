{{ config(materialized='view') }}

-- Order lines dated on or before the analysis date, with their cost resolved: the line's own
-- cost, else quantity (1 when empty) x the product's unit_cost, else unknown (counted as 0 in
-- profit and reported as cost_source = 'unknown').

with

order_lines as (

    select * from {{ ref('stg_shop__orders') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

in_window as (

    select order_lines.*
    from order_lines
    inner join as_of on order_lines.order_date <= as_of.as_of

),

costed as (

    select
        in_window.order_id,
        in_window.customer_id,
        in_window.ordered_at,
        in_window.order_date,
        in_window.product_id,
        in_window.quantity,
        in_window.amount,
        -- decimal throughout: exact sums, so reruns classify profit identically
        coalesce(
            in_window.cost,
            cast(coalesce(in_window.quantity, 1) as decimal(18, 4)) * products.unit_cost
        ) as cost,
        case
            when in_window.cost is not null then 'line'
            when products.unit_cost is not null then 'product_unit_cost'
            else 'unknown'
        end as cost_source,
        in_window.channel,
        in_window.store_id,
        in_window._source_file,
        in_window._row_number

    from in_window
    left join products on in_window.product_id = products.product_id

),

with_profit as (

    select
        *,
        amount - coalesce(cost, 0) as profit

    from costed

)

select * from with_profit
