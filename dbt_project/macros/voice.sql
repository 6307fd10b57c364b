{#- Period label of a day: '2025-03' for period_type 'month', '2025-Q1' for 'quarter'. -#}
{% macro period_label(period_type, day) -%}
    {%- if period_type == 'month' -%}
        strftime({{ day }}, '%Y-%m')
    {%- elif period_type == 'quarter' -%}
        concat(year({{ day }}), '-Q', quarter({{ day }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("period_label: unknown period type " ~ period_type) }}
    {%- endif -%}
{%- endmacro %}


{#- First and last day of the month or quarter of a day, as DATE. -#}
{% macro period_start(period_type, day) -%}
    cast(date_trunc('{{ period_type }}', {{ day }}) as date)
{%- endmacro %}

{% macro period_end(period_type, day) -%}
    cast(date_trunc('{{ period_type }}', {{ day }}) + interval 1 {{ period_type }} - interval 1 day as date)
{%- endmacro %}


{#- NPS group of a 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6 (null when empty). -#}
{% macro nps_group(score) -%}
    case
        when {{ score }} >= 9 then 'promoter'
        when {{ score }} >= 7 then 'passive'
        when {{ score }} >= 0 then 'detractor'
    end
{%- endmacro %}
