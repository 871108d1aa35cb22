"""SQL linting (.sqlfluff), changed-files linting and the CI workflows do their job.

On a temporary copy of the project (configuration, macros, seeds, generic
tests; the models are written here):
- models, an analysis and a singular test in house style pass sqlfluff with
  the dbt templater (CI) and with the jinja templater (pre-commit);
- a deliberately badly-styled model is caught, one rule per house-style habit;
- `.ci/lint-changed-sql` lints exactly the SQL files a git branch changed.
The workflows are valid (YAML, yamllint, the GitHub workflow schema) and run
only make targets that exist; the pre-commit configuration is valid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml

from conftest import copy_project_parts

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEEP = (
    ".ci",
    ".pre-commit-config.yaml",
    ".yamllint.yml",
    ".sqlfluff",
    ".sqlfluffignore",
    "dbt_project.yml",
    "profiles.yml",
    "macros",
    "seeds",
    "tests/generic",
)
SCHEMA = "vendor.github-workflows"  # check-jsonschema's copy of GitHub's workflow schema
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def copy_project(dest: Path) -> Path:
    """The project's configuration, macros, seeds and generic tests, no models."""
    return copy_project_parts(dest, KEEP)


def write(project: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())


SOURCES = """
    version: 2
    sources:
      - name: nomis
        description: Prisons.
        tables:
          - {name: movements, description: Movements in and out of prisons.}
"""

# House style: import CTEs, one CTE per step, select * from final; cross-database
# macros; an incremental model with its filter on {{ this }}.
GOOD = {
    "models/staging/nomis/_nomis__sources.yml": SOURCES,
    "models/staging/nomis/stg_nomis__movements.sql": """
        with

        source as (
            select * from {{ source('nomis', 'movements') }}
        ),

        renamed as (
            select
                -- ids
                movement_id,
                booking_id,
                -- strings
                upper(trim(movement_type_code)) as movement_type_code,
                movement_reason_code,
                -- booleans
                coalesce(movement_type_code = 'REL', false) as is_release,
                -- timestamps
                cast(movement_at as timestamp) as movement_at,
                cast(movement_at as date) as movement_date,
                cast(_extracted_at as timestamp) as extracted_at
            from source
        )

        select * from renamed
    """,
    "models/marts/prisons/fct_prison_movements.sql": """
        {{
            config(
                materialized='incremental',
                incremental_strategy='delete+insert',
                unique_key='movement_key',
                on_schema_change='fail',
            )
        }}

        with

        movements as (
            select * from {{ ref('stg_nomis__movements') }}
            {% if is_incremental() %}
                where extracted_at > (select max(extracted_at) from {{ this }})
            {% endif %}
        ),

        releases as (
            select * from {{ ref('stg_nomis__movements') }}
            where is_release
        ),

        movements_joined as (
            select
                {{ surrogate_key(['movements.movement_id']) }} as movement_key,
                {{ dimension_key('releases.movement_id', 'movements.booking_id') }}
                    as release_key,
                movements.movement_id,
                movements.movement_type_code,
                movements.movement_at,
                movements.extracted_at,
                count(*) over (
                    partition by movements.booking_id
                ) as movements_in_booking,
                {{ dbt.datediff('movements.movement_date', 'current_date', 'day') }}
                    as days_since_movement,
                case
                    when movements.movement_type_code = 'ADM' then 'Admission'
                    when movements.movement_type_code = 'TRN' then 'Transfer'
                    else 'Release'
                end as movement_type_description
            from movements
            left join releases
                on movements.booking_id = releases.booking_id
        ),

        final as (
            select
                movements_joined.*,
                cast(
                    movements_joined.movement_key as {{ dbt.type_string() }}
                ) as movement_code
            from movements_joined
        )

        select * from final
    """,
    # The incremental facts' pattern: CTEs that exist only on incremental runs.
    "models/marts/prisons/fct_prison_receptions.sql": """
        {{ config(materialized='incremental', unique_key='movement_id') }}

        with

        movements as (
            select * from {{ ref('stg_nomis__movements') }}
            where movement_type_code = 'ADM'
        ),

        {% if is_incremental() %}

        high_water_mark as (
            select max(extracted_at) as max_extracted_at from {{ this }}
        ),

        {% endif %}

        final as (
            select movements.*
            from movements
            {%- if is_incremental() %}
            cross join high_water_mark
            where movements.extracted_at > high_water_mark.max_extracted_at
            {%- endif %}
        )

        select * from final
    """,
    "analyses/prison_receptions_by_month.sql": """
        -- How many people were received into custody each month?
        with

        movements as (
            select * from {{ ref('fct_prison_movements') }}
        ),

        monthly as (
            select
                {{ dbt.date_trunc('month', 'movement_at') }} as movement_month,
                count(*) as receptions
            from movements
            where movement_type_code = 'ADM'
            group by 1
        )

        select * from monthly
    """,
    "tests/marts/prisons/assert_no_movement_after_its_extract.sql": """
        -- A movement is never dated after the extract that delivered it.
        select
            movement_id,
            movement_at,
            extracted_at
        from {{ ref('fct_prison_movements') }}
        where movement_at > extracted_at
    """,
}

