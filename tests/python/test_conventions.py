"""The project-convention checks (dbt-bouncer.yml + conventions.py) catch what they should.

On a temporary copy of the project (its configuration, macros, seeds and
generic tests; the models are written here) with a few models that follow
every convention and one model (or source, exposure) breaking each one,
`.ci/check-conventions` must fail, naming each broken rule and the model that
breaks it, and must name none of the good ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from conftest import copy_project_parts

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a copy of the project keeps: configuration and shared code, no models.
KEEP = (
    ".ci",
    ".sqlfluff",
    ".sqlfluffignore",
    "dbt-bouncer.yml",
    "dbt_project.yml",
    "profiles.yml",
    "pyproject.toml",
    "macros",
    "seeds",
    "tests/generic",
)


def copy_project(dest: Path) -> Path:
    """The project's configuration, macros, seeds and generic tests, no models."""
    copy_project_parts(dest, KEEP)
    for folder in ("models", "analyses", "tests"):
        (dest / folder).mkdir(exist_ok=True)
    return dest


def write(project: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())


def model_sql(*reads: str) -> str:
    """A model in house style reading the given relations (`ref(...)`, `source(...)`)."""
    imports = ",\n\n".join(
        f"input_{n} as (\n    select * from {{{{ {read} }}}}\n)" for n, read in enumerate(reads)
    )
    final = "final as (\n    select * from input_0\n)\n\nselect * from final\n"
    return f"with\n\n{imports},\n\n{final}"


def one_file_per_model(folder: str, models: str) -> dict[str, str]:
    """Properties of intermediate models and marts: one `<model>.yml` per model in `folder`.

    `models` is the text of a YAML list of model properties (`- name: ...`).
    """
    return {
        f"{folder}/{model['name']}.yml": yaml.safe_dump(
            {"version": 2, "models": [model]}, sort_keys=False
        )
        for model in yaml.safe_load(models)
    }


def properties(name: str, key: str = "id", tests: str = "[unique, not_null]") -> str:
    return f"""
      - name: {name}
        description: The {name} model, one row per {key}.
        columns:
          - name: {key}
            description: The key.
            data_tests: {tests}
    """


# A staging current-state view: the SCD2 metadata columns, one row per key.
GOOD_BOOKINGS = """
  - name: stg_nomis__bookings
    description: Periods in custody, current version, one row per id.
    columns:
      - {name: id, description: The key., data_tests: [unique, not_null]}
      - {name: valid_from, description: Start of the version.}
      - {name: valid_to, description: End of the version.}
      - {name: is_current, description: The current version.}
"""

# A not_null and a check constraint without the column_constraints test that checks them.
NOT_NULL_CONSTRAINT_UNCHECKED = """
  - name: stg_nomis__movement_types
    description: Movement types, one row per id.
    columns:
      - name: id
        description: The key.
        constraints: [{type: not_null}]
        data_tests: [unique]
      - name: movement_type_code
        description: The type's code.
        constraints:
          - {type: check, expression: "movement_type_code in ('ADM', 'TRN', 'REL')"}
"""

