{#- Quintile score 1-5 (5 best) with ties kept together: 1 + floor(5 x share of customers
    strictly worse). rank() - 1 counts the rows ordered strictly before, i.e. strictly worse when
    the order runs from worst to best. Integer division keeps the cut points exact. -#}
{% macro quintile_score(worst_to_best_order) -%}
    1 + (5 * (rank() over (order by {{ worst_to_best_order }}) - 1)) // count(*) over ()
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
