-- The next-best categories of every customer with a purchase (config/tiers.yml,
-- recommendations; docs/recommendations.md): the top_k categories they have not bought (or
-- not within rebuy_after_days), best first. A category's score is the confidence of the best
-- rule from a category the customer bought (marts.category_affinity), when it beats the
-- category's popularity, else the popularity; the reason says which, in English and Chinese.
-- Customers in bundle_stages (regular customers) get their best rule as a bundle offer: the
-- recommended category with the category of theirs behind it (产品套装推送).

{%- set rec = cfg('recommendations') %}

with

bought as (

    select * from {{ ref('int_customer_categories') }}

),

lifecycle as (

    select * from {{ ref('int_customers_lifecycled') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

buying_customers as (

    select distinct customer_id
    from bought

),

-- categories not to offer: bought at all, or within rebuy_after_days of the analysis date
not_again as (

    select
        customer_id,
        category

    from bought
    {%- if rec.rebuy_after_days is not none %}
        where days_since_bought <= {{ rec.rebuy_after_days }}
    {%- endif %}

),

{{ category_affinity_ctes('all_', 'bought', rec.min_support) }},

{{ next_category_ctes('all_', 'buying_customers', 'bought', 'not_again', rec.top_k) }},

top_k as (

    select
        ranked.*,
        lifecycle.lifecycle_stage,
        -- the customer's best rule, among their top k
        row_number() over (
            partition by ranked.customer_id
            order by
                case when ranked.basis = 'affinity' then 0 else 1 end,
                ranked.score desc,
                ranked.category asc
        ) as affinity_order

    from all_ranked as ranked
    left join lifecycle on ranked.customer_id = lifecycle.customer_id
    where ranked.recommendation_rank <= {{ rec.top_k }}

),

bundled as (

    select
        *,
        coalesce(
            basis = 'affinity'
            and affinity_order = 1
            and {{ is_one_of('lifecycle_stage', rec.bundle_stages) }},
            false
        ) as is_bundle,
        cast(cast(round(score * 100) as integer) as {{ dbt.type_string() }}) as score_percent

    from top_k

),

offered as (

    select
        *,
        case when is_bundle then concat('bundle ', antecedent, ' + ', category, ': ') else '' end
            as bundle_prefix,
        case when is_bundle then concat('套装推荐 ', antecedent, ' + ', category, '：') else '' end
            as bundle_prefix_zh

    from bundled

),

final as (

    select
        offered.customer_id,
        as_of.as_of,
        offered.recommendation_rank,
        offered.category,
        offered.score,
        offered.basis,
        -- the rule only when it is what the score comes from
        case when offered.basis = 'affinity' then offered.antecedent end as because_bought,
        case when offered.basis = 'affinity' then offered.support end as support,  -- noqa: RF04
        case when offered.basis = 'affinity' then offered.confidence end as confidence,
        case when offered.basis = 'affinity' then offered.lift end as lift,
        offered.popularity,
        offered.lifecycle_stage,
        case when offered.is_bundle then 'bundle' else 'recommend' end as offer,
        case when offered.is_bundle then offered.antecedent end as bundle_with,
        case
            when offered.basis = 'affinity'
                then concat(
                    offered.bundle_prefix,
                    'bought ', offered.antecedent, '; ', offered.score_percent,
                    '% of customers who bought ', offered.antecedent, ' also bought ', offered.category
                )
            else concat('popular: ', offered.score_percent, '% of customers bought ', offered.category)
        end as reason,
        case
            when offered.basis = 'affinity'
                then concat(
                    offered.bundle_prefix_zh,
                    '买过', offered.antecedent, '；买过', offered.antecedent, '的客户中',
                    offered.score_percent, '%也买了', offered.category
                )
            else concat('热门品类：', offered.score_percent, '%的客户买过', offered.category)
        end as reason_zh

    from offered
    cross join as_of

)

select * from final
