with

source as (

    select * from {{ source('predictions', 'clv_model_params') }}

),

renamed as (

    select
        as_of,
        model,
        parameter,
        value,
        std_error,
        log_likelihood,
        customers,
        excluded,
        horizon_days,
        monthly_discount_rate,
        fitted_on,
        holdout_log_likelihood,
        in_use

    from source

)

select * from renamed
