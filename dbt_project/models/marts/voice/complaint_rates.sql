-- Complaints per 100 purchase orders, per period (month, quarter) x dimension x value, as of the
-- analysis date. A complaint is a feedback item with a low rating (at most voice.low_rating_max)
-- or a category in voice.complaint_categories.
--   store        complaints of customers whose home store it is; orders made at the store
--   value_class  complaints of the customers of the RFM value class; their orders
--   tier         complaints of the customers of the tier; their orders
-- A complaint of an anonymous or unknown customer (or one without a home store) is under
-- `unknown`, and so are orders without a store.

{%- set periods = ['month', 'quarter'] %}
{#- Each dimension: how an order and how a complaint are placed in it. -#}
{%- set dimensions = [
    {'name': 'store', 'of_order': 'store_id',
        'of_complaint': "coalesce(home_store_id, 'unknown')"},
    {'name': 'value_class', 'of_order': 'value_class',
        'of_complaint': "coalesce(value_class, 'unknown')"},
    {'name': 'tier', 'of_order': 'tier', 'of_complaint': "coalesce(tier, 'unknown')"},
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
        coalesce(order_lines.store_id, 'unknown') as store_id,
        coalesce(customers.value_class, 'unknown') as value_class,
        coalesce(tiers.tier, 'unknown') as tier

    from order_lines
    left join customers on order_lines.customer_id = customers.customer_id
    left join tiers on order_lines.customer_id = tiers.customer_id
    where order_lines.amount >= 0

),

orders_counted as (

    {%- for period_type in periods %}
        {%- set outer_last = loop.last %}
        {%- for dimension in dimensions %}
            select
                '{{ period_type }}' as period_type,
                {{ period_label(period_type, 'order_date') }} as period,
                '{{ dimension.name }}' as dimension,
                {{ dimension.of_order }} as dimension_value,
                count(distinct order_id) as orders

            from purchases
            group by all
            {%- if not (outer_last and loop.last) %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}

),

complaints_counted as (

    {%- for period_type in periods %}
        {%- set outer_last = loop.last %}
        {%- for dimension in dimensions %}
            select
                '{{ period_type }}' as period_type,
                feedback_{{ period_type }} as period,
                '{{ dimension.name }}' as dimension,
                {{ dimension.of_complaint }} as dimension_value,
                count(*) as complaints

            from feedback_tiered
            where is_complaint
            group by all
            {%- if not (outer_last and loop.last) %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}

),

joined as (

    select
        coalesce(orders_counted.period_type, complaints_counted.period_type) as period_type,
        coalesce(orders_counted.period, complaints_counted.period) as period,
        coalesce(orders_counted.dimension, complaints_counted.dimension) as dimension,
        coalesce(orders_counted.dimension_value, complaints_counted.dimension_value)
            as dimension_value,
        coalesce(complaints_counted.complaints, 0) as complaints,
        coalesce(orders_counted.orders, 0) as orders

    from orders_counted
    full outer join complaints_counted
        on
            orders_counted.period_type = complaints_counted.period_type
            and orders_counted.period = complaints_counted.period
            and orders_counted.dimension = complaints_counted.dimension
            and orders_counted.dimension_value = complaints_counted.dimension_value

),

final as (

    select
        period_type,
        period,
        dimension,
        dimension_value,
        complaints,
        orders,
        round(cast(complaints as double) * 100 / nullif(orders, 0), 2) as complaints_per_100_orders

    from joined

)

select * from final