# A mart under contract: typed, described; its primary key declared (on the column, or at
# model level for a grain of several columns) and tested; facts test each foreign key.
GOOD_MARTS = """
  - name: fct_prison_movements
    description: One row per movement.
    config: {contract: {enforced: true}}
    columns:
      - name: movement_key
        description: The fact's own key.
        data_type: varchar
        constraints: [{type: primary_key}]
        data_tests: [unique, not_null]
      - name: establishment_key
        description: Where the movement happened.
        data_type: varchar
        data_tests:
          - relationships:
              arguments: {to: ref('dim_establishment'), field: establishment_key}
      - name: moved_on
        description: Date of the movement, at the latest the extract's as-of date.
        data_type: date
        data_tests:
          - accepted_range:
              arguments:
                min_value: "cast('1900-01-01' as date)"
                max_value: >-
                  (select as_of_date from {{ ref('int_nomis_extracts_summarised') }})
      - name: release_date_key
        description: Release date, for releases only.
        data_type: varchar
        data_tests:
          - relationships_where:
              arguments:
                to: ref('dim_establishment')
                field: establishment_key
                from_condition: release_date_key <> '-3'
  - name: dim_establishment
    description: Prisons, SCD2, one row per establishment version.
    config: {contract: {enforced: true}}
    data_tests:
      - column_constraints
      - mutually_exclusive_ranges:
          arguments:
            lower_bound_column: valid_from
            upper_bound_column: valid_to
            partition_by: establishment_code
      - one_current_row_per_key:
          arguments: {key_columns: establishment_code}
    columns:
      - name: establishment_key
        description: The key of the version.
        data_type: varchar
        constraints: [{type: not_null}, {type: primary_key}]
        data_tests: [unique]
      - name: establishment_code
        description: Natural key.
        data_type: varchar
        constraints: [{type: check, expression: "length(establishment_code) = 3"}]
      - {name: valid_from, description: Start of the version., data_type: timestamp}
      - {name: valid_to, description: End of the version., data_type: timestamp}
      - {name: is_current, description: The current version., data_type: boolean}
  - name: fct_prison_population_daily
    description: One row per establishment and day.
    config: {contract: {enforced: true}}
    constraints:
      - {type: primary_key, columns: [establishment_key, population_date]}
    data_tests:
      - column_constraints
      - unique_combination_of_columns:
          arguments: {combination_of_columns: [population_date, establishment_key]}
    columns:
      - name: establishment_key
        description: The establishment.
        data_type: varchar
        constraints: [{type: not_null}]
        data_tests:
          - relationships:
              arguments: {to: ref('dim_establishment'), field: establishment_key}
      - name: population_date
        description: The day.
        data_type: date
        constraints: [{type: not_null}]
"""

# Marts whose primary key is not tested (DT013; dbt itself refuses a second primary key at
# parse time, on another column or at model level).
BAD_MART_KEYS = """
  - name: fct_prison_recalls
    description: One row per recall; the key is not tested unique.
    config: {contract: {enforced: true}}
    columns:
      - name: recall_key
        description: The recall.
        data_type: varchar
        constraints: [{type: primary_key}]
        data_tests: [not_null]
      - name: recall_id
        description: The recall's id in NOMIS.
        data_type: varchar
        data_tests: [not_null]
  - name: fct_prison_occupancy_daily
    description: >
      One row per establishment and day; the unique test covers another set of columns,
      and the date is not checked not null.
    config: {contract: {enforced: true}}
    constraints:
      - {type: primary_key, columns: [establishment_code, occupancy_date]}
    data_tests:
      - unique_combination_of_columns:
          arguments: {combination_of_columns: [establishment_code]}
    columns:
      - name: establishment_code
        description: The establishment.
        data_type: varchar
        data_tests: [not_null]
      - name: occupancy_date
        description: The day.
        data_type: date
  - name: dim_movement_reason
    description: >
      Movement reasons; the key is tested unique only with a `where`, and its not_null
      constraint has no column_constraints test to check it.
    config: {contract: {enforced: true}}
    columns:
      - name: movement_reason_key
        description: The key.
        data_type: varchar
        constraints: [{type: not_null}, {type: primary_key}]
        data_tests:
          - unique:
              config: {where: "movement_reason_key <> '-1'"}
"""

# The source system's as-of date, which date-range tests are bounded by.
GOOD_EXTRACTS = """
  - name: int_nomis_extracts_summarised
    description: The NOMIS extract's as-of date, one row.
    columns:
      - name: as_of_date
        description: Latest extraction date of any NOMIS table.
        data_tests: [unique, not_null]
"""

# A singular test measuring against the data, not the machine's clock (which
# its comment may name).
GOOD_SINGULAR_TEST = """
    {#
        No movement after the extract's as-of date (not current_date, which
        would depend on the day the tests run), nor after the reference now.
    #}
    with

    movements as (
        select * from {{ ref('fct_prison_movements') }}
    ),

    extract_window as (
        select * from {{ ref('int_nomis_extracts_summarised') }}
    ),

    final as (
        select movements.*
        from movements
        cross join extract_window
        where
            movements.moved_on > extract_window.as_of_date
            or movements.moved_on > {{ reference_now_timestamp() }}
    )

    select * from final
"""

