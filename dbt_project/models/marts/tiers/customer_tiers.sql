-- The contract's customer_tiers: every customer as of the analysis date with their lifecycle
-- stage, tier and why, the service playbook of that tier and stage, when to get in touch next,
-- and their account manager. The next contact comes from the action plan
-- (int_customers_contact_planned): the main action's due day (a win-back by its deadline, a
-- detractor follow-up, or the playbook's cadence counted from the last order, from the signup
-- date, or the analysis date, before a first order); none for a let_go, unassigned,
-- stop-contact or held-out customer.

with

planned as (

    select * from {{ ref('int_customers_contact_planned') }}

),

final as (

    select
        customer_id,
        as_of,
        lifecycle_stage,
        lifecycle_stage_zh,
        lifecycle_reason,
        tier,
        tier_label_zh,
        tier_rank,
        tier_weight,
        tier_reason,
        playbook,
        contact_every_days,
        contact_channel,
        benefits,
        care_actions,
        cadence_anchor,
        next_contact_on,
        account_manager_id,
        assignment_reason

    from planned

)

select * from final
