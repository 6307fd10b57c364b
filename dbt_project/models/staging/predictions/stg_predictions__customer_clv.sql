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
        clv_param_low_365d,
        clv_param_high_365d,
        predictive_purchases_low_80,
        predictive_purchases_high_80,
        predictive_value_low_80,
        predictive_value_high_80,
        horizon_days,
        expected_purchases_horizon,
        predicted_clv_horizon,
        expected_days_between_orders,
        p_purchase_30d,
        p_purchase_60d,
        p_purchase_90d,
        expected_purchases_30d,
        expected_purchases_60d,
        expected_purchases_90d,
        median_days_to_next_purchase,
        expected_next_order_date,
        p_buy_again_given_alive,
        in_monetary_fit

    from source

)

select * from renamed
