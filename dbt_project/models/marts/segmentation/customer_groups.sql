-- Customer groups (客户分群) for targeted campaigns, one row per customer and group: each
-- declared interest (the customers file's `;`-separated interests, trimmed), the dominant
-- product category (most net revenue on or before the analysis date; ties: the name first in
-- alphabetical order), the age band as of the analysis date (config/tiers.yml,
-- groups.age_band_starts) and the region. A customer without a signal has no row for it.

{%- set starts = cfg('groups.age_band_starts') %}

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

profiles as (

    select * from {{ ref('int_customers_tiered') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

declared as (

    select
        customer_id,
        {{ split_to_rows('interests', ';') }} as interest

    from profiles
    where interests is not null

),

interests as (

    select distinct
        customer_id,
        'interest' as group_type,
        trim(interest) as group_value

    from declared

),

category_revenue as (

    select
        order_lines.customer_id,
        products.product_category as category,
        sum(order_lines.amount) as revenue

    from order_lines
    inner join products on order_lines.product_id = products.product_id
    where products.product_category is not null
    group by order_lines.customer_id, products.product_category

),

ranked_categories as (

    select
        customer_id,
        category,
        row_number() over (partition by customer_id order by revenue desc, category asc) as category_rank

    from category_revenue

),

categories as (

    select
        customer_id,
        'category' as group_type,
        category as group_value

    from ranked_categories
    where category_rank = 1

),

aged as (

    select
        customer_id,
        -- full years: one less when this year's birthday is still to come
        year(as_of) - year(birth_date)
        - case
            when month(as_of) * 100 + day(as_of) < month(birth_date) * 100 + day(birth_date)
                then 1
            else 0
        end as age

    from profiles
    where birth_date is not null and birth_date <= as_of

),

age_bands as (

    select
        customer_id,
        'age_band' as group_type,
        case
            when age < {{ starts[0] }} then '<{{ starts[0] }}'
            {%- for start in starts %}
                {%- if loop.last %}
                    else '{{ start }}+'
                {%- else %}
                    when age < {{ starts[loop.index] }} then '{{ start }}-{{ starts[loop.index] - 1 }}'
                {%- endif %}
            {%- endfor %}
        end as group_value

    from aged

),

regions as (

    select
        customer_id,
        'region' as group_type,
        region as group_value

    from profiles
    where region is not null

),

grouped as (

    select * from interests
    union all
    select * from categories
    union all
    select * from age_bands
    union all
    select * from regions

),

labelled as (

    select
        grouped.customer_id,
        grouped.group_type,
        grouped.group_value,
        grouped.group_type || ':' || grouped.group_value as group_key,
        tiers.tier,
        tiers.lifecycle_stage,
        tiers.account_manager_id

    from grouped
    inner join tiers on grouped.customer_id = tiers.customer_id
    where grouped.group_value <> ''

)

select * from labelled