GOOD_PATHS = (
    "models/staging/nomis/stg_nomis__movements",
    "models/staging/nomis/stg_nomis__bookings",
    "models/intermediate/prisons/int_nomis_extracts_summarised",
    "models/marts/prisons/fct_prison_movements",
    "models/marts/prisons/dim_establishment",
    "models/marts/prisons/fct_prison_population_daily",
)
GOOD_MODELS = {path.rsplit("/", 1)[1] for path in GOOD_PATHS}
GOOD_TESTS = {"tests/marts/prisons/assert_prison_movements_not_after_as_of_date.sql"}

PROJECT = {
    # One source per staging folder; `delius` is declared in nomis' folder (bad).
    "models/staging/nomis/_nomis__sources.yml": """
        version: 2
        sources:
          - name: nomis
            description: Prisons.
            config:
              freshness: &thresholds
                warn_after: {count: 2, period: day}
                error_after: {count: 3, period: day}
            tables:
              - name: movements
                description: Movements in and out of prisons.
                config: {loaded_at_field: _extracted_at}
              - name: bookings
                description: Periods in custody.
                config: {loaded_at_field: _extracted_at}
              # No thresholds.
              - name: releases
                description: Releases, never checked for freshness.
                config: {loaded_at_field: _extracted_at, freshness: null}
              # Thresholds but no column to read them from.
              - name: transfers
                description: Transfers between prisons.
          - name: delius
            description: Probation, declared in the wrong folder.
            config: {loaded_at_field: _extracted_at, freshness: *thresholds}
            tables:
              - {name: offenders, description: People on probation.}
    """,
    "models/staging/nomis/stg_nomis__movements.sql": model_sql("source('nomis', 'movements')"),
    # A comment may start a line with "with": only SQL is checked.
    "models/staging/nomis/stg_nomis__bookings.sql": "{#\n    Periods in custody,\n"
    "    with their establishment.\n#}\n-- with a line comment\n"
    + model_sql("source('nomis', 'bookings')"),
    # Named for another source than its folder's.
    "models/staging/nomis/stg_delius__offenders.sql": model_sql("source('delius', 'offenders')"),
    # Reads two sources.
    "models/staging/nomis/stg_nomis__movements_with_offenders.sql": model_sql(
        "source('nomis', 'movements')", "source('delius', 'offenders')"
    ),
    # Primary key tested unique but not not_null.
    "models/staging/nomis/stg_nomis__movement_reasons.sql": model_sql(
        "source('nomis', 'movements')"
    ),
    # Primary key unique with a not_null constraint that nothing checks (no contract, no
    # column_constraints test).
    "models/staging/nomis/stg_nomis__movement_types.sql": model_sql("source('nomis', 'movements')"),
    "models/staging/nomis/_nomis__models.yml": "version: 2\nmodels:\n"
    + dedent(properties("stg_nomis__movements"))
    + dedent(GOOD_BOOKINGS)
    + dedent(properties("stg_delius__offenders"))
    + dedent(properties("stg_nomis__movements_with_offenders"))
    + dedent(properties("stg_nomis__movement_reasons", tests="[unique]"))
    + dedent(NOT_NULL_CONSTRAINT_UNCHECKED),
    # Intermediate reads a source.
    "models/intermediate/prisons/int_movements_sourced.sql": model_sql(
        "source('nomis', 'movements')"
    ),
    # Described in the folder's shared file: the layout of staging, not of intermediate models.
    "models/intermediate/prisons/_prisons__models.yml": "version: 2\nmodels:\n"
    + dedent(properties("int_movements_sourced")),
    **one_file_per_model(
        "models/intermediate/prisons",
        dedent(GOOD_EXTRACTS)
        + dedent(
            """
  - name: int_establishments_versioned
    description: Establishment versions.
    data_tests:
      - column_constraints
      - mutually_exclusive_ranges:
          arguments:
            lower_bound_column: valid_from
            upper_bound_column: valid_to
            partition_by: establishment_code
    columns:
      - {name: establishment_code, description: Natural key.}
      - {name: valid_from, description: Start of the version.}
      - {name: valid_to, description: End of the version.}
      - {name: is_current, description: The current version.}
      - name: establishment_version_key
        description: The key.
        data_tests: [unique, not_null]
      - name: opened_on
        description: Opening date of the establishment, bounded by the machine's clock.
        constraints: [{type: check, expression: "opened_on <= current_date"}]
"""
        ),
    ),
    "models/marts/prisons/fct_prison_movements.sql": model_sql("ref('stg_nomis__movements')"),
    "models/marts/prisons/dim_establishment.sql": model_sql("ref('stg_nomis__bookings')"),
    "models/marts/prisons/fct_prison_population_daily.sql": model_sql(
        "ref('stg_nomis__movements')"
    ),
    "models/marts/prisons/fct_prison_recalls.sql": model_sql("ref('stg_nomis__movements')"),
    "models/marts/prisons/fct_prison_occupancy_daily.sql": model_sql("ref('stg_nomis__movements')"),
    "models/marts/prisons/dim_movement_reason.sql": model_sql("ref('stg_nomis__movements')"),
    # Under contract, but a column without type, one without description, a
    # foreign key without relationships test, a date bounded by the clock.
    "models/marts/prisons/fct_prison_discharges.sql": model_sql("ref('stg_nomis__movements')"),
    # The as-of date the good tests are bounded by.
    "models/intermediate/prisons/int_nomis_extracts_summarised.sql": model_sql(
        "ref('stg_nomis__movements')"
    ),
    # SCD2 with overlapping ranges tested, but not one current row per key.
    "models/intermediate/prisons/int_establishments_versioned.sql": model_sql(
        "ref('stg_nomis__bookings')"
    ),
    # A mart reads a source.
    "models/marts/prisons/fct_prison_receptions.sql": model_sql("source('nomis', 'movements')"),
    # No layer prefix.
    "models/marts/prisons/prison_movement_summary.sql": model_sql("ref('fct_prison_movements')"),
    # No tests at all, and no description.
    "models/marts/prisons/fct_prison_transfers.sql": model_sql("ref('stg_nomis__movements')"),
    # An implicit (comma) join, and `with` not on its own line.
    "models/marts/prisons/fct_prison_releases.sql": """
        with movements as (
            select * from {{ ref('stg_nomis__movements') }}
        ),

        bookings as (
            select * from {{ ref('stg_nomis__bookings') }}
        ),

        final as (
            select movements.id
            from movements, bookings
            where movements.id = bookings.id
        )

        select * from final
    """,
    # Described in another folder's properties file.
    "models/marts/prisons/fct_prison_admissions.sql": model_sql("ref('stg_nomis__movements')"),
    "models/marts/_marts__models.yml": "version: 2\nmodels:\n"
    + dedent(properties("fct_prison_admissions")),
    **one_file_per_model(
        "models/marts/prisons",
        dedent(GOOD_MARTS)
        + dedent(BAD_MART_KEYS)
        + dedent(
            """
  - name: fct_prison_discharges
    description: One row per discharge.
    config: {contract: {enforced: true}}
    columns:
      - name: discharge_key
        description: The fact's own key.
        data_type: varchar
        data_tests: [unique, not_null]
      - name: establishment_key
        description: Discharging prison.
        data_type: varchar
      - name: discharge_reason
        data_type: varchar
      - name: discharged_on
        description: Discharge date.
        data_tests:
          # Bounded by the machine's clock, not the extract's as-of date.
          - accepted_range:
              name: fct_prison_discharges_discharged_on_not_in_future
              arguments:
                min_value: "cast('1900-01-01' as date)"
                max_value: current_date
"""
        )
        + dedent(properties("fct_prison_receptions"))
        + dedent(properties("prison_movement_summary"))
        + dedent(properties("fct_prison_releases"))
        + '- name: fct_prison_transfers\n  description: ""\n',
    ),
    # A macro documented in another folder's properties file, and one not documented.
    "macros/kimball/stray_macro.sql": """
        {% macro stray_macro(value) -%}
            coalesce({{ value }}, 0)
        {%- endmacro %}
    """,
    "macros/staging/_staging_stray__macros.yml": """
        version: 2
        macros:
          - name: stray_macro
            description: Zero for null.
            arguments:
              - {name: value, type: string, description: A SQL expression.}
    """,
    "macros/undocumented_macro.sql": """
        {% macro undocumented_macro(value) -%}
            coalesce({{ value }}, 0)
        {%- endmacro %}
    """,
    # A singular test measuring against the machine's clock.
    "tests/marts/prisons/assert_prison_movements_not_in_future.sql": """
        select *
        from {{ ref('fct_prison_movements') }}
        where moved_on > cast(NOW() as date)
    """,
    **{path: GOOD_SINGULAR_TEST for path in GOOD_TESTS},
    "models/marts/_exposures.yml": """
        version: 2
        exposures:
          - name: prison_dashboard
            type: dashboard
            description: Prison movements for operational staff.
            owner: {name: Prisons analysis, email: prisons@example.org}
            depends_on: [ref('fct_prison_movements')]
          - name: staging_extract
            type: application
            description: An extract that reads staging directly.
            owner: {name: Someone, email: someone@example.org}
            depends_on: [ref('fct_prison_movements'), ref('stg_nomis__bookings')]
    """,
}

