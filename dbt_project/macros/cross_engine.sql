{#-
    The few expressions DuckDB and Spark spell differently, behind adapter.dispatch: the
    models stay one set for both engines (`tiers run --engine duckdb|spark`). The default
    implementation is DuckDB's; `spark__` ones are used by dbt-spark. dbt's own cross-database
    macros are used where they fit (dbt.type_string()); the ones below are ours because dbt's
    differ in ways that matter here (see each).
-#}


{#- Whole days from start_day to end_day (both DATE), as an integer. Not dbt.datediff: on Spark
    it wraps its arguments in assert_not_null, which fails on customers without orders, and on
    DuckDB it casts both days to timestamps. -#}
{% macro days_between(start_day, end_day) -%}
    {{ return(adapter.dispatch('days_between', 'customer_tiers')(start_day, end_day)) }}
{%- endmacro %}

{% macro default__days_between(start_day, end_day) -%}
    ({{ end_day }} - {{ start_day }})
{%- endmacro %}

{% macro spark__days_between(start_day, end_day) -%}
    datediff({{ end_day }}, {{ start_day }})
{%- endmacro %}


{#- Integer division rounding towards minus infinity for non-negative operands. -#}
{% macro int_div(dividend, divisor) -%}
    {{ return(adapter.dispatch('int_div', 'customer_tiers')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__int_div(dividend, divisor) -%}
    ({{ dividend }} // {{ divisor }})
{%- endmacro %}

{% macro spark__int_div(dividend, divisor) -%}
    ({{ dividend }} div {{ divisor }})
{%- endmacro %}


{#- One row per integer 0..upper (inclusive), in a select list: `{{ steps_to('n') }} as step`. -#}
{% macro steps_to(upper) -%}
    {{ return(adapter.dispatch('steps_to', 'customer_tiers')(upper)) }}
{%- endmacro %}

{% macro default__steps_to(upper) -%}
    unnest(range(0, {{ upper }} + 1))
{%- endmacro %}

{% macro spark__steps_to(upper) -%}
    explode(sequence(0, {{ upper }}))
{%- endmacro %}


{#- One row per part of a text split on a literal separator, in a select list. -#}
{% macro split_to_rows(text, separator) -%}
    {{ return(adapter.dispatch('split_to_rows', 'customer_tiers')(text, separator)) }}
{%- endmacro %}

{% macro default__split_to_rows(text, separator) -%}
    unnest(string_split({{ text }}, {{ sql_string(separator) }}))
{%- endmacro %}

{% macro spark__split_to_rows(text, separator) -%}
    {#- Spark's split takes a regular expression: each character of the separator in a class -#}
    explode(split({{ text }}, {{ sql_string(regex_literal(separator)) }}))
{%- endmacro %}


{#- A regular expression matching `text` literally: each character in a class of its own
    (enough for separators; `\`, `]` and `^` are refused). -#}
{% macro regex_literal(text) -%}
    {%- for character in text -%}
        {%- if character in ['\\', ']', '^'] -%}
            {{ exceptions.raise_compiler_error("regex_literal: unsupported character " ~ character) }}
        {%- endif -%}
        [{{ character }}]
    {%- endfor -%}
{%- endmacro %}


{#- 'YYYY-MM' of a DATE. -#}
{% macro year_month(day) -%}
    {{ return(adapter.dispatch('year_month', 'customer_tiers')(day)) }}
{%- endmacro %}

{% macro default__year_month(day) -%}
    strftime({{ day }}, '%Y-%m')
{%- endmacro %}

{% macro spark__year_month(day) -%}
    date_format({{ day }}, 'yyyy-MM')
{%- endmacro %}


{#- First and last DATE of the month or quarter of a DATE. (Spark's date_trunc returns a
    timestamp and knows no `interval 1 quarter`.) -#}
{% macro period_start(period_type, day) -%}
    {{ return(adapter.dispatch('period_start', 'customer_tiers')(period_type, day)) }}
{%- endmacro %}

{% macro default__period_start(period_type, day) -%}
    cast(date_trunc('{{ period_type }}', {{ day }}) as date)
{%- endmacro %}

{% macro spark__period_start(period_type, day) -%}
    trunc({{ day }}, '{{ period_type }}')
{%- endmacro %}

{% macro period_end(period_type, day) -%}
    {{ return(adapter.dispatch('period_end', 'customer_tiers')(period_type, day)) }}
{%- endmacro %}

{% macro default__period_end(period_type, day) -%}
    cast(date_trunc('{{ period_type }}', {{ day }}) + interval 1 {{ period_type }} - interval 1 day as date)
{%- endmacro %}

{% macro spark__period_end(period_type, day) -%}
    {%- if period_type == 'quarter' -%}
        last_day(add_months(trunc({{ day }}, 'quarter'), 2))
    {%- else -%}
        last_day({{ day }})
    {%- endif -%}
{%- endmacro %}


{#- How the fact staging models (orders, feedback, surveys) are materialized: incremental on
    DuckDB (a run stages only the file loads it has not seen, and deletes the loads raw no
    longer has), a view on Spark, where plain Parquet tables have no DELETE and a view over
    the raw table costs nothing. -#}
{% macro fact_staging_materialization() -%}
    {{ return('view' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
