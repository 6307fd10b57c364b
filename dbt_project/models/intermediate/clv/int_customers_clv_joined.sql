-- Customer lifetime value, historical and predicted, for every customer with a purchase on or
-- before the analysis date, and when they buy next. The repeat-purchase summary (frequency,
-- recency, t, in days) is the one the purchase model in use (clv.model) and Gamma-Gamma were
-- fitted on; the predictions come from the Python asset predictions/customer_clv.

with

summary as (

    select * from {{ ref('int_customers_btyd_summarized') }}

),

facts as (

    select * from {{ ref('int_customers_summarized') }}

),

predictions as (

    select * from {{ ref('stg_predictions__customer_clv') }}

),

totals as (

    select sum(profit) as total_profit from facts

),

historical as (

    select
        customer_id,
        cast(monetary as double) / frequency as avg_order_value,
        -- purchases per year over the customer's tenure, at least clv.min_tenure_days: a
        -- customer known for less is credited with the orders made, not extrapolated
        cast(frequency as double) * 365.25
        / greatest(tenure_days, {{ cfg('clv.min_tenure_days') }}) as purchases_per_year,
        monetary as total_net_revenue,
        profit as profit_contribution

    from facts

),

joined as (

    select
        summary.customer_id,
        summary.as_of,
        summary.frequency,
        summary.recency,
        summary.t,
        {{ days_between('summary.last_purchase_date', 'summary.as_of') }} as days_since_last_order,
        summary.monetary as repeat_avg_value,
        historical.avg_order_value,
        historical.purchases_per_year,
        {{ cfg('clv.lifespan_years') }} as lifespan_years,
        historical.avg_order_value
        * historical.purchases_per_year
        * {{ cfg('clv.lifespan_years') }} as historical_clv,
        historical.total_net_revenue,
        historical.profit_contribution,
        cast(historical.profit_contribution as double)
        / nullif(totals.total_profit, 0) as profit_share,
        predictions.p_alive,
        predictions.expected_purchases_365d,
        predictions.expected_avg_order_value,
        predictions.predicted_clv_365d,
        predictions.clv_param_low_365d,
        predictions.clv_param_high_365d,
        predictions.predictive_purchases_low_80,
        predictions.predictive_purchases_high_80,
        predictions.predictive_value_low_80,
        predictions.predictive_value_high_80,
        predictions.horizon_days,
        predictions.expected_purchases_horizon,
        predictions.predicted_clv_horizon,
        predictions.expected_days_between_orders,
        predictions.p_purchase_30d,
        predictions.p_purchase_60d,
        predictions.p_purchase_90d,
        predictions.expected_purchases_30d,
        predictions.expected_purchases_60d,
        predictions.expected_purchases_90d,
        predictions.median_days_to_next_purchase,
        predictions.expected_next_order_date,
        predictions.p_buy_again_given_alive,
        predictions.in_monetary_fit

    from summary
    inner join historical on summary.customer_id = historical.customer_id
    cross join totals
    left join predictions on summary.customer_id = predictions.customer_id

)

select * from joined