# (check, resource) pairs the run must report: one per broken convention.
EXPECTED = {
    ("check_model_names", "prison_movement_summary"),
    ("check_source_in_own_staging_folder", "delius.offenders"),
    ("check_staging_model_named_for_its_folder", "stg_delius__offenders"),
    ("check_lineage_source_cannot_be_used", "int_movements_sourced"),
    ("check_lineage_source_cannot_be_used", "fct_prison_receptions"),
    ("check_model_depends_on_multiple_sources", "stg_nomis__movements_with_offenders"),
    ("check_model_primary_key_tested", "stg_nomis__movement_reasons"),
    ("check_model_primary_key_tested", "fct_prison_transfers"),
    ("check_model_primary_key_tested", "stg_nomis__movement_types"),
    ("check_not_null_constraints_tested", "stg_nomis__movement_types"),
    ("check_mart_primary_key_declared", "fct_prison_discharges"),
    ("check_mart_primary_key_declared", "fct_prison_transfers"),
    ("check_mart_primary_key_declared", "fct_prison_recalls"),
    ("check_mart_primary_key_declared", "fct_prison_occupancy_daily"),
    ("check_mart_primary_key_declared", "dim_movement_reason"),
    ("check_model_description_populated", "fct_prison_transfers"),
    ("check_exposure_depends_only_on_marts", "staging_extract"),
    ("check_model_does_not_use_cartesian_join", "fct_prison_releases"),
    ("check_model_with_on_its_own_line", "fct_prison_releases"),
    ("check_model_properties_file_named_for_folder", "fct_prison_admissions"),
    ("check_model_properties_file_named_for_folder", "int_movements_sourced"),
    ("check_model_has_contracts_enforced", "fct_prison_transfers"),
    ("check_model_columns_have_types", "fct_prison_discharges"),
    ("check_model_column_description_populated", "fct_prison_discharges"),
    ("check_fact_foreign_keys_tested", "fct_prison_discharges"),
    ("check_scd2_model_ranges_tested", "int_establishments_versioned"),
    ("check_source_freshness_populated", "nomis.releases"),
    ("check_source_freshness_has_loaded_at_field", "nomis.transfers"),
    (
        "check_test_does_not_read_the_clock",
        "fct_prison_discharges_discharged_on_not_in_future",
    ),
    ("check_test_does_not_read_the_clock", "assert_prison_movements_not_in_future"),
    ("check_test_does_not_read_the_clock", "column_constraints_int_establishments_versioned_"),
    ("check_macro_properties_file_beside_it", "stray_macro"),
    ("check_macro_property_file_location", "stray_macro"),
    ("check_macro_properties_file_beside_it", "undocumented_macro"),
    ("check_macro_description_populated", "undocumented_macro"),
}

