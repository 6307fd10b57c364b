-- Feedback per period (month, quarter) x category, as of the analysis date: how many items,
-- their average rating, how many were low ratings and complaints. Category `all` is the total
-- of the period; items without a category are under `unknown`.

{%- set periods = ['month', 'quarter'] %}

with

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

by_period as (

    {%- for period_type in periods %}
        select
            '{{ period_type }}' as period_type,
            feedback_{{ period_type }} as period,
            {{ period_start(period_type, 'feedback_date') }} as period_start,
            {{ period_end(period_type, 'feedback_date') }} as period_end,
            as_of,
            coalesce(feedback_category, 'unknown') as feedback_category,
            rating,
            is_low_rating,
            is_complaint,
            is_known_customer

        from feedback
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

summarized as (

    select
        period_type,
        period,
        period_start,
        period_end,
        as_of,
        -- the second grouping set has no category: the total of the period
        coalesce(feedback_category, 'all') as feedback_category,
        count(*) as feedback_items,
        count(rating) as rated_items,
        round(avg(rating), 2) as avg_rating,
        count(*) filter (where is_low_rating) as low_ratings,
        count(*) filter (where is_complaint) as complaints,
        count(*) filter (where not is_known_customer) as anonymous_items

    from by_period
    group by grouping sets (
        (period_type, period, period_start, period_end, as_of, feedback_category),
        (period_type, period, period_start, period_end, as_of)
    )

)

select * from summarized
