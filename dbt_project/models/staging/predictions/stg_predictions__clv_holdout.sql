with

source as (

    select * from {{ source('predictions', 'clv_holdout') }}

),

renamed as (

    select
        calibration_frequency,
        frequency_label,
        customers,
        actual_purchases,
        expected_purchases,
        holdout_days

    from source

)

select * from renamed
