{#- The analysis date, as a SQL date literal, or null when none was given (int_as_of_resolved
    then takes the day of the latest order). `tiers run` and `tiers dbt` pass it in the
    environment (TIERS_AS_OF), so dbt's partial parse survives the date moving every day; the
    var `as_of` (dbt build --vars '{as_of: 2026-06-30}') still works and wins. -#}
{% macro as_of_literal() -%}
    {%- set as_of = var('as_of', none) or env_var('TIERS_AS_OF', '') -%}
    {%- if as_of -%}
        date '{{ as_of }}'
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
