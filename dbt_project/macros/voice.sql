-- noqa: disable=LT02
{#- (sqlfluff's indentation rule cannot follow the loops over periods and dimensions of
    nps_counts and complaint_rates_of below.) -#}
{#- Period label of a day: '2025-03' for period_type 'month', '2025-Q1' for 'quarter'. Its first
    and last day: period_start and period_end (macros/cross_engine.sql). -#}
{% macro period_label(period_type, day) -%}
    {%- if period_type == 'month' -%}
        {{ year_month(day) }}
    {%- elif period_type == 'quarter' -%}
        concat(year({{ day }}), '-Q', quarter({{ day }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("period_label: unknown period type " ~ period_type) }}
    {%- endif -%}
{%- endmacro %}


{#- NPS group of a 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6 (null when empty). -#}
{% macro nps_group(score) -%}
    case
        when {{ score }} >= 9 then 'promoter'
        when {{ score }} >= 7 then 'passive'
        when {{ score }} >= 0 then 'detractor'
    end
{%- endmacro %}


{#- Survey answers counted per period (month and quarter) x dimension x dimension value, from
    `responses` (a relation or CTE with the columns of int_survey_responses_dated and whatever
    the expressions read). `dimensions`: (name, expression) pairs; every response counts once
    in each, under `unknown` when the expression is empty. One select (the periods and
    dimensions a union in a subquery), so a model can place it in a CTE: int_nps_counts by the
    voice dimensions, int_nps_tier_counts by tier. -#}
{% macro nps_counts(responses, dimensions) %}
    select
        period_type,
        period,
        period_start,
        period_end,
        as_of,
        dimension,
        dimension_value,
        count(*) as survey_responses,
        count(nps_group) as responses,
        count(*) filter (where nps_group = 'promoter') as promoters,
        count(*) filter (where nps_group = 'passive') as passives,
        count(*) filter (where nps_group = 'detractor') as detractors,
        count(csat_score) as csat_responses,
        count(*) filter (where is_satisfied) as csat_satisfied,
        count(nps_group) filter (where not is_known_customer) as unknown_customer_responses

    from (
        {%- for period_type in ['month', 'quarter'] %}
            {%- set outer_last = loop.last %}
            {%- for dimension, expression in dimensions %}
                select
                    '{{ period_type }}' as period_type,
                    response_{{ period_type }} as period,
                    {{ period_start(period_type, 'response_date') }} as period_start,
                    {{ period_end(period_type, 'response_date') }} as period_end,
                    as_of,
                    '{{ dimension }}' as dimension,
                    coalesce({{ expression }}, 'unknown') as dimension_value,
                    nps_group,
                    csat_score,
                    is_satisfied,
                    is_known_customer

                from {{ responses }}
                {%- if not (outer_last and loop.last) %}
                    union all
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
    ) as by_dimension
    group by period_type, period, period_start, period_end, as_of, dimension, dimension_value
{% endmacro %}


{#- Net Promoter Score and CSAT per period x dimension x value from `relation` (with
    the columns of int_nps_counts), with a 95% margin of error and a z test against the
    previous period: the whole query of nps_summary and nps_by_tier.
      nps         100 x (promoters - detractors) / responses, in points from -100 to 100
      nps_moe_95  1.96 x sqrt((pP + pD - (pP - pD)^2) / n) x 100: the 95% margin of error of the
                  NPS in points, pP and pD the promoter and detractor shares of the n responses
      z           (NPS - previous NPS) / sqrt(SE^2 + previous SE^2), SE = margin / 1.96: the
                  change is significant at 95% when |z| > 1.96; null without a previous period
                  or when both standard errors are zero
    The previous period is the latest earlier period of the same type that has responses in
    the same dimension and value. -#}
{% macro nps_figures(relation) %}
with

counts as (

    select * from {{ relation }}

),

shares as (

    select
        *,
        cast(promoters as double) / nullif(responses, 0) as promoter_share,
        cast(detractors as double) / nullif(responses, 0) as detractor_share

    from counts

),

measured as (

    select
        *,
        100 * (promoter_share - detractor_share) as nps_exact,
        -- standard error of the NPS in points; the variance of one answer (+1 promoter, 0
        -- passive, -1 detractor) is pP + pD - (pP - pD)^2, never negative but for rounding
        100 * sqrt(
            greatest(promoter_share + detractor_share - pow(promoter_share - detractor_share, 2), 0)
            / nullif(responses, 0)
        ) as nps_se

    from shares

),

previous as (

    select
        period_type,
        period,
        dimension,
        dimension_value,
        lag(period) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_period,
        lag(nps_exact) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_nps_exact,
        lag(nps_se) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_se

    from measured
    where responses > 0

),

compared as (

    select
        measured.*,
        previous.previous_period,
        previous.previous_nps_exact,
        (measured.nps_exact - previous.previous_nps_exact)
        / nullif(sqrt(pow(measured.nps_se, 2) + pow(previous.previous_se, 2)), 0) as z_exact

    from measured
    left join previous
        on
            measured.period_type = previous.period_type
            and measured.period = previous.period
            and measured.dimension = previous.dimension
            and measured.dimension_value = previous.dimension_value

),

final as (

    select
        period_type,
        period,
        period_start,
        period_end,
        period_end <= as_of as is_complete_period,
        as_of,
        dimension,
        dimension_value,
        responses,
        promoters,
        passives,
        detractors,
        round(nps_exact, 2) as nps,
        round(1.96 * nps_se, 2) as nps_moe_95,
        round(cast(csat_satisfied as double) * 100 / nullif(csat_responses, 0), 2) as csat,
        csat_responses,
        responses < {{ cfg('voice.min_responses') }} as small_sample,
        unknown_customer_responses,
        previous_period,
        round(previous_nps_exact, 2) as previous_nps,
        round(nps_exact - previous_nps_exact, 2) as nps_change,
        round(z_exact, 3) as z,
        abs(z_exact) > 1.96 as change_significant

    from compared

)

select * from final
{% endmacro %}


{#- Complaints per 100 purchase orders per period (month, quarter) x dimension x value, from
    `purchases` (distinct order_id, order_date and one column per dimension) and `feedback`
    (the columns of int_feedback_dated and the dimensions' columns). `dimensions`: dicts of
    name, of_order (the dimension's value of a purchase) and of_complaint (of a complaint).
    One select, so a model can place it in a CTE: complaint_rates by store and value class,
    complaint_rates_by_tier by tier. -#}
{% macro complaint_rates_of(purchases, feedback, dimensions) %}
    select
        period_type,
        period,
        dimension,
        dimension_value,
        complaints,
        orders,
        round(cast(complaints as double) * 100 / nullif(orders, 0), 2) as complaints_per_100_orders

    from (
        select
            coalesce(orders_counted.period_type, complaints_counted.period_type) as period_type,
            coalesce(orders_counted.period, complaints_counted.period) as period,
            coalesce(orders_counted.dimension, complaints_counted.dimension) as dimension,
            coalesce(orders_counted.dimension_value, complaints_counted.dimension_value)
                as dimension_value,
            coalesce(complaints_counted.complaints, 0) as complaints,
            coalesce(orders_counted.orders, 0) as orders

        from (
            {%- for period_type in ['month', 'quarter'] %}
                {%- set outer_last = loop.last %}
                {%- for dimension in dimensions %}
                    select
                        '{{ period_type }}' as period_type,
                        {{ period_label(period_type, 'order_date') }} as period,
                        '{{ dimension.name }}' as dimension,
                        {{ dimension.of_order }} as dimension_value,
                        count(distinct order_id) as orders

                    from {{ purchases }}
                    group by all
                    {%- if not (outer_last and loop.last) %}
                        union all
                    {%- endif %}
                {%- endfor %}
            {%- endfor %}
        ) as orders_counted
        full outer join (
            {%- for period_type in ['month', 'quarter'] %}
                {%- set outer_last = loop.last %}
                {%- for dimension in dimensions %}
                    select
                        '{{ period_type }}' as period_type,
                        feedback_{{ period_type }} as period,
                        '{{ dimension.name }}' as dimension,
                        {{ dimension.of_complaint }} as dimension_value,
                        count(*) as complaints

                    from {{ feedback }}
                    where is_complaint
                    group by all
                    {%- if not (outer_last and loop.last) %}
                        union all
                    {%- endif %}
                {%- endfor %}
            {%- endfor %}
        ) as complaints_counted
            on
                orders_counted.period_type = complaints_counted.period_type
                and orders_counted.period = complaints_counted.period
                and orders_counted.dimension = complaints_counted.dimension
                and orders_counted.dimension_value = complaints_counted.dimension_value
    ) as joined
{% endmacro %}
