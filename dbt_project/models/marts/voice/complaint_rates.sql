-- Complaints per 100 purchase orders, per period (month, quarter) x dimension x value, as of the
-- analysis date. A complaint is a feedback item with a low rating (at most voice.low_rating_max)
-- or a category in voice.complaint_categories.
--   store        complaints of customers whose home store it is; orders made at the store
--   value_class  complaints of the customers of the RFM value class; their orders
-- A complaint of an anonymous or unknown customer (or one without a home store) is under
-- `unknown`, and so are orders without a store. By tier: complaint_rates_by_tier (the counting:
-- macros/voice.sql, complaint_rates_of).

{#- Each dimension: how an order and how a complaint are placed in it. -#}
{%- set dimensions = [
    {'name': 'store', 'of_order': 'store_id',
        'of_complaint': "coalesce(home_store_id, 'unknown')"},
    {'name': 'value_class', 'of_order': 'value_class',
        'of_complaint': "coalesce(value_class, 'unknown')"},
] %}

with

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

customers as (

    select * from {{ ref('int_customer_voice_dimensions') }}

),

-- the purchase lines of each order (an order made only of returns is not a purchase)
purchases as (

    select distinct
        order_lines.order_id,
        order_lines.order_date,
        coalesce(order_lines.store_id, 'unknown') as store_id,
        coalesce(customers.value_class, 'unknown') as value_class

    from order_lines
    left join customers on order_lines.customer_id = customers.customer_id
    where order_lines.amount >= 0

),

final as (

    {{ complaint_rates_of('purchases', 'feedback', dimensions) }}

)

select * from final
