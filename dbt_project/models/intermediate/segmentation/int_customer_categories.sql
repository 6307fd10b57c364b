-- One row per customer and product category they bought on or before the analysis date: a
-- purchase line (amount > 0; returns and free lines are not purchases) of a product with a
-- category. Walk-in sales (no customer) and products without a category are left out. The
-- input of category_affinity, customer_next_category and next_category_evaluation.

with

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

bought as (

    select
        order_lines.customer_id,
        products.product_category as category,
        min(order_lines.order_date) as first_bought_on,
        max(order_lines.order_date) as last_bought_on,
        count(distinct order_lines.order_id) as orders

    from order_lines
    inner join products on order_lines.product_id = products.product_id
    where
        order_lines.amount > 0
        and order_lines.customer_id is not null
        and products.product_category is not null
    group by order_lines.customer_id, products.product_category

),

dated as (

    select
        bought.customer_id,
        bought.category,
        bought.first_bought_on,
        bought.last_bought_on,
        bought.orders,
        as_of.as_of,
        {{ days_between('bought.last_bought_on', 'as_of.as_of') }} as days_since_bought

    from bought
    cross join as_of

)

select * from dated
