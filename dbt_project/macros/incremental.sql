{#
    Incremental staging of the fact sources. The loader appends each file's rows to raw with
    the file (_source_file) and the run that loaded it (_run_id); a changed file is loaded
    again under a new run, a file taken out of the sources goes (ingest/landing.py). So a file
    load is identified by (_source_file, _run_id), and staging stays equal to raw by adding the
    loads it has not seen and deleting the loads raw no longer has.
#}

{% macro not_yet_staged(raw_alias) %}
    {%- if is_incremental() %}
    where not exists (
        select 1
        from (select distinct _source_file, _run_id from {{ this }}) as staged
        where
            staged._source_file = {{ raw_alias }}._source_file
            and staged._run_id = {{ raw_alias }}._run_id
    )
    {%- endif %}
{% endmacro %}


{#- A post-hook of the fact staging: nothing on Spark, where that staging is a view. -#}
{% macro delete_replaced_loads(raw_relation) %}
    {%- if fact_staging_materialization() == 'incremental' %}
    delete from {{ this }} as staged
    where not exists (
        select 1
        from (select distinct _source_file, _run_id from {{ raw_relation }}) as loaded
        where
            loaded._source_file = staged._source_file
            and loaded._run_id = staged._run_id
    )
    {%- endif %}
{% endmacro %}


{#- A pre-hook of action_ledger, the history mart a run may add no rows to: before a rerun
    of a date adds its rows, that date's old rows go, even when the rerun has none to add
    (delete+insert, and Spark's overwrite of the partitions present, only replace the dates
    the new rows have). -#}
{% macro clear_this_as_of() %}
    {%- if execute and is_incremental() %}
        {%- set resolved = run_query('select as_of from ' ~ ref('int_as_of_resolved')) %}
        {%- set as_of = resolved.columns[0].values()[0] %}
        {%- if target.type == 'spark' %}
    alter table {{ this }} drop if exists partition (as_of = '{{ as_of }}')
        {%- else %}
    delete from {{ this }} where as_of = date '{{ as_of }}'
        {%- endif %}
    {%- endif %}
{% endmacro %}
