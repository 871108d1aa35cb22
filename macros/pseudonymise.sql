{#
    Pseudonymisation: keyed HMAC-SHA256 (RFC 2104) of a value, 64 lower-case hex characters.

        pseudonymise(expr, trim=false, upper=false)

    - The value is cast to text and hashed as its UTF-8 bytes; with trim / upper it is
      first trimmed (spaces) / upper-cased, so ' ab12 ' and 'AB12' pseudonymise alike.
    - Null in, null out.
    - One key gives one pseudonym per value, in every model and run, so pseudonymised
      identifiers still join across tables and systems. Without the key a pseudonym can be
      neither reversed nor recomputed from a guessed identifier (unlike a plain hash).
    - Equal to Python's hmac.new(key, value, hashlib.sha256).hexdigest() on UTF-8 bytes
      (proved by tests/python/test_pseudonymise.py).

    The key is the environment variable DERIVED_PSEUDONYMISATION_KEY. When it is unset or
    empty a public development default is used (it is written below), on the `dev`,
    `ci` and `spark` (the local Spark session) targets only: any other target fails rather than publish guessable pseudonyms.
    The key is a compile-time constant: compiled SQL under target/ holds key material and
    logs/dbt.log the key itself, so treat both as secret after a run with a real key (build
    a published docs site with the variable unset: only the compiled SQL shown changes).

    Engines: duckdb and spark (pure SQL), postgres (pgcrypto's hmac()). Any other adapter fails at
    compile time: a pseudonymiser must never fall back silently to an unkeyed hash.
#}

{% macro pseudonymisation_key_is_default() -%}
    {{ return(env_var('DERIVED_PSEUDONYMISATION_KEY', '') == '') }}
{%- endmacro %}

{#- The key as a string; fails closed outside dev / ci without a real key. -#}
{% macro pseudonymisation_key() -%}
    {%- set dev_default =
        'dev-only-not-secret-derived-tables-pseudonymisation-key' -%}
    {%- if not derived_tables.pseudonymisation_key_is_default() -%}
        {{ return(env_var('DERIVED_PSEUDONYMISATION_KEY')) }}
    {%- endif -%}
    {%- if target.name not in ('dev', 'ci', 'spark', 'spark_cluster') -%}
        {%- set message -%}
            pseudonymise: DERIVED_PSEUDONYMISATION_KEY is not set (or empty) on
            target '{{ target.name }}'. The development default key is only allowed
            on the 'dev' and 'ci' targets: set the variable to this environment's
            secret key.
        {%- endset -%}
        {{ exceptions.raise_compiler_error(message.split() | join(' ')) }}
    {%- endif -%}
    {{ return(dev_default) }}
{%- endmacro %}

{#- For on-run-start: one warning per run while the public key is in use. -#}
{% macro warn_if_default_pseudonymisation_key() -%}
    {%- if execute and derived_tables.pseudonymisation_key_is_default() -%}
        {%- do derived_tables.pseudonymisation_key() -%}
        {%- set message -%}
            WARNING: DERIVED_PSEUDONYMISATION_KEY is not set: personal identifiers
            are pseudonymised with the public development key (target
            '{{ target.name }}'). Never publish such a warehouse outside development.
        {%- endset -%}
        {{ log(message.split() | join(' '), info=true) }}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro pseudonymise(expr, trim=false, upper=false) -%}
    {%- set value = 'cast(' ~ expr ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- if trim -%}{%- set value = 'trim(' ~ value ~ ')' -%}{%- endif -%}
    {%- if upper -%}{%- set value = 'upper(' ~ value ~ ')' -%}{%- endif -%}
    {%- set key = derived_tables.pseudonymisation_key() -%}
    {%- set key_literal = "'" ~ key | replace("'", "''") ~ "'" -%}
    {%- set implementation =
        adapter.dispatch('pseudonymise', 'derived_tables') -%}
    {{ return(implementation(value, key_literal)) }}
{%- endmacro %}

{#
    DuckDB has sha256() but no hmac(). RFC 2104 with a 64-byte block:
        K0   = K, or sha256(K) when K is over 64 bytes; zero-padded to 64 bytes
        HMAC = H((K0 xor opad) || H((K0 xor ipad) || m))
        ipad = 0x36 repeated, opad = 0x5c repeated
    The padded keys depend on the key only: computed once at compile time (XOR of
    bit strings) and inlined as hex constants, so a row costs two sha256 calls.
#}
{% macro duckdb__pseudonymise(value, key_literal) -%}
    {%- set pads = derived_tables.hmac_sha256_pads(key_literal) -%}
    case
        when {{ value }} is null then null
        else sha256(
            unhex('{{ pads.outer }}')
            || unhex(sha256(
                unhex('{{ pads.inner }}') || encode({{ value }})
            ))
        )
    end
{%- endmacro %}

{#-
    hex(K0 xor ipad) and hex(K0 xor opad) of the key, lower case, computed once at compile
    time by the engine's query (hmac_sha256_pads_query, dispatched); placeholders while
    parsing.
-#}
{% macro hmac_sha256_pads(key_literal) -%}
    {%- if not execute -%}
        {{ return({'inner': '00' * 64, 'outer': '00' * 64}) }}
    {%- endif -%}
    {%- set pads_query = adapter.dispatch(
        'hmac_sha256_pads_query', 'derived_tables'
    )(key_literal) -%}
    {%- set row = run_query(pads_query).rows[0] -%}
    {{ return({'inner': row[0] | lower, 'outer': row[1] | lower}) }}
{%- endmacro %}

{#- DuckDB: the XOR of bit strings. -#}
{% macro duckdb__hmac_sha256_pads_query(key_literal) -%}
    {%- set pads_query -%}
        with

        key_bytes as (
            select encode({{ key_literal }}) as k
        ),

        block_key as (
            select
                case
                    when octet_length(k) > 64 then unhex(sha256(k))
                    else k
                end as k0
            from key_bytes
        ),

        padded as (
            select k0 || unhex(repeat('00', 64 - octet_length(k0))) as k
            from block_key
        )

        select
            hex(xor(k::bit, unhex(repeat('36', 64))::bit)::blob) as inner_pad,
            hex(xor(k::bit, unhex(repeat('5c', 64))::bit)::blob) as outer_pad
        from padded
    {%- endset -%}
    {{ return(pads_query) }}
{%- endmacro %}

{#-
    Spark: the same RFC 2104 construction as DuckDB's, with sha2(.., 256) on binary values
    (it returns lower-case hex) and the padded keys computed once at compile time.
-#}
{% macro spark__pseudonymise(value, key_literal) -%}
    {%- set pads = derived_tables.hmac_sha256_pads(key_literal) -%}
    case
        when {{ value }} is null then null
        else sha2(
            concat(
                unhex('{{ pads.outer }}'),
                unhex(sha2(
                    concat(unhex('{{ pads.inner }}'), encode({{ value }}, 'UTF-8')),
                    256
                ))
            ),
            256
        )
    end
{%- endmacro %}

{#- Spark: byte by byte (each of the 64 key bytes xor 0x36 / 0x5c). -#}
{% macro spark__hmac_sha256_pads_query(key_literal) -%}
    {%- set pads_query -%}
        with

        key_bytes as (
            select encode({{ key_literal }}, 'UTF-8') as k
        ),

        block_key as (
            select
                rpad(
                    case
                        when octet_length(k) > 64 then sha2(k, 256)
                        else hex(k)
                    end,
                    128,
                    '0'
                ) as k0_hex
            from key_bytes
        ),

        key_byte_values as (
            select
                transform(
                    sequence(0, 63),
                    i -> cast(conv(substr(k0_hex, 2 * i + 1, 2), 16, 10) as int)
                ) as k0
            from block_key
        )

        select
            concat_ws('', transform(
                k0, b -> lpad(hex(b ^ 54), 2, '0')
            )) as inner_pad,
            concat_ws('', transform(
                k0, b -> lpad(hex(b ^ 92), 2, '0')
            )) as outer_pad
        from key_byte_values
    {%- endset -%}
    {{ return(pads_query) }}
{%- endmacro %}

{#-
    Engines with a built-in HMAC (Athena, PostgreSQL) never compute pads; any other engine
    needs its own <adapter>__hmac_sha256_pads_query.
-#}
{% macro default__hmac_sha256_pads_query(key_literal) -%}
    {{ exceptions.raise_compiler_error(
        "hmac_sha256_pads_query: no implementation for adapter '"
        ~ adapter.type() ~ "' (duckdb, spark)") }}
{%- endmacro %}

{#- Athena (Trino): hmac_sha256 is built in; lower-case hex as on DuckDB. -#}
{% macro athena__pseudonymise(value, key_literal) -%}
    lower(to_hex(hmac_sha256(
        to_utf8({{ value }}),
        to_utf8({{ key_literal }})
    )))
{%- endmacro %}

{#- PostgreSQL: needs the pgcrypto extension (create extension pgcrypto). -#}
{% macro postgres__pseudonymise(value, key_literal) -%}
    encode(
        hmac(
            convert_to({{ value }}, 'UTF8'),
            convert_to({{ key_literal }}, 'UTF8'),
            'sha256'
        ),
        'hex'
    )
{%- endmacro %}

{% macro default__pseudonymise(value, key_literal) -%}
    {%- set message -%}
        pseudonymise: no HMAC-SHA256 implementation for adapter
        '{{ adapter.type() }}' (supported: duckdb, spark, athena, postgres). Add an
        {{ adapter.type() }}__pseudonymise macro to macros/pseudonymise.sql;
        never fall back to an unkeyed hash.
    {%- endset -%}
    {{ exceptions.raise_compiler_error(message.split() | join(' ')) }}
{%- endmacro %}
