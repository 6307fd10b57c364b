{{
    config(
        materialized=fact_staging_materialization(),
        on_schema_change='fail',
        post_hook="{{ delete_replaced_loads(source('shop', 'surveys')) }}",
    )
}}

with

source as (

    select * from {{ source('shop', 'surveys') }} as loaded_rows
    {{ not_yet_staged('loaded_rows') }}

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
        comment as survey_comment,
        _source_file,
        _row_number,
        _run_id

    from source

)

select * from renamed
