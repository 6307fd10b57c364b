-- Complaints per 100 purchase orders per period (month, quarter) x tier, as of the analysis
-- date: the figures and columns of complaint_rates (macros/voice.sql, complaint_rates_of) for
-- dimension `tier`, complaints of the customers of the tier over their orders. A complaint of
-- an anonymous or unknown customer is under `unknown`. Apart from complaint_rates because the
-- tiers wait for the CLV fit and the other voice figures do not.

{%- set dimensions = [
    {'name': 'tier', 'of_order': 'tier', 'of_complaint': "coalesce(tier, 'unknown')"},
] %}

with

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

tiers as (

    select * from {{ ref('int_customers_tiered') }}

),

feedback_tiered as (

    select
        feedback.*,
        tiers.tier

    from feedback
    left join tiers on feedback.customer_id = tiers.customer_id

),

-- the purchase lines of each order (an order made only of returns is not a purchase)
purchases as (

    select distinct
        order_lines.order_id,
        order_lines.order_date,
        coalesce(tiers.tier, 'unknown') as tier

    from order_lines
    left join tiers on order_lines.customer_id = tiers.customer_id
    where order_lines.amount >= 0

),

final as (

    {{ complaint_rates_of('purchases', 'feedback_tiered', dimensions) }}

)

select * from final
