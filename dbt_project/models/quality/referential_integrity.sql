-- References between the sources that do not resolve, counted per run, and the rule applied to
-- each (none of them drops a row):
--   orders of a customer missing from the customers file      derive: the customer is kept with
--                                                             an empty profile
--   order lines of a product missing from the products file   keep: the line's own cost, else
--                                                             cost unknown (profit counts 0)
--   survey responses / feedback of an unknown customer        keep: counted in `overall` only
--   customers whose account manager is not in the staff file  reassign: manager_inactive
-- A check whose referenced file is absent is not run (is_checked = false, counts 0): everything
-- would be unknown.

{#- Each check: the relation and column holding the reference, the file it should resolve in
    (checked only when that file has rows), the rule, and the test for an unresolved row. -#}
{%- set checks = [
    {'source': 'orders', 'relation': 'orders', 'column': 'customer_id',
        'referenced': 'customers', 'rule': 'derive', 'present': 'has_customers',
        'unresolved': 'customer_id not in (select customers.customer_id from customers)'},
    {'source': 'orders', 'relation': 'orders', 'column': 'product_id',
        'referenced': 'products', 'rule': 'keep', 'present': 'has_products',
        'unresolved': 'product_id not in (select products.product_id from products)'},
    {'source': 'surveys', 'relation': 'responses', 'column': 'customer_id',
        'referenced': 'customers', 'rule': 'keep', 'present': 'has_customers',
        'unresolved': 'not is_known_customer'},
    {'source': 'feedback', 'relation': 'feedback', 'column': 'customer_id',
        'referenced': 'customers', 'rule': 'keep', 'present': 'has_customers',
        'unresolved': 'not is_known_customer'},
    {'source': 'customers', 'relation': 'customers', 'column': 'account_manager_id',
        'referenced': 'staff', 'rule': 'reassign', 'present': 'has_staff',
        'unresolved': 'account_manager_id not in (select staff.staff_id from staff)'},
] %}

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

checked as (

    {%- for check in checks %}
        select
            '{{ check.source }}' as source_name,
            '{{ check.column }}' as reference_column,
            '{{ check.referenced }}' as referenced_source,
            '{{ check.rule }}' as applied_rule,
            (select file_presence.{{ check.present }} from file_presence) as is_checked,
            count(*) as unresolved_rows,
            count(distinct {{ check.column }}) as unresolved_ids

        from {{ check.relation }}
        where
            (select file_presence.{{ check.present }} from file_presence)
            and {{ check.column }} is not null
            and {{ check.unresolved }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from checked
