-- Who to call back: detractors and low ratings of the last voice.followup_days days up to the
-- analysis date (as_of is day 1 of the window), one row per item, oldest first. A survey item
-- is a customer's latest response on or before as_of when its NPS answer is 0-6 (a response
-- without a customer_id stands alone); a feedback item is one rated at most
-- voice.low_rating_max. With the customer's tier, value class, ABC class by revenue, net revenue
-- and account manager (the assigned one; the customers file's when none is assigned), so the
-- follow-up can be prioritised and routed.

{%- set voice = cfg('voice') %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

feedback as (

    select * from {{ ref('int_feedback_dated') }}

),

customers as (

    select * from {{ ref('int_customer_voice_dimensions') }}

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

),

final as (

    select
        row_number() over (order by items.item_date, items.item_id, items.item_source) as followup_rank,
        items.item_source,
        items.item_id,
        items.customer_id,
        items.is_known_customer,
        items.item_date,
        items.item_at,
        {{ days_between('items.item_date', 'items.as_of') }} as days_waiting,
        items.score,
        items.score_scale,
        items.feedback_category,
        items.item_text,
        tiers.tier,
        tiers.tier_label_zh,
        customers.value_class,
        customers.abc_class,
        customers.monetary,
        coalesce(tiers.account_manager_id, customers.account_manager_id) as account_manager_id,
        items.as_of

    from items
    left join customers on items.customer_id = customers.customer_id
    left join tiers on items.customer_id = tiers.customer_id

)

select * from final
