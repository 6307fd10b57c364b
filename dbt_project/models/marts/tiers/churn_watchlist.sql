-- Customers at risk of churning, as of the analysis date, with what to do about them, from the
-- action plan (int_customers_contact_planned; docs/actions.md): the first risk level of
-- config/tiers.yml churn.levels whose test the customer meets (P(alive) below the level's
-- threshold, days since the last purchase above the level's factor times their own expected
-- days between purchases, or the chance of any purchase in the next 90 days below the level's
-- p_purchase_90d_below; the lifecycle stages at_risk, dormant and churned meet at least the
-- last level), and the decision: win_back or reactivation (dormant) by the deadline when value
-- at stake x lift x margin covers the action's cost and an account manager makes the contact,
-- let_go when it does not or the stage stops contact, unassigned when no manager has room.

with

planned as (

    select * from {{ ref('int_customers_contact_planned') }}
    where risk_level is not null

),

final as (

    select
        customer_id,
        as_of,
        risk_level,
        risk_reason,
        lifecycle_stage,
        tier,
        p_alive,
        p_purchase_90d,
        days_since_last_order,
        expected_days_between_orders,
        predicted_clv_365d,
        value_at_stake,
        lift,
        lift_source,
        expected_gain,
        action_cost,
        churn_action as action,
        economics_reason as action_reason,
        win_back_deadline,
        account_manager_id,
        next_contact_on,
        experiment_id,
        holdout

    from planned

)

select * from final
