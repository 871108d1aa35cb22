"""Project conventions that dbt-bouncer has no built-in check for.

dbt-bouncer (configured in ``dbt-bouncer.yml`` at the project root) checks the
conventions of the house style against ``target/manifest.json``: naming by
layer, only staging reads sources, one source per model, descriptions... The
few rules it cannot express are written here as plain functions over its
manifest objects:

- ``check_model_primary_key_tested``: a column tested ``unique`` *and*
  ``not_null`` (or a ``unique_combination_of_columns`` test);
- ``check_source_in_own_staging_folder``: source ``S`` is declared in
  ``models/staging/S/`` (one staging folder per source);
- ``check_staging_model_named_for_its_folder``: a staging model in
  ``models/staging/S/`` is named ``stg_S__...`` (or ``base_S__...``);
- ``check_exposure_depends_only_on_marts``: exposures read marts only;
- ``check_model_properties_file_named_for_folder``: a staging model is
  described in ``_<folder>__models.yml`` beside it; an intermediate model or
  mart in its own ``<model>.yml`` beside its SQL (one file per model: its
  description, columns, tests and unit tests in one short file);
- ``check_model_with_on_its_own_line``: ``with`` stands alone on its line;
- ``check_source_freshness_has_loaded_at_field``: a source table with
  freshness thresholds also says which column holds the load time;
- ``check_fact_foreign_keys_tested``: every foreign key (``*_key``, not the
  fact's own primary key) of a fact has a ``relationships`` (or
  ``relationships_where``) test;
- ``check_scd2_model_ranges_tested``: a model with ``valid_from``,
  ``valid_to`` and ``is_current`` is tested with
  ``mutually_exclusive_ranges`` and ``one_current_row_per_key``;
- ``check_test_does_not_read_the_clock``: a data test's arguments and a
  singular test's SQL do not read the machine's clock (``current_date``,
  ``now()``...) but the data's as-of date
  (``int_<system>_extracts_summarised``) or ``reference_now_timestamp()``;
- ``check_macro_properties_file_beside_it``: a macro in ``macros/F/`` is
  documented in ``macros/F/_F__macros.yml`` (in ``macros/``: ``_macros.yml``);
- ``check_not_null_constraints_tested``: a model with ``not_null`` or
  ``check`` constraints has the ``column_constraints`` test;
- ``check_mart_primary_key_declared``: a mart declares exactly one primary
  key (a ``primary_key`` constraint), tested not null and unique.

Their rule codes, DT001..DT013, are assigned in :data:`CHECKS`.

dbt-bouncer loads custom checks from the files under its
``custom_checks_dir`` (``.ci/dbt_bouncer_checks/``): the one file there calls
:func:`register` to turn these functions into checks of that module.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from dbt_bouncer.check_framework.decorator import check, fail

UNIQUE_TESTS = frozenset({"unique"})
NOT_NULL_TESTS = frozenset({"not_null"})
COMBINATION_TESTS = frozenset({"unique_combination_of_columns"})
#: A `not_null` constraint counts as tested only with the model's `column_constraints` test. A
#: `primary_key` constraint is not a not-null check: DuckDB does not render it
#: (macros/engines/key_constraints.sql) and Spark's Parquet tables enforce nothing.
NOT_NULL_CONSTRAINTS = frozenset({"not_null"})
PRIMARY_KEY_CONSTRAINT = "primary_key"
#: The generic test that checks a model's `not_null` and `check` constraints where the engine
#: does not enforce them (tests/generic/column_constraints.sql).
CONSTRAINT_TESTS = frozenset({"column_constraints"})
#: The column constraints that are row rules `column_constraints` checks: a value present, and
#: a `check` expression (the accepted ranges and code lists, docs/data-quality.md).
ROW_CONSTRAINTS = frozenset({"not_null", "check"})


def _test_name(test: Any) -> str:
    metadata = getattr(test, "test_metadata", None)
    return str(getattr(metadata, "name", "") or "")


def _constraint_types(column: Any) -> set[str]:
    types: set[str] = set()
    for constraint in getattr(column, "constraints", None) or []:
        kind = getattr(constraint, "type", None)
        types.add(str(getattr(kind, "value", kind)))
    return types


def _path(resource: Any) -> PurePosixPath:
    return PurePosixPath(str(resource.original_file_path).replace("\\", "/"))


def _parents(resource: Any) -> list[str]:
    depends_on = getattr(resource, "depends_on", None)
    return list(getattr(depends_on, "nodes", None) or [])


def primary_key_columns(model: Any, tests: Iterable[Any]) -> list[str]:
    """The columns of ``model`` tested both unique and not null.

    Not null may also be a ``not_null`` constraint when the model has a
    ``column_constraints`` test (which checks it wherever the engine does not
    enforce it). A ``primary_key`` constraint alone is a declaration, not a
    check (no engine of the project enforces it).
    A ``unique_combination_of_columns`` test counts as a tested key and is
    reported as ``combination``.
    """
    tests = list(tests)
    checked = (
        NOT_NULL_CONSTRAINTS
        if any(_test_name(test) in CONSTRAINT_TESTS for test in tests)
        else frozenset()
    )
    tests_by_column: dict[str, set[str]] = {}
    keys: list[str] = []
    for test in tests:
        name = _test_name(test)
        if name in COMBINATION_TESTS:
            keys.append("combination")
        column = getattr(test, "column_name", None)
        if column:
            tests_by_column.setdefault(str(column).lower(), set()).add(name)
    columns = {str(name).lower(): col for name, col in (model.columns or {}).items()}
    for column, names in sorted(tests_by_column.items()):
        if not names & UNIQUE_TESTS:
            continue
        constraints = _constraint_types(columns[column]) if column in columns else set()
        if names & NOT_NULL_TESTS or constraints & NOT_NULL_CONSTRAINTS & checked:
            keys.append(column)
    return keys


def check_model_primary_key_tested(model: Any, ctx: Any) -> None:
    """Every model has a primary key tested unique and not null.

    One column carries both a ``unique`` and a ``not_null`` test (or a
    ``not_null`` constraint checked by the model's ``column_constraints``
    test), or the model has a
    ``unique_combination_of_columns`` test over its grain.
    """
    tests = ctx.tests_by_attached_node.get(model.unique_id, [])
    if not primary_key_columns(model, tests):
        fail(
            f"`{model.name}` has no tested primary key: test one column with "
            "`unique` and `not_null` (or the grain with "
            "`unique_combination_of_columns`)."
        )


def check_source_in_own_staging_folder(source: Any, *, staging_dir: str = "models/staging") -> None:
    """Source ``S`` is declared in ``models/staging/S/``: one folder per source."""
    expected = PurePosixPath(staging_dir) / str(source.source_name)
    actual = _path(source).parent
    if actual != expected:
        fail(
            f"Source `{source.source_name}.{source.name}` is declared in "
            f"`{actual}/`, expected `{expected}/` (one staging folder per source)."
        )


def check_staging_model_named_for_its_folder(
    model: Any, *, staging_dir: str = "models/staging", prefixes: list[str] | None = None
) -> None:
    """A staging model in ``models/staging/S/`` is named ``stg_S__<entity>``."""
    path = _path(model)
    folder = path.parent
    if folder.parent != PurePosixPath(staging_dir):
        fail(
            f"`{model.name}` is in `{folder}/`: staging models live in "
            f"`{staging_dir}/<source>/`, one folder per source."
        )
    allowed = tuple(f"{prefix}_{folder.name}__" for prefix in (prefixes or ["stg", "base"]))
    if not str(model.name).startswith(allowed):
        fail(
            f"`{model.name}` is in `{folder}/`, so its name must start with "
            f"{' or '.join(f'`{prefix}`' for prefix in allowed)}."
        )


def check_exposure_depends_only_on_marts(
    exposure: Any, ctx: Any, *, marts_dir: str = "models/marts"
) -> None:
    """Exposures depend on mart models only (no source, seed, staging...)."""
    marts = PurePosixPath(marts_dir)
    not_marts: list[str] = []
    for node_id in _parents(exposure):
        model = ctx.models_by_unique_id.get(node_id)
        if model is None or marts not in _path(model).parents:
            not_marts.append(node_id)
    if not_marts:
        fail(
            f"Exposure `{exposure.name}` depends on {', '.join(sorted(not_marts))}: "
            f"exposures may only depend on models under `{marts_dir}/`."
        )


# Layers whose models each have their own properties file, `<model>.yml`.
ONE_FILE_PER_MODEL_DIRS = ("models/intermediate", "models/marts")


def check_model_properties_file_named_for_folder(model: Any) -> None:
    """A model's properties file sits beside it, named for its folder or itself.

    Staging models share ``_<folder>__models.yml`` (one per source, short
    entries); intermediate models and marts each have their own ``<model>.yml``
    beside the SQL, as long entries with unit tests are easier to carry on one
    file per model.
    """
    path = _path(model)
    folder = path.parent
    own_file = any(PurePosixPath(d) in path.parents for d in ONE_FILE_PER_MODEL_DIRS)
    expected = folder / (f"{model.name}.yml" if own_file else f"_{folder.name}__models.yml")
    _require_properties_file(model, f"`{model.name}`", expected)


def _require_properties_file(resource: Any, label: str, expected: PurePosixPath) -> None:
    """Fail unless ``resource`` is described in the properties file ``expected``."""
    patch_path = str(getattr(resource, "patch_path", None) or "")
    if not patch_path:
        fail(f"{label} is not described in a properties file: add it to `{expected}`.")
    actual = PurePosixPath(patch_path.split("://", 1)[-1])
    if actual != expected:
        fail(f"{label} is described in `{actual}`, expected `{expected}`.")


MACROS_DIR = PurePosixPath("macros")


def macro_properties_file(path: PurePosixPath) -> PurePosixPath:
    """The properties file of the macros of ``path``'s folder, beside them.

    ``macros/x.sql`` -> ``macros/_macros.yml``; ``macros/F/x.sql`` ->
    ``macros/F/_F__macros.yml`` (dbt's layout guide, as dbt-bouncer's
    ``check_macro_property_file_location`` names it).
    """
    folder = path.parent
    if folder == MACROS_DIR:
        return folder / "_macros.yml"
    return folder / f"_{'_'.join(folder.relative_to(MACROS_DIR).parts)}__macros.yml"


def check_macro_properties_file_beside_it(macro: Any) -> None:
    """A macro is documented in the properties file of its own folder.

    So a macro's docs move with it, and a reader finds them beside the code;
    dispatched implementations (``duckdb__...``, ``spark__...``) are documented
    where they are written.
    """
    path = _path(macro)
    _require_properties_file(macro, f"Macro `{macro.name}` ({path})", macro_properties_file(path))


_WITH_NOT_ALONE = re.compile(r"^[ \t]*with[ \t]+[^\s\-]", re.IGNORECASE | re.MULTILINE)
# Jinja, block and line comments: prose, not SQL (newlines kept for line numbers).
_COMMENTS = re.compile(r"\{#.*?#\}|/\*.*?\*/|--[^\n]*", re.DOTALL)


def _blank_comments(code: str) -> str:
    return _COMMENTS.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), code)


def check_model_with_on_its_own_line(model: Any) -> None:
    """SQL layout: ``with`` stands alone on its line (sqlfluff misses line 1)."""
    code = str(getattr(model, "raw_code", "") or "")
    if str(getattr(model, "language", "sql")) != "sql":
        return
    match = _WITH_NOT_ALONE.search(_blank_comments(code))
    if match:
        line = code.count("\n", 0, match.start()) + 1
        fail(f"`{model.name}` line {line}: put `with` on its own line, then the first CTE.")


def check_source_freshness_has_loaded_at_field(source: Any) -> None:
    """A source table with freshness thresholds names its ``loaded_at_field``.

    dbt-bouncer's ``check_source_freshness_populated`` checks the thresholds;
    without a ``loaded_at_field`` (or ``loaded_at_query``) ``dbt source
    freshness`` skips the table silently.
    """
    config = getattr(source, "config", None)
    loaded_at = (
        getattr(source, "loaded_at_field", None)
        or getattr(config, "loaded_at_field", None)
        or getattr(source, "loaded_at_query", None)
        or getattr(config, "loaded_at_query", None)
    )
    if not loaded_at:
        fail(
            f"Source `{source.source_name}.{source.name}` has no `loaded_at_field`: "
            "name the column holding the load time so freshness is checked."
        )


RELATIONSHIP_TESTS = frozenset({"relationships", "relationships_where"})


def _tested_columns(tests: Iterable[Any], names: frozenset[str]) -> set[str]:
    return {
        str(test.column_name).lower()
        for test in tests
        if _test_name(test) in names and getattr(test, "column_name", None)
    }


def check_fact_foreign_keys_tested(
    model: Any, ctx: Any, *, key_pattern: str = r"_key$", fact_prefix: str = "fct_"
) -> None:
    """Every foreign key of a fact has a ``relationships`` test to its dimension.

    A foreign key is a column matching ``key_pattern`` other than the fact's
    own primary key (a column tested unique and not null).
    ``relationships_where`` counts too (a key that applies to some rows only).
    """
    if not str(model.name).startswith(fact_prefix):
        return
    tests = ctx.tests_by_attached_node.get(model.unique_id, [])
    own_keys = set(primary_key_columns(model, tests))
    tested = _tested_columns(tests, RELATIONSHIP_TESTS)
    pattern = re.compile(key_pattern)
    untested = sorted(
        name
        for name in (str(column).lower() for column in (model.columns or {}))
        if pattern.search(name) and name not in own_keys and name not in tested
    )
    if untested:
        fail(
            f"`{model.name}` has foreign keys without a `relationships` test to "
            f"their dimension: {', '.join(untested)}."
        )


def check_not_null_constraints_tested(model: Any, ctx: Any) -> None:
    """A model's ``not_null`` and ``check`` constraints are checked on every engine.

    A model with a column that declares a ``not_null`` or a ``check``
    constraint (an accepted range or code list) carries the
    ``column_constraints`` test: dbt applies constraints only to a model with
    an enforced contract, and only some engines enforce them (DuckDB does,
    Spark's Parquet tables do not); the test checks every constraint the
    stored table does not enforce.
    """
    declared = {
        str(name): sorted(_constraint_types(column) & ROW_CONSTRAINTS)
        for name, column in (model.columns or {}).items()
    }
    columns = sorted(f"{name} ({', '.join(kinds)})" for name, kinds in declared.items() if kinds)
    if not columns:
        return
    names = {_test_name(test) for test in ctx.tests_by_attached_node.get(model.unique_id, [])}
    if not names & CONSTRAINT_TESTS:
        fail(
            f"`{model.name}` declares `not_null` or `check` constraints ({', '.join(columns)}) "
            "but has no `column_constraints` test to check them where the engine does not."
        )


def _config_value(resource: Any, name: str) -> Any:
    config = getattr(resource, "config", None)
    if isinstance(config, dict):
        return config.get(name)
    return getattr(config, name, None)


def declared_primary_keys(model: Any) -> list[list[str]]:
    """Every primary key ``model`` declares, each as its list of columns.

    A column's ``primary_key`` constraint is a one-column key; a model-level
    ``primary_key`` constraint (``constraints: [{type: primary_key, columns:
    [...]}]``) a key over its columns.
    """
    keys = [
        [str(name).lower()]
        for name, column in (model.columns or {}).items()
        if PRIMARY_KEY_CONSTRAINT in _constraint_types(column)
    ]
    for constraint in getattr(model, "constraints", None) or []:
        kind = getattr(constraint, "type", None)
        if str(getattr(kind, "value", kind)) == PRIMARY_KEY_CONSTRAINT:
            keys.append([str(c).lower() for c in getattr(constraint, "columns", None) or []])
    return keys


def _key_problems(model: Any, tests: list[Any], key: list[str]) -> list[str]:
    """What the declared primary key ``key`` of ``model`` lacks: a column not
    declared, one not checked not null, no unique test over exactly the key."""
    columns = {str(name).lower(): column for name, column in (model.columns or {}).items()}
    whole = [test for test in tests if not _config_value(test, "where")]
    not_null_tested = _tested_columns(whole, NOT_NULL_TESTS)
    has_constraint_test = any(_test_name(test) in CONSTRAINT_TESTS for test in tests)
    checked = NOT_NULL_CONSTRAINTS if has_constraint_test else frozenset()
    problems = [f"column `{column}` is not declared" for column in key if column not in columns]
    nullable = [
        column
        for column in key
        if column in columns
        and column not in not_null_tested
        and not _constraint_types(columns[column]) & checked
    ]
    if nullable:
        problems.append(
            f"not checked not null: {', '.join(nullable)} (a `not_null` constraint with the "
            "model's `column_constraints` test, or a `not_null` test)"
        )
    if len(key) == 1:
        unique = key[0] in _tested_columns(whole, UNIQUE_TESTS)
        wanted = f"`unique` test on `{key[0]}` (without `where`)"
    else:
        unique = any(
            _test_name(test) in COMBINATION_TESTS
            and sorted(
                str(c).lower()
                for c in (test.test_metadata.kwargs or {}).get("combination_of_columns") or []
            )
            == sorted(key)
            for test in whole
        )
        wanted = f"`unique_combination_of_columns` test over exactly {', '.join(key)}"
    if not unique:
        problems.append(f"no {wanted}")
    return problems


def check_mart_primary_key_declared(model: Any, ctx: Any) -> None:
    """A mart declares exactly one primary key, checked not null and unique.

    The key is declared where dbt and every engine read it, as a
    ``primary_key`` constraint: on its column, or at model level with its
    ``columns`` for a grain of several columns. DuckDB does not build an
    index for it (``macros/engines/key_constraints.sql``), so the tests are
    what guarantee it: each key column ``not_null`` (the constraint checked by
    the model's ``column_constraints`` test, or a ``not_null`` test), and a
    ``unique`` test on the one key column (or a ``unique_combination_of_columns``
    test over exactly the key's columns), without a ``where``: the test tools
    read the key from (``derived diff``).
    """
    keys = declared_primary_keys(model)
    if len(keys) != 1:
        found = "; ".join(", ".join(key) for key in keys) or "none"
        fail(
            f"`{model.name}` must declare exactly one primary key (a `primary_key` constraint "
            f"on its column, or at model level with its columns), found {len(keys)}: {found}."
        )
    problems = _key_problems(model, ctx.tests_by_attached_node.get(model.unique_id, []), keys[0])
    if problems:
        fail(
            f"`{model.name}` declares the primary key ({', '.join(keys[0])}) but "
            f"{'; '.join(problems)}."
        )


SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
SCD2_TESTS = ("mutually_exclusive_ranges", "one_current_row_per_key")


def check_scd2_model_ranges_tested(model: Any, ctx: Any) -> None:
    """An SCD2 model's versions do not overlap and one is current per key.

    A model whose columns include ``valid_from``, ``valid_to`` and
    ``is_current`` must carry both a ``mutually_exclusive_ranges`` and a
    ``one_current_row_per_key`` test.
    """
    columns = {str(name).lower() for name in (model.columns or {})}
    if not all(column in columns for column in SCD2_COLUMNS):
        return
    names = {_test_name(test) for test in ctx.tests_by_attached_node.get(model.unique_id, [])}
    missing = [name for name in SCD2_TESTS if name not in names]
    if missing:
        fail(
            f"`{model.name}` is SCD2 (valid_from, valid_to, is_current) but has no "
            f"{' and no '.join(f'`{name}`' for name in missing)} test."
        )


# The machine's clock, as SQL or Jinja spells it (case-insensitive): keywords
# that read it bare, functions that read it when called, and dbt's helpers.
# A qualifier (``dbt.``, ``dbt_date.``, ``modules.datetime.date.``) is part
# of the reported expression; names inside longer names
# (``reference_now_timestamp()``, ``current_date_key``) are not the clock.
_CLOCK_KEYWORDS = (
    r"current_(?:date|time|timestamp)(?:_in_utc)?(?:_backcompat)?",
    r"localtime(?:stamp)?",
    r"sys(?:date|timestamp)",
    r"run_started_at",
)
_CLOCK_FUNCTIONS = (
    r"now",
    r"today",
    r"getdate",
    r"getutcdate",
    r"sys(?:utc)?datetime",
    r"get_current_(?:date|time|timestamp)",
    r"(?:transaction|statement|clock)_timestamp",
    r"current_(?:datetime|localtimestamp)",
    r"utc_(?:date|time|timestamp)",
    r"unix_timestamp(?=\s*\(\s*\))",
)
_CLOCK = re.compile(
    r"(?<![\w$.])(?:[a-z_]\w*\.)*"
    rf"(?:(?:{'|'.join(_CLOCK_KEYWORDS)})(?![\w$])(?:\s*\([^()]*\))?"
    rf"|(?:{'|'.join(_CLOCK_FUNCTIONS)})\s*\([^()]*\))",
    re.IGNORECASE,
)
# Jinja comments, then SQL comments outside string literals (kept as they
# are): prose, not code. Newlines are kept for line numbers.
_JINJA_COMMENTS = re.compile(r"\{#.*?#\}", re.DOTALL)
_SQL_COMMENTS_OR_STRINGS = re.compile(r"'(?:[^']|'')*'|/\*.*?\*/|--[^\n]*", re.DOTALL)
# Test arguments dbt fills in itself: the tested relation and column.
_IMPLICIT_TEST_ARGUMENTS = frozenset({"model", "column_name"})
USE_INSTEAD = (
    "bound it by the data's as-of date, "
    "`(select as_of_date from {{ ref('int_<system>_extracts_summarised') }})`, "
    'or, for a test that needs a "now", `reference_now_timestamp()` '
    "(var `generic_tests_reference_now`), so the result does not depend on the "
    "day the tests run"
)


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _code_only(code: str) -> str:
    """``code`` with its Jinja and SQL comments blanked (same length, same lines)."""
    code = _JINJA_COMMENTS.sub(_blank, code)
    return _SQL_COMMENTS_OR_STRINGS.sub(
        lambda match: match.group(0) if match.group(0).startswith("'") else _blank(match), code
    )


def clock_expressions(code: str) -> list[tuple[int, str]]:
    """Where ``code`` (SQL with Jinja) reads the machine's clock.

    Each use as ``(line, expression)``, the expression as written
    (``current_date``, ``now()``, ``dbt.current_timestamp()``...). Jinja and
    SQL comments are ignored; ``reference_now_timestamp()`` is not the clock.
    """
    stripped = _code_only(code)
    return [
        (code.count("\n", 0, match.start()) + 1, code[match.start() : match.end()])
        for match in _CLOCK.finditer(stripped)
    ]


def _argument_strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """Every string in a test argument, with its path (``values[1]``, ``a.b``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _argument_strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _argument_strings(item, f"{path}[{index}]")


def _tested(test: Any, kwargs: dict[str, Any]) -> str:
    attached = str(getattr(test, "attached_node", None) or "").rsplit(".", 1)[-1]
    column = kwargs.get("column_name") or getattr(test, "column_name", None)
    if attached and column:
        return f" on `{attached}.{column}`"
    return f" on `{attached}`" if attached else ""


def _check_expressions(node: Any) -> Iterable[tuple[str, str]]:
    """Every ``check`` constraint expression declared on the columns of ``node``, with its
    column's name."""
    for name, column in (getattr(node, "columns", None) or {}).items():
        for constraint in getattr(column, "constraints", None) or []:
            kind = getattr(constraint, "type", None)
            if str(getattr(kind, "value", kind)) == "check":
                yield str(name), str(getattr(constraint, "expression", None) or "")


def _attached_node(test: Any, ctx: Any) -> Any:
    """The model or seed ``test`` is attached to, from the context's lists, or None."""
    attached = getattr(test, "attached_node", None)
    for node in [*(getattr(ctx, "models", None) or []), *(getattr(ctx, "seeds", None) or [])]:
        if attached and getattr(node, "unique_id", None) == attached:
            return node
    return None


def check_test_does_not_read_the_clock(test: Any, ctx: Any) -> None:
    """Data tests measure against the data's as-of date, not the machine's clock.

    A generic test's arguments (``test_metadata.kwargs``, other than
    ``model`` and ``column_name``), the ``check`` constraint expressions a
    ``column_constraints`` test evaluates (those of the columns of its model
    or seed), and a singular test's SQL must not read the
    clock (``current_date``, ``current_timestamp``, ``now()``, ``getdate()``,
    ``sysdate``, ``today()``, ``dbt.current_timestamp()``, ``run_started_at``
    ...; case-insensitive, whole words, comments ignored): the result would
    depend on the day the tests run. Bound dates by the source system's
    as-of date instead,
    ``(select as_of_date from {{ ref('int_<system>_extracts_summarised') }})``,
    or use ``reference_now_timestamp()`` (which honours the var
    ``generic_tests_reference_now``) where a test needs a "now".
    """
    metadata = getattr(test, "test_metadata", None)
    if metadata is not None:
        kwargs = dict(getattr(metadata, "kwargs", None) or {})
        uses = [
            f"argument `{path}` uses `{expression}`"
            for name, value in sorted(kwargs.items())
            if name not in _IMPLICIT_TEST_ARGUMENTS
            for path, text in _argument_strings(value, name)
            for _, expression in clock_expressions(text)
        ]
        if str(getattr(metadata, "name", "")) in CONSTRAINT_TESTS:
            uses += [
                f"the check constraint of `{column}` uses `{expression}`"
                for column, text in _check_expressions(_attached_node(test, ctx))
                for _, expression in clock_expressions(text)
            ]
        if uses:
            fail(
                f"Test `{test.name}` (`{metadata.name}`{_tested(test, kwargs)}) reads the "
                f"machine's clock: {'; '.join(uses)}. Instead, {USE_INSTEAD}."
            )
        return
    if str(getattr(test, "language", None) or "sql") != "sql":
        return
    code = str(getattr(test, "raw_code", "") or "")
    uses = [f"line {line} uses `{expression}`" for line, expression in clock_expressions(code)]
    if uses:
        fail(
            f"Singular test `{test.name}` reads the machine's clock: "
            f"{'; '.join(uses)}. Instead, {USE_INSTEAD}."
        )


CHECKS: dict[str, Callable[..., None]] = {
    "DT001": check_model_primary_key_tested,
    "DT002": check_source_in_own_staging_folder,
    "DT003": check_staging_model_named_for_its_folder,
    "DT004": check_exposure_depends_only_on_marts,
    "DT005": check_model_with_on_its_own_line,
    "DT006": check_model_properties_file_named_for_folder,
    "DT007": check_source_freshness_has_loaded_at_field,
    "DT008": check_fact_foreign_keys_tested,
    "DT009": check_scd2_model_ranges_tested,
    "DT010": check_test_does_not_read_the_clock,
    "DT011": check_macro_properties_file_beside_it,
    "DT012": check_not_null_constraints_tested,
    "DT013": check_mart_primary_key_declared,
}


def _as_member_of(fn: Callable[..., None], module_name: str) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        fn(*args, **kwargs)

    wrapper.__module__ = module_name
    return wrapper


def register(module_name: str) -> list[type]:
    """Define every check above as a dbt-bouncer check of ``module_name``.

    dbt-bouncer only picks up the check classes defined in the files of its
    ``custom_checks_dir``; the checks are built here, in that file's module.
    """
    if module_name not in sys.modules:
        raise RuntimeError(f"register() must be called from the module {module_name!r}")
    return [check(_as_member_of(fn, module_name), code=code) for code, fn in CHECKS.items()]
