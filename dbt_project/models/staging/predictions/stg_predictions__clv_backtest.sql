with

source as (

    select * from {{ source('predictions', 'clv_backtest') }}

),

renamed as (

    select
        as_of,
        calibration_end,
        holdout_days,
        model,
        section,
        label,
        customers,
        actual_purchases,
        predicted_purchases,
        actual_revenue,
        predicted_revenue,
        mean_p_alive,
        predicted_share_buying,
        observed_share_buying,
        value,
        note

    from source

)

select * from renamed
