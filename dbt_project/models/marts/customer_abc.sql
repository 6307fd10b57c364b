-- ABC (Pareto) classes of customers by three bases: revenue, profit (amount - cost) and
-- frequency (distinct orders). In `share` mode A is the first 20% of customers by value, B the
-- next 50%, C the rest (shares in config/tiers.yml); a customer counts with every customer whose
-- value is at least theirs, so equal values always share a class. In `threshold` mode the
-- classes come from fixed limits on value per month instead.

{%- set abc = cfg('abc') %}

with

customers as (

    select * from {{ ref('int_customers_summarized') }}

),

by_basis as (

    select
        customer_id,
        as_of,
        first_order_date,
        'revenue' as basis,
        monetary as value
    from customers
    union all
    select
        customer_id,
        as_of,
        first_order_date,
        'profit' as basis,
        profit as value
    from customers
    union all
    select
        customer_id,
        as_of,
        first_order_date,
        'frequency' as basis,
        frequency as value
    from customers

),

ranked as (

    select
        customer_id,
        basis,
        cast(value as decimal(18, 4)) as value,
        -- value per month of the customer's tenure (at least one month of 30.4375 days)
        cast(value as double)
        / greatest(1.0, (as_of - first_order_date) / 30.4375) as value_per_month,
        rank() over (partition by basis order by value desc) as rank,
        count(*) over (
            partition by basis order by value desc
            range between unbounded preceding and current row
        ) as customers_at_or_above,
        count(*) over (partition by basis) as customers_in_basis,
        sum(value) over (
            partition by basis order by value desc
            range between unbounded preceding and current row
        ) as value_at_or_above,
        sum(value) over (partition by basis) as value_in_basis

    from by_basis

),

classified as (

    select
        customer_id,
        basis,
        value,
        value_per_month,
        rank,
        cast(customers_at_or_above as double) / customers_in_basis as customer_share,
        cast(value_at_or_above as double) / nullif(value_in_basis, 0) as cumulative_share,
        {%- if abc.mode == 'share' %}
            case
                when
                    customers_at_or_above
                    <= cast({{ abc.shares.A }} as decimal(9, 6)) * customers_in_basis
                    then 'A'
                when
                    customers_at_or_above
                    <= (cast({{ abc.shares.A }} as decimal(9, 6)) + cast({{ abc.shares.B }} as decimal(9, 6)))
                    * customers_in_basis
                    then 'B'
                else 'C'
            end as abc_class,
        {%- else %}
            case
                {%- for basis, limits in abc.thresholds.items() %}
                    when basis = '{{ basis }}' and value_per_month >= {{ limits.A }} then 'A'
                    when basis = '{{ basis }}' and value_per_month >= {{ limits.B }} then 'B'
                {%- endfor %}
                else 'C'
            end as abc_class,
        {%- endif %}
        '{{ abc.mode }}' as abc_mode

    from ranked

),

labelled as (

    select
        *,
        {{ label_case('abc_class', abc.labels_zh) }} as abc_class_zh

    from classified

)

select * from labelled
