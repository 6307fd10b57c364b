-- Movement between tiers from each analysis date in tier_history to the next one: how many
-- customers went from from_tier to to_tier. A customer who is not there at the earlier date
-- comes from 'none'; one who is gone at the later date goes to 'none'. So the counts of one pair
-- of dates add up to the customers of either date together. movement compares tier ranks
-- (config/tiers.yml, best first): upgrade, downgrade, same, new, lost; 'changed' for a tier that
-- is no longer configured.


with

history as (

    select * from {{ ref('tier_history') }}

),

dates as (

    select
        as_of as from_as_of,
        lead(as_of) over (order by as_of) as to_as_of

    from (select distinct as_of from history) as snapshot_dates

),

pairs as (

    select * from dates
    where to_as_of is not null

),

members as (

    -- every customer of either date of a pair, once
    select distinct
        pairs.from_as_of,
        pairs.to_as_of,
        history.customer_id

    from pairs
    inner join history on history.as_of in (pairs.from_as_of, pairs.to_as_of)

),

moves as (

    select
        members.from_as_of,
        members.to_as_of,
        coalesce(earlier.tier, 'none') as from_tier,
        coalesce(later.tier, 'none') as to_tier

    from members
    left join history as earlier
        on
            members.customer_id = earlier.customer_id
            and members.from_as_of = earlier.as_of
    left join history as later
        on
            members.customer_id = later.customer_id
            and members.to_as_of = later.as_of

),

counted as (

    select
        from_as_of,
        to_as_of,
        from_tier,
        to_tier,
        count(*) as customers

    from moves
    group by from_as_of, to_as_of, from_tier, to_tier

),

ranked as (

    select
        *,
        {{ tier_rank_of('from_tier') }} as from_tier_rank,
        {{ tier_rank_of('to_tier') }} as to_tier_rank

    from counted

),

classified as (

    select
        from_as_of,
        to_as_of,
        from_tier,
        to_tier,
        customers,
        case
            when from_tier = 'none' then 'new'
            when to_tier = 'none' then 'lost'
            when from_tier = to_tier then 'same'
            when from_tier_rank is null or to_tier_rank is null then 'changed'
            when to_tier_rank < from_tier_rank then 'upgrade'
            else 'downgrade'
        end as movement

    from ranked

)

select * from classified
