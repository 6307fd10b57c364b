-- ABC (Pareto) classes of customers by three bases: revenue, profit (amount - cost) and
-- frequency (distinct orders). In `share` mode A is the first 20% of customers by value, B the
-- next 50%, C the rest (shares in config/tiers.yml); a customer counts with every customer whose
-- value is at least theirs, so equal values always share a class. In `threshold` mode the
-- classes come from fixed limits on value per month instead. In `combined` mode (the practice's
-- "monthly amount over 1,000 and frequent") one class per customer comes from limits on several
-- bases at once (abc.combined): A when every limit of A is reached, else B likewise, else C.

{%- set abc = cfg('abc') %}
{#- value per month: over the months of tenure, at least one (as value_per_month below) #}
{%- set months = 'greatest(1.0, cast(' ~ days_between('first_order_date', 'as_of') ~ ' as double)'
    ~ ' / 30.4375)' %}
{%- set per_month = {
    'revenue': 'cast(monetary as double) / ' ~ months,
    'profit': 'cast(profit as double) / ' ~ months,
    'frequency': 'cast(frequency as double) / ' ~ months,
} %}
{%- set combined_limits = {'A': [], 'B': []} %}
{%- for class in ['A', 'B'] %}
    {%- for basis, minimum in abc.combined[class].items() %}
        {%- set _ = combined_limits[class].append(per_month[basis] ~ ' >= ' ~ minimum) %}
    {%- endfor %}
{%- endfor %}

with

summarized as (

    select * from {{ ref('int_customers_summarized') }}

),

-- the class of the combined mode: every minimum of abc.combined.A reached, else of B, else C
customers as (

    select
        *,
        case
            when {{ combined_limits.A | join(' and ') }} then 'A'
            when {{ combined_limits.B | join(' and ') }} then 'B'
            else 'C'
        end as combined_class

    from summarized

),

by_basis as (

    select
        customer_id,
        as_of,
        first_order_date,
        combined_class,
        'revenue' as basis,
        monetary as value
    from customers
    union all
    select
        customer_id,
        as_of,
        first_order_date,
        combined_class,
        'profit' as basis,
        profit as value
    from customers
    union all
    select
        customer_id,
        as_of,
        first_order_date,
        combined_class,
        'frequency' as basis,
        frequency as value
    from customers

),

-- Ranks and shares depend on a customer's value only: computed once per distinct value of a
-- basis (a few hundred thousand at most, 165 frequencies at 1M customers) and joined back,
-- instead of a sort of every customer.
value_counts as (

    select
        basis,
        value,
        count(*) as customers_with_value,
        sum(value) as value_total

    from by_basis
    group by basis, value

),

cumulative as (

    {{ cumulative_from_top('value_counts', 'basis', 'value', ['customers_with_value', 'value_total']) }}

),

cumulated as (

    select
        basis,
        value,
        customers_with_value,
        cast(customers_with_value_at_or_above as bigint) as customers_at_or_above,
        cast(customers_with_value_in_group as bigint) as customers_in_basis,
        value_total_at_or_above as value_at_or_above,
        value_total_in_group as value_in_basis

    from cumulative

),

ranked as (

    select
        by_basis.customer_id,
        by_basis.basis,
        cast(by_basis.value as decimal(18, 4)) as value,
        -- value per month of the customer's tenure (at least one month of 30.4375 days)
        cast(by_basis.value as double)
        / greatest(
            1.0, cast({{ days_between('by_basis.first_order_date', 'by_basis.as_of') }} as double) / 30.4375
        ) as value_per_month,
        -- equal values share a rank (1, 2, 2, 4): 1 + the customers with a greater value
        cumulated.customers_at_or_above - cumulated.customers_with_value + 1 as rank,
        cumulated.customers_at_or_above,
        cumulated.customers_in_basis,
        cumulated.value_at_or_above,
        cumulated.value_in_basis,
        by_basis.combined_class

    from by_basis
    inner join cumulated
        on
            by_basis.basis = cumulated.basis
            -- a null value (none is expected) would rank last, as in a sort
            and by_basis.value is not distinct from cumulated.value

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
        {%- elif abc.mode == 'combined' %}
            combined_class as abc_class,
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
