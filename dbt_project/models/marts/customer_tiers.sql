-- The contract's customer_tiers: every customer as of the analysis date with their lifecycle
-- stage, tier and why, the service playbook of that tier and stage, when to get in touch next,
-- and their account manager. Callbacks follow the playbook's cadence counted from the last order
-- (from the signup date, or the analysis date, before a first order).

{%- set stage_labels_zh = {} %}
{%- for label in cfg('lifecycle.labels') %}
    {%- do stage_labels_zh.update({label.stage: label.label_zh}) %}
{%- endfor %}

with

tiered as (

    select * from {{ ref('int_customers_tiered') }}

),

playbooks as (

    {{ playbook_rows() }}

),

assignments as (

    select *
    from {{ ref('stg_assignments__account_assignments') }}
    where as_of = (select resolved.as_of from {{ ref('int_as_of_resolved') }} as resolved)

),

staff as (

    select count(*) > 0 as has_staff from {{ ref('stg_shop__staff') }}

),

joined as (

    select
        tiered.customer_id,
        tiered.as_of,
        tiered.lifecycle_stage,
        {{ label_case('tiered.lifecycle_stage', stage_labels_zh) }} as lifecycle_stage_zh,
        tiered.lifecycle_reason,
        tiered.tier,
        tiered.tier_label_zh,
        tiered.tier_rank,
        tiered.tier_weight,
        tiered.tier_reason,
        playbooks.playbook,
        playbooks.contact_every_days,
        playbooks.channel as contact_channel,
        playbooks.benefits,
        playbooks.care_actions,
        coalesce(tiered.last_order_date, tiered.signup_date, tiered.as_of) as cadence_anchor,
        -- without a staff source nobody is assigned: the customers file's manager stands
        case
            when staff.has_staff then assignments.staff_id
            else tiered.profile_account_manager_id
        end as account_manager_id,
        assignments.assignment_reason

    from tiered
    cross join staff
    inner join playbooks
        on
            tiered.tier = playbooks.tier
            and tiered.lifecycle_stage = playbooks.lifecycle_stage
    left join assignments on tiered.customer_id = assignments.customer_id

),

scheduled as (

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
        case
            when contact_every_days is not null
                then {{ next_on_cadence('cadence_anchor', 'as_of', 'contact_every_days') }}
        end as next_contact_on,
        account_manager_id,
        assignment_reason

    from joined

)

select * from scheduled