BAD_PATH = "models/marts/prisons/fct_prison_movements_badly_styled.sql"
BAD = (
    "{{ config(materialized='table') }}\n"
    "WITH movements AS (SELECT * FROM {{ ref('stg_nomis__movements') }}),\n"
    "joined as (\n"
    "  select m.Movement_ID, booking_id b, UPPER(m.movement_type_code)\n"
    "  , m.movement_at::date as movement_date,"
    " ifnull(m.movement_reason_code, 'NONE') as reason_code, r.movement_id as release_id\n"
    "  from movements m\n"
    "  join (select * from movements where is_release) as releases"
    " on m.booking_id = releases.booking_id\n"
    "  left join movements as r on m.movement_at = r.movement_at\n"
    ")\n"
    "select movement_id, booking_id from joined\n"
)

# House-style habit broken by BAD -> the sqlfluff rule that must catch it.
BAD_RULES = {
    "lower case keywords": "CP01",
    "lower case identifiers": "CP02",
    "lower case functions": "CP03",
    "trailing commas": "LT04",
    "explicit `as` for tables": "AL01",
    "explicit `as` for columns": "AL02",
    "every expression named": "AL03",
    "no initialism aliases": "AL06",
    "lines under 80 characters": "LT05",
    "4-space indent": "LT02",
    "`with` on its own line": "LT14",
    "blank line after each CTE": "LT08",
    "no subquery, one CTE per step": "ST05",
    "select * from final": "CV13",
    "explicit join type": "AM05",
    "portable cast()": "CV11",
    "coalesce, not ifnull": "CV02",
    "qualified columns in joins": "RF02",
    "one select target per line": "LT09",
}

Violations = dict[str, list[dict[str, Any]]]


