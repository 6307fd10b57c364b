with

source as (

    select * from {{ source('shop', 'surveys') }}

),

renamed as (

    select
        response_id,
        customer_id,
        responded_at,
        cast(responded_at as date) as response_date,
        nps_score,
        csat_score,
        repurchase_intent,
        lower(recommend) as recommend,
        comment as survey_comment

    from source

)

select * from renamed
