{#- Read one value of the project configuration (config/tiers.yml, passed as the var `tiers`)
    by a dotted path, e.g. cfg('abc.shares.A'). A missing key is a compile error that names it. -#}
{% macro cfg(path) -%}
    {%- set node = namespace(value=var('tiers')) -%}
    {%- for part in path.split('.') -%}
        {%- if node.value is mapping and part in node.value -%}
            {%- set node.value = node.value[part] -%}
        {%- else -%}
            {%- set message = "configuration key '" ~ path ~ "' is missing (config/tiers.yml)" -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(node.value) }}
{%- endmacro %}


{#- A configuration string as a SQL literal, quotes escaped. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
