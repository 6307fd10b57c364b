-- noqa: disable=LT02
{#-
    Running totals from the largest value down, per group: for each distinct value of a group,
    the sum of each measure over every row whose value is at least that value ("at or above",
    so equal values are never split), and the group's total. ABC classes and ranks, and the
    top share of predicted CLV, are read from these.

    counts: a relation (CTE name) with one row per (group_column, value_column) and the
    measures already summed per value (e.g. customers_with_value, value_total). Selects
    group_column, value_column, and per measure m: m, m_at_or_above, m_in_group.

    DuckDB orders each group's values in one window. On Spark such a window puts a whole group
    in one task, so the values are range-partitioned first: Spark's percentile sketch cuts each
    group's distinct values into buckets, a window runs inside each bucket, and each bucket
    adds the totals of the buckets above it (a window over at most `buckets` rows per group).
    The sketch only decides where buckets end, so the totals are exact either way. A null
    value comes last, as in a descending sort.

    (The noqa above: sqlfluff's indentation rule cannot follow the loops over measures.)
-#}
{% macro cumulative_from_top(counts, group_column, value_column, measures, buckets=100) -%}
    {{ return(adapter.dispatch('cumulative_from_top', 'customer_tiers')(
        counts, group_column, value_column, measures, buckets)) }}
{%- endmacro %}


{% macro default__cumulative_from_top(counts, group_column, value_column, measures, buckets) %}
    select
        {{ group_column }},
        {{ value_column }},
        {%- for measure in measures %}
            {{ measure }},
            sum({{ measure }}) over at_or_above as {{ measure }}_at_or_above,
            sum({{ measure }}) over (partition by {{ group_column }}) as {{ measure }}_in_group
            {{- ',' if not loop.last }}
        {%- endfor %}

    from {{ counts }}
    window at_or_above as (
        partition by {{ group_column }}
        order by {{ value_column }} desc
        rows between unbounded preceding and current row
    )
{% endmacro %}


{% macro spark__cumulative_from_top(counts, group_column, value_column, measures, buckets) %}
    {%- set fractions = [] %}
    {%- for k in range(1, buckets) %}{% do fractions.append(k / buckets) %}{% endfor %}
    with

    bounds as (

        select
            {{ group_column }},
            percentile_approx(
                {{ value_column }}, array({{ fractions | join(', ') }}),
                {{ var('percentile_accuracy', 10000) }}
            ) as upper_bounds

        from {{ counts }}
        group by {{ group_column }}

    ),

    bucketed as (

        -- bucket 0 holds the largest values: the number of bounds above the value
        select
            counts.*,
            case
                when counts.{{ value_column }} is null then {{ buckets }}
                else size(filter(bounds.upper_bounds, bound -> bound > counts.{{ value_column }}))
            end as bucket

        from {{ counts }} as counts
        inner join bounds on counts.{{ group_column }} = bounds.{{ group_column }}

    ),

    per_bucket as (

        select
            {{ group_column }},
            bucket,
            {%- for measure in measures %}
                sum({{ measure }}) as {{ measure }}_in_bucket
                {{- ',' if not loop.last }}
            {%- endfor %}

        from bucketed
        group by {{ group_column }}, bucket

    ),

    bucket_offsets as (

        select
            {{ group_column }},
            bucket,
            {%- for measure in measures %}
                coalesce(sum({{ measure }}_in_bucket) over buckets_above, 0) as {{ measure }}_above_bucket,
                sum({{ measure }}_in_bucket) over (partition by {{ group_column }}) as {{ measure }}_in_group
                {{- ',' if not loop.last }}
            {%- endfor %}

        from per_bucket
        window buckets_above as (
            partition by {{ group_column }}
            order by bucket
            rows between unbounded preceding and 1 preceding
        )

    )

    select
        bucketed.{{ group_column }},
        bucketed.{{ value_column }},
        {%- for measure in measures %}
            bucketed.{{ measure }},
            bucket_offsets.{{ measure }}_above_bucket
            + sum(bucketed.{{ measure }}) over in_bucket as {{ measure }}_at_or_above,
            bucket_offsets.{{ measure }}_in_group
            {{- ',' if not loop.last }}
        {%- endfor %}

    from bucketed
    inner join bucket_offsets
        on
            bucketed.{{ group_column }} = bucket_offsets.{{ group_column }}
            and bucketed.bucket = bucket_offsets.bucket
    window in_bucket as (
        partition by bucketed.{{ group_column }}, bucketed.bucket
        order by bucketed.{{ value_column }} desc
        rows between unbounded preceding and current row
    )
{% endmacro %}