# What a failure must name (beyond the model): the offending columns, tests.
EXPECTED_DETAIL = {
    # Where it is described, and where it belongs.
    ("check_macro_properties_file_beside_it", "stray_macro"): [
        "macros/staging/_staging_stray__macros.yml",
        "macros/kimball/_kimball__macros.yml",
    ],
    ("check_macro_properties_file_beside_it", "undocumented_macro"): ["macros/_macros.yml"],
    ("check_model_columns_have_types", "fct_prison_discharges"): ["discharged_on"],
    ("check_not_null_constraints_tested", "stg_nomis__movement_types"): [
        "id (not_null)",
        "movement_type_code (check)",
    ],
    # None declared; no unique test; a unique test over other columns and a nullable key
    # column; a unique test with a `where`, and a not_null constraint nothing checks.
    ("check_mart_primary_key_declared", "fct_prison_discharges"): ["exactly one", "found 0"],
    ("check_mart_primary_key_declared", "fct_prison_recalls"): [
        "(recall_key)",
        "no `unique` test on `recall_key` (without `where`)",
    ],
    ("check_mart_primary_key_declared", "fct_prison_occupancy_daily"): [
        "(establishment_code, occupancy_date)",
        "not checked not null: occupancy_date",
        "no `unique_combination_of_columns` test over exactly establishment_code, occupancy_date",
    ],
    ("check_mart_primary_key_declared", "dim_movement_reason"): [
        "not checked not null: movement_reason_key",
        "no `unique` test on `movement_reason_key` (without `where`)",
    ],
    ("check_model_column_description_populated", "fct_prison_discharges"): ["discharge_reason"],
    ("check_fact_foreign_keys_tested", "fct_prison_discharges"): ["establishment_key"],
    ("check_scd2_model_ranges_tested", "int_establishments_versioned"): ["one_current_row_per_key"],
    # The argument, the expression and what to use instead.
    (
        "check_test_does_not_read_the_clock",
        "fct_prison_discharges_discharged_on_not_in_future",
    ): ["`max_value`", "`current_date`", "as_of_date", "reference_now_timestamp()"],
    ("check_test_does_not_read_the_clock", "column_constraints_int_establishments_versioned_"): [
        "the check constraint of `opened_on`",
        "`current_date`",
        "as_of_date",
    ],
    ("check_test_does_not_read_the_clock", "assert_prison_movements_not_in_future"): [
        "line 3",
        "`NOW()`",
        "as_of_date",
        "reference_now_timestamp()",
    ],
}


