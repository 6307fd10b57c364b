with

source as (

    select * from {{ source('predictions', 'clv_tracking') }}

),

renamed as (

    select
        as_of,
        calibration_end,
        model,
        week_index,
        week_start,
        week_end,
        period,
        expected_cumulative_repeat_purchases

    from source

)

select * from renamed
