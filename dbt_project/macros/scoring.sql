{#- Quintile scores 1-5 (5 best) with ties kept together: 1 + floor(5 x share of customers
    strictly worse), from four cut points per score instead of a sort of every customer.

    With the n values ordered from worst to best, a customer has at least ceil(k x n / 5)
    customers strictly worse exactly when their value is strictly better than the value at
    position ceil(k x n / 5), so the score is 1 + the number of cut points k = 1..4 their value
    is strictly above. DuckDB's quantile_disc(x, q) returns the value at position
    max(1, ceil(q x n)) of the ascending order, in integer arithmetic when q is a decimal: the
    four cut points of one score come from one aggregate over the customers.

    `value` must grow the better the customer is (e.g. -recency_days); it must not be null. -#}
{% macro quintile_cut_points(value) -%}
    {{ return(adapter.dispatch('quintile_cut_points', 'customer_tiers')(value)) }}
{%- endmacro %}

{% macro default__quintile_cut_points(value) -%}
    quantile_disc({{ value }}, cast([0.2, 0.4, 0.6, 0.8] as decimal(2, 1) []))
{%- endmacro %}

{#- Spark: exact quantiles would gather every value in one task, so the cut points come from
    Spark's percentile sketch (percentile_approx, the same positions as quantile_disc). Its rank
    error is at most n / percentile_accuracy (var, default 10000: 0.01% of the customers), so
    a score's share of customers is within 0.01 percentage point of the exact one; below about
    5,000 customers the sketch keeps every value and the cut points are exact. -#}
{% macro spark__quintile_cut_points(value) -%}
    percentile_approx({{ value }}, array(0.2, 0.4, 0.6, 0.8), {{ var('percentile_accuracy', 10000) }})
{%- endmacro %}


{#- The score of `value` against the cut points of quintile_cut_points(value). -#}
{% macro quintile_score(value, cut_points) -%}
    1
    {%- for k in range(1, 5) %} + cast({{ value }} > {{ cut_point(cut_points, k) }} as bigint){% endfor %}
{%- endmacro %}


{#- The k-th (1-based) element of a list of cut points. -#}
{% macro cut_point(cut_points, k) -%}
    {{ return(adapter.dispatch('cut_point', 'customer_tiers')(cut_points, k)) }}
{%- endmacro %}

{% macro default__cut_point(cut_points, k) -%}
    {{ cut_points }}[{{ k }}]
{%- endmacro %}

{% macro spark__cut_point(cut_points, k) -%}
    element_at({{ cut_points }}, {{ k }})
{%- endmacro %}


{#- The rfm_segment name (or its Chinese label) for an (r_score, f_score) pair, from the grid in
    rfm.segments. The configuration is checked to cover each of the 25 cells exactly once. -#}
{% macro rfm_segment(r_score, f_score, field='name') -%}
    case
    {%- for segment in cfg('rfm.segments') %}
        when {{ r_score }} between {{ segment.r[0] }} and {{ segment.r[1] }}
            and {{ f_score }} between {{ segment.f[0] }} and {{ segment.f[1] }}
            then {{ sql_string(segment[field]) }}
    {%- endfor %}
    end
{%- endmacro %}


{#- value_class A-D from the weighted RFM points against rfm.value_class.min_points. -#}
{% macro value_class(r_score, f_score, m_score) -%}
    {%- set rule = cfg('rfm.value_class') -%}
    {%- set points -%}
        ({{ rule.weights.r }} * {{ r_score }} + {{ rule.weights.f }} * {{ f_score }} + {{ rule.weights.m }} * {{ m_score }})
    {%- endset -%}
    case
        when {{ points }} >= {{ rule.min_points.A }} then 'A'
        when {{ points }} >= {{ rule.min_points.B }} then 'B'
        when {{ points }} >= {{ rule.min_points.C }} then 'C'
        else 'D'
    end
{%- endmacro %}


{#- Look a key up in a small mapping from the configuration, as a SQL case expression. -#}
{% macro label_case(expression, mapping) -%}
    case {{ expression }}
    {%- for key, label in mapping.items() %}
        when {{ sql_string(key) }} then {{ sql_string(label) }}
    {%- endfor %}
    end
{%- endmacro %}
