-- References between the sources that do not resolve, counted per run, and the rule applied to
-- each (none of them drops a row):
--   orders of a customer missing from the customers file      derive: the customer is kept with
--                                                             an empty profile
--   order lines of a product missing from the products file   keep: the line's own cost, else
--                                                             cost unknown (profit counts 0)
--   survey responses / feedback of an unknown customer        keep: counted in `overall` only
--   customers whose account manager is not in the staff file  reassign: manager_inactive
-- A check whose referenced file is absent is not run (checked = false, counts 0): everything
-- would be unknown.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

staff as (

    select * from {{ ref('stg_shop__staff') }}

),

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

file_presence as (

    select
        (select count(*) from customers) > 0 as has_customers,
        (select count(*) from products) > 0 as has_products,
        (select count(*) from staff) > 0 as has_staff

),

unknown_customers_of_orders as (

    select
        'orders' as source_name,
        'customer_id' as reference_column,
        'customers' as referenced_source,
        'derive' as applied_rule,
        (select file_presence.has_customers from file_presence) as is_checked,
        count(*) as unresolved_rows,
        count(distinct orders.customer_id) as unresolved_ids

    from orders
    where
        (select file_presence.has_customers from file_presence)
        and orders.customer_id not in (select customers.customer_id from customers)

),

unknown_products_of_orders as (

    select
        'orders' as source_name,
        'product_id' as reference_column,
        'products' as referenced_source,
        'keep' as applied_rule,
        (select file_presence.has_products from file_presence) as is_checked,
        count(*) as unresolved_rows,
        count(distinct orders.product_id) as unresolved_ids

    from orders
    where
        (select file_presence.has_products from file_presence)
        and orders.product_id is not null
        and orders.product_id not in (select products.product_id from products)

),

unknown_customers_of_responses as (

    select
        'surveys' as source_name,
        'customer_id' as reference_column,
        'customers' as referenced_source,
        'keep' as applied_rule,
        (select file_presence.has_customers from file_presence) as is_checked,
        count(*) as unresolved_rows,
        count(distinct customer_id) as unresolved_ids

    from responses
    where
        customer_id is not null
        and not is_known_customer
        and (select file_presence.has_customers from file_presence)

),

unknown_customers_of_feedback as (

    select
        'feedback' as source_name,
        'customer_id' as reference_column,
        'customers' as referenced_source,
        'keep' as applied_rule,
        (select file_presence.has_customers from file_presence) as is_checked,
        count(*) as unresolved_rows,
        count(distinct customer_id) as unresolved_ids

    from feedback
    where
        customer_id is not null
        and not is_known_customer
        and (select file_presence.has_customers from file_presence)

),

unknown_managers_of_customers as (

    select
        'customers' as source_name,
        'account_manager_id' as reference_column,
        'staff' as referenced_source,
        'reassign' as applied_rule,
        (select file_presence.has_staff from file_presence) as is_checked,
        count(*) as unresolved_rows,
        count(distinct customers.account_manager_id) as unresolved_ids

    from customers
    where
        (select file_presence.has_staff from file_presence)
        and customers.account_manager_id is not null
        and customers.account_manager_id not in (select staff.staff_id from staff)

),

checked as (

    select * from unknown_customers_of_orders
    union all
    select * from unknown_products_of_orders
    union all
    select * from unknown_customers_of_responses
    union all
    select * from unknown_customers_of_feedback
    union all
    select * from unknown_managers_of_customers

)

select * from checked
