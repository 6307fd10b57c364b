{#- Period label of a day: '2025-03' for period_type 'month', '2025-Q1' for 'quarter'. Its first
    and last day: period_start and period_end (macros/cross_engine.sql). -#}
{% macro period_label(period_type, day) -%}
    {%- if period_type == 'month' -%}
        {{ year_month(day) }}
    {%- elif period_type == 'quarter' -%}
        concat(year({{ day }}), '-Q', quarter({{ day }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("period_label: unknown period type " ~ period_type) }}
    {%- endif -%}
{%- endmacro %}


{#- NPS group of a 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6 (null when empty). -#}
{% macro nps_group(score) -%}
    case
        when {{ score }} >= 9 then 'promoter'
        when {{ score }} >= 7 then 'passive'
        when {{ score }} >= 0 then 'detractor'
    end
{%- endmacro %}
