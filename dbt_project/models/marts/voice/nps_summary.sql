-- Net Promoter Score and CSAT per period (month, quarter) x dimension x dimension value, as of
-- the analysis date, with a 95% margin of error and a z test against the previous period.
--   nps         100 x (promoters - detractors) / responses, in points from -100 to 100
--   nps_moe_95  1.96 x sqrt((pP + pD - (pP - pD)^2) / n) x 100: the 95% margin of error of the
--               NPS in points, pP and pD the promoter and detractor shares of the n responses
--   z           (NPS - previous NPS) / sqrt(SE^2 + previous SE^2), SE = margin / 1.96: the
--               change is significant at 95% when |z| > 1.96; null without a previous period
--               or when both standard errors are zero
-- The previous period is the latest earlier period of the same type that has responses in the
-- same dimension and value.

with

counts as (

    select * from {{ ref('int_nps_counts') }}

),

shares as (

    select
        *,
        cast(promoters as double) / nullif(responses, 0) as promoter_share,
        cast(detractors as double) / nullif(responses, 0) as detractor_share

    from counts

),

measured as (

    select
        *,
        100 * (promoter_share - detractor_share) as nps_exact,
        -- standard error of the NPS in points; the variance of one answer (+1 promoter, 0
        -- passive, -1 detractor) is pP + pD - (pP - pD)^2, never negative but for rounding
        100 * sqrt(
            greatest(promoter_share + detractor_share - pow(promoter_share - detractor_share, 2), 0)
            / nullif(responses, 0)
        ) as nps_se

    from shares

),

previous as (

    select
        period_type,
        period,
        dimension,
        dimension_value,
        lag(period) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_period,
        lag(nps_exact) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_nps_exact,
        lag(nps_se) over (
            partition by period_type, dimension, dimension_value order by period
        ) as previous_se

    from measured
    where responses > 0

),

compared as (

    select
        measured.*,
        previous.previous_period,
        previous.previous_nps_exact,
        (measured.nps_exact - previous.previous_nps_exact)
        / nullif(sqrt(pow(measured.nps_se, 2) + pow(previous.previous_se, 2)), 0) as z_exact

    from measured
    left join previous
        on
            measured.period_type = previous.period_type
            and measured.period = previous.period
            and measured.dimension = previous.dimension
            and measured.dimension_value = previous.dimension_value

),

final as (

    select
        period_type,
        period,
        period_start,
        period_end,
        period_end <= as_of as is_complete_period,
        as_of,
        dimension,
        dimension_value,
        responses,
        promoters,
        passives,
        detractors,
        round(nps_exact, 2) as nps,
        round(1.96 * nps_se, 2) as nps_moe_95,
        round(cast(csat_satisfied as double) * 100 / nullif(csat_responses, 0), 2) as csat,
        csat_responses,
        responses < {{ cfg('voice.min_responses') }} as small_sample,
        unknown_customer_responses,
        previous_period,
        round(previous_nps_exact, 2) as previous_nps,
        round(nps_exact - previous_nps_exact, 2) as nps_change,
        round(z_exact, 3) as z,
        abs(z_exact) > 1.96 as change_significant

    from compared

)

select * from final
