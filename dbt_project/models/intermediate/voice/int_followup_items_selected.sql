-- The detractors and low ratings to follow up, as of the analysis date: one row per item of
-- the last voice.followup_days days up to as_of (as_of is day 1 of the window). A survey item
-- is a customer's latest response on or before as_of when its NPS answer is 0-6 (a response
-- without a customer_id stands alone); a feedback item is one rated at most
-- voice.low_rating_max. Read by the action plan (int_customers_contact_planned) and by
-- detractor_followups, so both follow up the same items.

{%- set voice = cfg('voice') %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

ranked_responses as (

    select
        *,
        row_number() over (
            partition by customer_id order by responded_at desc, response_id desc
        ) as response_rank

    from responses

),

latest_responses as (

    select *
    from ranked_responses
    where customer_id is null or response_rank = 1

),

items as (

    select
        'survey' as item_source,
        response_id as item_id,
        customer_id,
        is_known_customer,
        responded_at as item_at,
        response_date as item_date,
        as_of,
        nps_score as score,
        'nps 0-10' as score_scale,
        cast(null as {{ dbt.type_string() }}) as feedback_category,
        survey_comment as item_text

    from latest_responses
    where
        nps_group = 'detractor'
        and response_date > as_of - {{ voice.followup_days }}
    union all
    select
        'feedback' as item_source,
        feedback_id as item_id,
        customer_id,
        is_known_customer,
        created_at as item_at,
        feedback_date as item_date,
        as_of,
        rating as score,
        'rating 1-5' as score_scale,
        feedback_category,
        feedback_text as item_text

    from feedback
    where
        is_low_rating
        and feedback_date > as_of - {{ voice.followup_days }}

)

select * from items