def lint(project: Path, *paths: str, templater: str | None = None) -> Violations:
    """Violations by file, from the project's .ci/lint-sql (JSON output)."""
    args = "--format json --nofail"
    if templater:
        args += f" --templater {templater}"
    env = {**os.environ, "BIN": str(BIN), "SQLFLUFF_ARGS": args}
    completed = subprocess.run(
        [str(project / ".ci" / "lint-sql"), *paths],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout[completed.stdout.index("[") :]
    return {item["filepath"]: item["violations"] for item in json.loads(output)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("lint"))
    write(project, GOOD)
    write(project, {BAD_PATH: BAD})
    return project


@pytest.fixture(scope="module", params=["dbt", "jinja"])
def violations(request: pytest.FixtureRequest, project: Path) -> Violations:
    templater = None if request.param == "dbt" else request.param
    return lint(project, "models", "analyses", "tests", templater=templater)


def test_house_style_sql_passes(violations: Violations) -> None:
    good = [name for name in GOOD if name.endswith(".sql")]
    assert sorted(set(good) - set(violations)) == [], sorted(violations)
    problems = {
        name: [f"L{v['start_line_no']} {v['code']} {v['description']}" for v in violations[name]]
        for name in good
        if violations[name]
    }
    assert problems == {}


@pytest.mark.parametrize(("habit", "code"), sorted(BAD_RULES.items()))
def test_badly_styled_model_is_caught(violations: Violations, habit: str, code: str) -> None:
    codes = {v["code"] for v in violations[BAD_PATH]}
    assert code in codes, f"{habit}: {code} not reported; got {sorted(codes)}"


def test_the_linter_fails_on_the_bad_model(project: Path) -> None:
    env = {**os.environ, "BIN": str(BIN)}
    completed = subprocess.run(
        [str(project / ".ci" / "lint-sql"), BAD_PATH],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "CV13" in completed.stdout


def git(project: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }
    return subprocess.run(
        ["git", *args], cwd=project, env=env, check=True, capture_output=True, text=True
    ).stdout


def staging_model(n: int) -> str:
    return dedent(
        f"""\
        with

        source as (
            select * from {{{{ source('nomis', 'movements') }}}}
        ),

        renamed as (
            select
                movement_id,
                booking_id,
                movement_at,
                {n} as version_number
            from source
        )

        select * from renamed
        """
    )


def run_changed(project: Path, base: str = "main") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BIN": str(BIN)}
    return subprocess.run(
        [str(project / ".ci" / "lint-changed-sql"), base],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def branch_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository on a branch that changes 5 of its 20 staging models."""
    project = copy_project(tmp_path_factory.mktemp("branch"))
    write(project, {"models/staging/nomis/_nomis__sources.yml": SOURCES})
    for n in range(20):
        write(project, {f"models/staging/nomis/stg_nomis__model_{n:02}.sql": staging_model(n)})
    git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", ".")
    git(project, "commit", "--quiet", "-m", "main")
    git(project, "checkout", "--quiet", "-b", "feature")
    for n in range(5):
        path = project / f"models/staging/nomis/stg_nomis__model_{n:02}.sql"
        path.write_text(staging_model(n).replace("movement_at,", "movement_at,\n        1 as x,"))
    git(project, "commit", "--quiet", "-am", "change five models")
    return project


def test_changed_files_lint_lints_only_the_branch_changes(branch_project: Path) -> None:
    started = time.perf_counter()
    completed = run_changed(branch_project)
    elapsed = time.perf_counter() - started
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Linting 5 SQL file(s) changed against main" in completed.stdout
    linted = re.findall(r"^  (models/\S+\.sql)$", completed.stdout, flags=re.MULTILINE)
    assert linted == [f"models/staging/nomis/stg_nomis__model_{n:02}.sql" for n in range(5)]
    print(f"changed-files lint of 5 models: {elapsed:.1f} s")


def test_changed_files_lint_fails_on_a_badly_styled_change(branch_project: Path) -> None:
    bad = branch_project / "models/staging/nomis/stg_nomis__model_19.sql"
    original = bad.read_text()
    bad.write_text(original.replace("select\n", "SELECT\n", 1))
    try:
        completed = run_changed(branch_project)
    finally:
        bad.write_text(original)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "stg_nomis__model_19.sql" in completed.stdout
    assert "CP01" in completed.stdout


def test_changed_files_lint_with_no_sql_change(branch_project: Path) -> None:
    completed = run_changed(branch_project, base="HEAD")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "nothing to lint" in completed.stdout


def test_whole_project_lint_time(branch_project: Path) -> None:
    env = {**os.environ, "BIN": str(BIN)}
    started = time.perf_counter()
    completed = subprocess.run(
        [str(branch_project / ".ci" / "lint-sql")],
        cwd=branch_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    assert completed.returncode == 0, completed.stdout + completed.stderr
    print(f"whole-project lint of 20 models: {elapsed:.1f} s")


def test_pre_commit_hooks_lint_the_changed_files(branch_project: Path, tmp_path: Path) -> None:
    """pre-commit (jinja templater) passes a good change and fails a badly-styled one."""
    (branch_project / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    bad = branch_project / "models/staging/nomis/stg_nomis__model_18.sql"
    bad.write_text(staging_model(18).replace("from source", "FROM source"))
    good = "models/staging/nomis/stg_nomis__model_17.sql"
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pre-commit"), "run", "--files", *files],
            cwd=branch_project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    passed = run(good, "models/staging/nomis/_nomis__sources.yml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = run(good, str(bad.relative_to(branch_project)))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "stg_nomis__model_18.sql" in failed.stdout
    assert "CP01" in failed.stdout
    assert "stg_nomis__model_17.sql" not in failed.stdout


# --- Slim build -----------------------------------------------------------------


def slim_build(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BIN": str(BIN),
        "GITHUB_ACTIONS": "",
        "DERIVED_WAREHOUSE": "warehouse/ci.duckdb",
        "DERIVED_DATA_DIR": "data/curated",
    }
    return subprocess.run(
        [str(project / ".ci" / "slim-build"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def built_models(output: str) -> set[str]:
    return set(re.findall(r"OK created sql \w+ model \w+\.(\w+)", output))


@pytest.mark.slow
def test_slim_build_builds_what_changed_and_defers_the_rest(tmp_path: Path) -> None:
    import duckdb

    project = copy_project(tmp_path)
    shutil.rmtree(project / "seeds")  # not needed here: keep the builds short
    partition = project / "data/curated/nomis/movements/extraction_date=2024-01-01"
    partition.mkdir(parents=True)
    duckdb.sql(
        "copy (select 'M' || i as movement_id, 'B' || (i % 3) as booking_id,"
        " timestamp '2024-01-01 05:00:00' as _extracted_at from range(10) as t(i))"
        f" to '{partition}/part-0.parquet' (format parquet)"
    )
    (project / "tests").mkdir(exist_ok=True)
    location = "read_parquet('data/curated/{schema}/{name}/*/*.parquet', hive_partitioning = true)"
    write(
        project,
        {
            "models/staging/nomis/_nomis__sources.yml": f"""
                version: 2
                sources:
                  - name: nomis
                    schema: nomis
                    config: {{meta: {{external_location: "{location}"}}}}
                    tables: [{{name: movements}}]
            """,
            "models/staging/nomis/stg_nomis__movements.sql": (
                "select * from {{ source('nomis', 'movements') }}\n"
            ),
            "models/marts/prisons/fct_prison_movements.sql": (
                "select * from {{ ref('stg_nomis__movements') }}\n"
            ),
            "models/marts/prisons/fct_prison_bookings.sql": (
                "select distinct booking_id from {{ ref('stg_nomis__movements') }}\n"
            ),
            "models/marts/prisons/_prisons__models.yml": """
                version: 2
                models:
                  - name: fct_prison_bookings
                    columns:
                      - {name: booking_id, data_tests: [unique, not_null]}
            """,
        },
    )

    full = slim_build(project, "--full")
    assert full.returncode == 0, full.stdout + full.stderr
    assert built_models(full.stdout) >= {
        "stg_nomis__movements",
        "fct_prison_movements",
        "fct_prison_bookings",
    }
    state = project / "target/state-main"
    assert {p.name for p in state.iterdir()} == {"manifest.json", "ci.duckdb", "data.tar.gz"}

    # A pull request changes one mart: only it (and its tests) is built, on top
    # of main's warehouse and data restored from the state.
    (project / "models/marts/prisons/fct_prison_bookings.sql").write_text(
        "select distinct booking_id, 1 as n from {{ ref('stg_nomis__movements') }}\n"
    )
    shutil.rmtree(project / "warehouse")
    shutil.rmtree(project / "data")
    slim = slim_build(project)
    assert slim.returncode == 0, slim.stdout + slim.stderr
    assert "state:modified+ with --defer" in slim.stdout
    assert built_models(slim.stdout) == {"fct_prison_bookings"}
    assert "PASS unique_fct_prison_bookings_booking_id" in slim.stdout
    # ... and compared with main's warehouse: the data diff names the new column.
    report = (project / "target/diff.md").read_text()
    assert "1 model(s) compared, 1 with differences" in report, report
    assert "| `fct_prison_bookings` | changed | 3 → 3 | +n | - |" in report, report

    # With main's manifest only, the unmodified parents are built first.
    (state / "ci.duckdb").unlink()
    parents_first = slim_build(project)
    assert parents_first.returncode == 0, parents_first.stdout + parents_first.stderr
    assert "parents first" in parents_first.stdout
    assert "no data diff" in (project / "target/diff.md").read_text()
    assert built_models(parents_first.stdout) == {"stg_nomis__movements", "fct_prison_bookings"}

    # Without any state of main, everything is built.
    shutil.rmtree(state)
    fallback = slim_build(project)
    assert fallback.returncode == 0, fallback.stdout + fallback.stderr
    assert "No state of main: building everything." in fallback.stdout
    assert "fct_prison_movements" in built_models(fallback.stdout)


# --- CI configuration ---------------------------------------------------------


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def test_there_are_workflows_for_pull_requests_and_main() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"pull-request.yml", "main.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_valid(workflow: Path) -> None:
    yaml.safe_load(workflow.read_text())
    for command in (
        [str(BIN / "yamllint"), "-s", "-c", str(ROOT / ".yamllint.yml"), str(workflow)],
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
    ):
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_runs_only_make_targets(workflow: Path) -> None:
    targets = make_targets()
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    runs = [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]
    assert runs
    for run in runs:
        for line in filter(None, (line.strip() for line in run.splitlines())):
            match = re.fullmatch(r"make ([a-z][a-z0-9-]*)( [A-Z_]+=\S+)*", line)
            assert match, f"{workflow.name}: `{line}` is not a make target"
            assert match.group(1) in targets, f"{workflow.name}: no make target {match.group(1)}"


def test_pre_commit_config_is_valid() -> None:
    config = ROOT / ".pre-commit-config.yaml"
    completed = subprocess.run(
        [str(BIN / "pre-commit"), "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    hooks = {
        hook["id"] for repo in yaml.safe_load(config.read_text())["repos"] for hook in repo["hooks"]
    }
    assert {"sqlfluff-lint", "yamllint", "ruff-check", "ruff-format"} <= hooks
