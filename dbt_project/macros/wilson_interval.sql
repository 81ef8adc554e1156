{#- 95% Wilson score interval for a proportion (better than the normal approximation for the small
    counts and extreme rates typical of programme subgroups). bound: 'lower' or 'upper'. -#}
{% macro wilson_interval(successes, trials, bound) -%}
    {%- set z = 1.959963985 -%}
    {%- set sign = '-' if bound == 'lower' else '+' -%}
    case when ({{ trials }}) > 0 then
        (
            ({{ successes }})::numeric / ({{ trials }})
            + {{ z * z }} / (2.0 * ({{ trials }}))
            {{ sign }} {{ z }} * sqrt(
                ({{ successes }})::numeric / ({{ trials }}) * (1 - ({{ successes }})::numeric / ({{ trials }}))
                    / ({{ trials }})
                + {{ z * z }} / (4.0 * ({{ trials }}) * ({{ trials }}))
            )
        ) / (1 + {{ z * z }} / ({{ trials }}))
    end
{%- endmacro %}

{#- A share that is null rather than an error when the base is zero. -#}
{% macro safe_ratio(numerator, denominator) -%}
    (({{ numerator }})::numeric / nullif(({{ denominator }}), 0))
{%- endmacro %}
