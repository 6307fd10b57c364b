with

source as (

    select * from {{ source('shop', 'feedback') }}

),

renamed as (

    select
        feedback_id,
        customer_id,
        created_at,
        cast(created_at as date) as feedback_date,
        channel,
        category as feedback_category,
        rating,
        text as feedback_text

    from source

)

select * from renamed
