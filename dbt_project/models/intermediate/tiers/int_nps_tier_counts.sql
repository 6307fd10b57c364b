-- Survey answers counted per period (month and quarter) x tier, as int_nps_counts counts them
-- by the voice dimensions: the counts nps_by_tier computes its figures from. A response of an
-- unknown customer counts under `unknown`. Apart from int_nps_counts because the tiers wait
-- for the CLV fit and the other voice figures do not.

{%- set dimensions = [('tier', 'tier')] %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

tiers as (

    select * from {{ ref('int_customers_tiered') }}

),

responses_tiered as (

    select
        responses.*,
        tiers.tier

    from responses
    left join tiers on responses.customer_id = tiers.customer_id

),

counted as (

    {{ nps_counts('responses_tiered', dimensions) }}

)

select * from counted