def run_conventions(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BIN": str(BIN), "COLUMNS": "200"}
    return subprocess.run(
        [str(project / ".ci" / "check-conventions")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    project = copy_project(tmp_path_factory.mktemp("conventions"))
    write(project, PROJECT)
    return run_conventions(project)


def failure_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if ": ERROR " in line]


def test_the_run_fails(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Project conventions: FAILED" in result.stderr


@pytest.mark.parametrize(("check", "resource"), sorted(EXPECTED))
def test_each_broken_convention_is_named_with_its_model(
    result: subprocess.CompletedProcess[str], check: str, resource: str
) -> None:
    lines = failure_lines(result)
    assert any(f" {check}: " in line and f"`{resource}`" in line for line in lines), (
        f"{check} did not report {resource}:\n" + "\n".join(lines) + result.stderr
    )


@pytest.mark.parametrize(("check", "resource"), sorted(EXPECTED_DETAIL))
def test_each_coverage_failure_names_what_is_missing(
    result: subprocess.CompletedProcess[str], check: str, resource: str
) -> None:
    lines = [
        line for line in failure_lines(result) if f" {check}: " in line and f"`{resource}`" in line
    ]
    assert lines, f"{check} did not report {resource}"
    for detail in EXPECTED_DETAIL[(check, resource)]:
        assert detail in lines[0], lines[0]


def test_a_fact_own_key_is_not_a_foreign_key(
    result: subprocess.CompletedProcess[str],
) -> None:
    lines = [line for line in failure_lines(result) if " check_fact_foreign_keys_tested: " in line]
    assert lines, result.stdout
    assert not [line for line in lines if "discharge_key" in line], "\n".join(lines)


def test_models_that_follow_the_conventions_are_not_reported(
    result: subprocess.CompletedProcess[str],
) -> None:
    lines = failure_lines(result)
    assert lines, result.stdout + result.stderr
    for model in GOOD_MODELS:
        assert not [line for line in lines if f"`{model}`" in line], "\n".join(lines)
    assert not [line for line in lines if "`prison_dashboard`" in line]
    clock = [line for line in lines if " check_test_does_not_read_the_clock: " in line]
    assert len(clock) == 3, "\n".join(clock)
    for test in GOOD_TESTS:
        assert not [line for line in lines if line.startswith(f"{test}: ")], "\n".join(lines)
    for source in ("nomis.movements", "nomis.bookings", "delius.offenders"):
        assert not [line for line in lines if f"`{source}`" in line and "freshness" in line], (
            "\n".join(lines)
        )


def good_project_files() -> dict[str, str]:
    """A small project that follows every convention."""
    good = {f"{path}.sql": PROJECT[f"{path}.sql"] for path in GOOD_PATHS}
    good |= {path: PROJECT[path] for path in GOOD_TESTS}
    good["models/staging/nomis/_nomis__sources.yml"] = """
        version: 2
        sources:
          - name: nomis
            description: Prisons.
            config:
              loaded_at_field: _extracted_at
              freshness:
                warn_after: {count: 2, period: day}
                error_after: {count: 3, period: day}
            tables:
              - {name: movements, description: Movements in and out of prisons.}
              - {name: bookings, description: Periods in custody.}
    """
    good["models/staging/nomis/_nomis__models.yml"] = (
        "version: 2\nmodels:\n" + dedent(properties("stg_nomis__movements")) + dedent(GOOD_BOOKINGS)
    )
    good |= one_file_per_model("models/intermediate/prisons", dedent(GOOD_EXTRACTS))
    good |= one_file_per_model("models/marts/prisons", dedent(GOOD_MARTS))
    good["models/marts/_exposures.yml"] = """
        version: 2
        exposures:
          - name: prison_dashboard
            type: dashboard
            description: Prison movements for operational staff.
            owner: {name: Prisons analysis, email: prisons@example.org}
            depends_on: [ref('fct_prison_movements')]
    """
    return good


def test_a_project_that_follows_every_convention_passes(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    write(project, good_project_files())
    assert sorted(p.name for p in project.glob("models/**/*.sql")) == sorted(
        f"{m}.sql" for m in GOOD_MODELS
    )
    completed = run_conventions(project)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "all checks passed" in completed.stdout


def test_a_model_without_an_owner_fails_the_metadata_score(tmp_path: Path) -> None:
    """dbt-score (after dbt-bouncer) with the floors of pyproject.toml: the good project with
    its staging folder's owner removed from dbt_project.yml fails, naming the model."""
    project = copy_project(tmp_path)
    write(project, good_project_files())
    config = project / "dbt_project.yml"
    text = config.read_text(encoding="utf-8")
    owner = "      +meta:\n        owner: data-engineering\n"
    assert owner in text
    # only the owner goes: the folder's other meta (published, personal_data) stays
    config.write_text(text.replace(owner, "      +meta:\n", 1), encoding="utf-8")
    completed = run_conventions(project)
    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert "Project conventions: all checks passed." in completed.stdout  # bouncer passed
    assert "Metadata score (dbt-score): FAILED" in completed.stderr
    assert "stg_nomis__movements" in completed.stdout
    assert "has_owner" in completed.stdout
