-- Feedback items dated on or before the analysis date, with their month and quarter, whether
-- the rating is low (at most voice.low_rating_max) and whether the item is a complaint (a low
-- rating, or a category in voice.complaint_categories), and the dimensions of the customer.
-- Anonymous items and items of an unknown customer_id are kept with empty dimensions.

{%- set voice = cfg('voice') %}

with

feedback as (

    select * from {{ ref('stg_shop__feedback') }}

),

customers as (

    select * from {{ ref('int_customer_voice_dimensions') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

in_window as (

    select
        feedback.*,
        as_of.as_of

    from feedback
    inner join as_of on feedback.feedback_date <= as_of.as_of

),

flagged as (

    select
        *,
        coalesce(rating <= {{ voice.low_rating_max }}, false) as is_low_rating,
        {%- if voice.complaint_categories %}
            coalesce(
                lower(feedback_category) in (
                    {%- for category in voice.complaint_categories %}
                        lower({{ sql_string(category) }}){{ "," if not loop.last }}
                    {%- endfor %}
                ),
                false
            ) as is_complaint_category
        {%- else %}
            false as is_complaint_category
        {%- endif %}

    from in_window

),

dated as (

    select
        flagged.feedback_id,
        flagged.customer_id,
        flagged.created_at,
        flagged.feedback_date,
        flagged.as_of,
        {{ period_label('month', 'flagged.feedback_date') }} as feedback_month,
        {{ period_label('quarter', 'flagged.feedback_date') }} as feedback_quarter,
        flagged.channel,
        flagged.feedback_category,
        flagged.rating,
        flagged.feedback_text,
        flagged.is_low_rating,
        flagged.is_low_rating or flagged.is_complaint_category as is_complaint,
        customers.customer_id is not null as is_known_customer,
        customers.value_class,
        customers.abc_class,
        customers.home_store_id

    from flagged
    left join customers on flagged.customer_id = customers.customer_id

)

select * from dated
