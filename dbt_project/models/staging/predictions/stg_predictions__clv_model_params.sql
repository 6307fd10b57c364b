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
        monthly_discount_rate

    from source

)

select * from renamed
