-- Survey responses dated on or before the analysis date (later ones are outside this run), with
-- their month and quarter, NPS group (promoter 9-10, passive 7-8, detractor 0-6), whether the
-- CSAT answer counts as satisfied (4 or 5), and the dimensions of the customer. A response from
-- a customer_id that is not a customer of this run is kept (is_known_customer = false, empty
-- dimensions): it counts in the overall figures.

with

responses as (

    select * from {{ ref('stg_shop__surveys') }}

),

customers as (

    select * from {{ ref('int_customer_voice_dimensions') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

in_window as (

    select
        responses.*,
        as_of.as_of

    from responses
    inner join as_of on responses.response_date <= as_of.as_of

),

dated as (

    select
        in_window.response_id,
        in_window.customer_id,
        in_window.responded_at,
        in_window.response_date,
        in_window.as_of,
        {{ period_label('month', 'in_window.response_date') }} as response_month,
        {{ period_label('quarter', 'in_window.response_date') }} as response_quarter,
        in_window.nps_score,
        {{ nps_group('in_window.nps_score') }} as nps_group,
        in_window.csat_score,
        in_window.csat_score >= 4 as is_satisfied,
        in_window.repurchase_intent,
        in_window.recommend,
        in_window.survey_comment,
        customers.customer_id is not null as is_known_customer,
        customers.rfm_segment,
        customers.value_class,
        customers.abc_class,
        customers.home_store_id,
        customers.main_channel

    from in_window
    left join customers on in_window.customer_id = customers.customer_id

)

select * from dated
