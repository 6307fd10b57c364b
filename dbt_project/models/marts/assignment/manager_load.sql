-- Workload of every account manager as of the analysis date: customers and weighted load (the
-- tier weights of config/tiers.yml), against capacity and against the mean load of the active
-- managers. Inactive managers are listed with what they still hold (nothing, after a run).

{%- set levels = cfg('tiers.levels') %}

with

staff as (

    select * from {{ ref('stg_shop__staff') }}

),

assigned as (

    select * from {{ ref('account_assignment') }}
    where staff_id is not null

),

per_manager as (

    select
        staff_id,
        count(*) as customers,
        {%- for level in levels %}
            {#- quoted: a tier's name may hold any character (Platinum+, 钻石) #}
            count(*) filter (where tier = {{ sql_string(level.name) }})
                as {{ adapter.quote(level.name | lower | replace(' ', '_') ~ '_customers') }},
        {%- endfor %}
        sum(tier_weight) as weighted_load

    from assigned
    group by staff_id

),

loaded as (

    select
        staff.staff_id,
        staff.staff_name,
        staff.store_id,
        staff.is_active,
        staff.capacity,
        coalesce(per_manager.customers, 0) as customers,
        coalesce(per_manager.weighted_load, 0) as weighted_load,
        {%- for level in levels %}
            {%- set column = adapter.quote(level.name | lower | replace(' ', '_') ~ '_customers') %}
            coalesce(per_manager.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        -- an inactive manager takes nobody, whatever their capacity
        case
            when staff.is_active then staff.capacity - coalesce(per_manager.customers, 0) else 0
        end as room

    from staff
    left join per_manager on staff.staff_id = per_manager.staff_id

),

compared as (

    select
        *,
        -- the mean of the active managers (avg skips the others' nulls); a case, not
        -- `filter (where ..) over ()`, which sqlfluff's Spark dialect cannot parse
        avg(case when is_active then cast(weighted_load as double) end) over () as mean_weighted_load,
        cast(weighted_load as double)
        / nullif(avg(case when is_active then cast(weighted_load as double) end) over (), 0)
            as load_vs_mean

    from loaded

)

select * from compared
