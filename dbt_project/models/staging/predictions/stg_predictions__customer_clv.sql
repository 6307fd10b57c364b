with

source as (

    select * from {{ source('predictions', 'customer_clv') }}

),

renamed as (

    select
        customer_id,
        p_alive,
        expected_purchases_365d,
        expected_avg_order_value,
        predicted_clv_365d,
        predicted_clv_365d_low,
        predicted_clv_365d_high,
        horizon_days,
        expected_purchases_horizon,
        predicted_clv_horizon,
        expected_days_between_orders,
        in_monetary_fit

    from source

)

select * from renamed
