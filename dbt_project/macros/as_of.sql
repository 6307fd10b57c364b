{#- The analysis date given with --as-of, as a SQL date literal, or null when none was given
    (int_as_of_resolved then takes the day of the latest order). -#}
{% macro as_of_literal() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of -%}
        date '{{ as_of }}'
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
