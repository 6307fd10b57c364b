-- The run's headline figures, one row for the analysis date. `tiers run`'s summary, the Dagster
-- metadata of the published warehouse and `tiers report` all read these columns, so each figure
-- has one definition.
--
-- The Pareto figure: the top customers by revenue are those for whom the customers with revenue
-- at least theirs make up no more than abc.shares.A of the customers with a purchase
-- (customer_abc.customer_share on the revenue basis; config/tiers.yml, 20% by default), so equal
-- revenues never split; the figure is their share of revenue. In the ABC share mode they are
-- exactly class A; in the threshold and combined modes class A may be another set, and the
-- figure stays a point of the Lorenz curve.

{%- set top_share = cfg('abc.shares.A') %}

with

analysis_date as (

    select max(as_of) as as_of from {{ ref('int_as_of_resolved') }}

),

customer_count as (

    select count(*) as customers from {{ ref('customers') }}

),

revenue_ranks as (

    select
        value,
        customer_share <= cast({{ top_share }} as double) as is_top

    from {{ ref('customer_abc') }}
    where basis = 'revenue'

),

pareto as (

    select
        count(*) as pareto_customers,
        count(case when is_top then 1 end) as pareto_top_customers,
        cast(sum(case when is_top then value end) as double)
        / nullif(cast(sum(value) as double), 0) as pareto_top_revenue_share

    from revenue_ranks

),

clv_fit as (

    select
        -- the purchase model in use, fitted on the history up to as_of
        max(
            case
                when in_use and fitted_on = 'as_of' and model <> 'gamma_gamma' then customers
            end
        ) as clv_fitted_customers,
        coalesce(
            max(case when model = 'gamma_gamma' and fitted_on = 'as_of' then excluded end), 0
        ) as clv_monetary_excluded

    from {{ ref('clv_model_params') }}

),

quarters as (

    select
        period,
        responses,
        nps,
        nps_moe_95

    from {{ ref('nps_summary') }}
    where dimension = 'overall' and period_type = 'quarter' and responses > 0

),

latest_period as (

    select max(period) as period from quarters

),

latest_quarter as (

    select
        quarters.period as nps_period,
        quarters.responses as nps_responses,
        quarters.nps,
        quarters.nps_moe_95

    from quarters
    inner join latest_period on quarters.period = latest_period.period

),

without_manager as (

    select count(*) as customers_without_manager
    from {{ ref('account_assignment') }}
    where reason = 'no_capacity'

),

-- movement between tiers into the analysis date, from the snapshot before it (tier_migration)
moves_to_as_of as (

    select
        max(tier_migration.from_as_of) as migration_from_as_of,
        sum(case when tier_migration.movement = 'upgrade' then tier_migration.customers end)
            as customers_upgraded,
        sum(case when tier_migration.movement = 'downgrade' then tier_migration.customers end)
            as customers_downgraded,
        sum(case when tier_migration.movement = 'new' then tier_migration.customers end)
            as customers_new,
        sum(case when tier_migration.movement = 'lost' then tier_migration.customers end)
            as customers_lost

    from {{ ref('tier_migration') }} as tier_migration
    inner join analysis_date on tier_migration.to_as_of = analysis_date.as_of

),

headlines as (

    select
        analysis_date.as_of,
        customer_count.customers,
        cast({{ top_share }} as double) as pareto_top_share_limit,
        pareto.pareto_customers,
        pareto.pareto_top_customers,
        cast(pareto.pareto_top_customers as double)
        / nullif(pareto.pareto_customers, 0) as pareto_top_customer_share,
        pareto.pareto_top_revenue_share,
        clv_fit.clv_fitted_customers,
        clv_fit.clv_monetary_excluded,
        latest_quarter.nps_period,
        latest_quarter.nps_responses,
        latest_quarter.nps,
        latest_quarter.nps_moe_95,
        without_manager.customers_without_manager,
        moves_to_as_of.migration_from_as_of,
        -- zero, not empty, when there is a pair of dates; empty when there is none
        case
            when moves_to_as_of.migration_from_as_of is not null
                then cast(coalesce(moves_to_as_of.customers_upgraded, 0) as bigint)
        end as customers_upgraded,
        case
            when moves_to_as_of.migration_from_as_of is not null
                then cast(coalesce(moves_to_as_of.customers_downgraded, 0) as bigint)
        end as customers_downgraded,
        case
            when moves_to_as_of.migration_from_as_of is not null
                then cast(coalesce(moves_to_as_of.customers_new, 0) as bigint)
        end as customers_new,
        case
            when moves_to_as_of.migration_from_as_of is not null
                then cast(coalesce(moves_to_as_of.customers_lost, 0) as bigint)
        end as customers_lost

    from analysis_date
    cross join customer_count
    cross join pareto
    cross join clv_fit
    cross join without_manager
    cross join moves_to_as_of
    left join latest_quarter on 1 = 1

)

select * from headlines
