-- How well customer_next_category's method predicts (docs/recommendations.md): for every
-- customer with at least two categories, the category they took up last (latest first
-- purchase; ties: the name last in alphabetical order) is hidden, along with every purchase of
-- it; affinity and popularity are computed again from what is left, and a hit is the hidden
-- category among the customer's first k recommendations, k = 3 and 1. A row per recommender
-- and k: the method (`affinity`) and the most-popular baseline (`most_popular`: the most
-- popular categories the customer has not bought). rebuy_after_days does not apply here (a
-- customer's categories are never offered back).

{%- set k = 3 %}

with

bought as (

    select * from {{ ref('int_customer_categories') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

adoption as (

    select
        customer_id,
        category,
        row_number() over (
            partition by customer_id order by first_bought_on desc, category desc
        ) as adoption_order,
        count(*) over (partition by customer_id) as categories

    from bought

),

hidden as (

    select
        customer_id,
        category

    from adoption
    where categories >= 2 and adoption_order = 1

),

evaluated as (

    select customer_id
    from hidden

),

training as (

    select
        adoption.customer_id,
        adoption.category

    from adoption
    left join hidden
        on adoption.customer_id = hidden.customer_id and adoption.category = hidden.category
    where hidden.customer_id is null

),

{{ category_affinity_ctes('train_', 'training', cfg('recommendations.min_support')) }},

{{ next_category_ctes('train_', 'evaluated', 'training', 'training', k) }},

outcomes as (

    select
        hidden.customer_id,
        coalesce(max(case when ranked.recommendation_rank = 1 then 1 else 0 end), 0) as affinity_hit_1,
        coalesce(max(case when ranked.recommendation_rank <= {{ k }} then 1 else 0 end), 0)
            as affinity_hit_k,
        coalesce(max(case when ranked.popularity_rank_for_customer = 1 then 1 else 0 end), 0)
            as popular_hit_1,
        coalesce(max(case when ranked.popularity_rank_for_customer <= {{ k }} then 1 else 0 end), 0)
            as popular_hit_k

    from hidden
    left join train_ranked as ranked
        on hidden.customer_id = ranked.customer_id and hidden.category = ranked.category
    group by hidden.customer_id

),

methods as (

    {%- for recommender, prefix in [('affinity', 'affinity'), ('most_popular', 'popular')] %}
        {%- for at in [1, k] %}
            select
                '{{ recommender }}' as recommender,
                {{ at }} as k,
                count(*) as customers_evaluated,
                coalesce(sum({{ prefix }}_hit_{{ '1' if at == 1 else 'k' }}), 0) as hits
            from outcomes
            {{ 'union all' if not loop.last }}
        {%- endfor %}
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        as_of.as_of,
        methods.recommender,
        methods.k,
        methods.customers_evaluated,
        cast(methods.hits as bigint) as hits,
        cast(methods.hits as double) / nullif(methods.customers_evaluated, 0) as hit_rate

    from methods
    cross join as_of

)

select * from final
