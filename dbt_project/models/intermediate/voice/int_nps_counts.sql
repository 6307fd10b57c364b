-- Survey answers counted per period (month and quarter) x dimension x dimension value: the
-- counts nps_summary computes its figures from. Every response counts once in each dimension:
-- under `overall` as `all`, and under the customer's RFM segment, value class, ABC class by
-- revenue, home store and main channel, as `unknown` when the customer or their dimension is
-- unknown. None of these needs the CLV fit, so the voice figures are built before it; by tier:
-- int_nps_tier_counts.

{%- set dimensions = [
    ('overall', "'all'"),
    ('rfm_segment', 'rfm_segment'),
    ('value_class', 'value_class'),
    ('abc_class', 'abc_class'),
    ('store', 'home_store_id'),
    ('channel', 'main_channel'),
] %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

counted as (

    {{ nps_counts('responses', dimensions) }}

)

select * from counted
