"""dbt's Jinja context, stubbed for sqlfluff's jinja templater (pre-commit).

sqlfluff's `apply_dbt_builtins` stubs `ref`, `source`, `config`, `var`, `this`
and `return` (its `is_incremental` is replaced below); the project's macros
use `adapter.dispatch`, dbt's cross-database macros (`dbt.hash`, `dbt.dateadd`...), `exceptions`,
`target`, `env_var`, `modules`, `run_query` and their own namespace
(`derived_tables.some_macro()`). Every name in this module becomes a Jinja
global (`library_path` in .sqlfluff), so the fast templater renders the same
models as dbt would, with plausible SQL where dbt would call the database.

Only the layout and style of the model's own SQL is linted (the rendered
macro output is a templated area sqlfluff ignores), so the stubs only need to
render parseable SQL. CI lints with the real dbt templater.
"""

import datetime as _datetime
import re as _re
from types import SimpleNamespace as _Namespace
from typing import Any as _Any

import jinja2 as _jinja2

# Parse-time behaviour: macros that query the database guard with `execute`.
execute = False


def is_incremental() -> bool:
    """False, as under the dbt templater of CI (nothing is built when linting).

    Both templaters then lint the same (full-refresh) branch, so pre-commit and
    CI agree. Overrides sqlfluff's dbt builtin, which says true.
    """
    return False


_TYPES = {
    "type_string": "varchar",
    "type_timestamp": "timestamp",
    "type_int": "integer",
    "type_bigint": "bigint",
    "type_numeric": "numeric(28, 6)",
    "type_float": "double",
    "type_boolean": "boolean",
}


def _sql_list(values: _Any) -> str:
    if isinstance(values, (list, tuple)):
        return ", ".join(str(v) for v in values)
    return str(values)


def _cross_database_macro(name: str) -> _Any:
    """A stand-in for `dbt.<name>(...)`: plausible, parseable SQL."""
    if name in _TYPES:
        return lambda *args, **kwargs: _TYPES[name]
    if name == "current_timestamp":
        return lambda *args, **kwargs: "current_timestamp"
    if name in ("safe_cast", "cast"):
        return lambda field, type_, *args, **kwargs: f"cast({field} as {type_})"
    if name == "string_literal":
        return lambda value, *args, **kwargs: f"'{value}'"
    if name == "date_trunc":
        return lambda datepart, date, *a, **k: f"date_trunc('{datepart}', {date})"
    if name in ("dateadd", "datediff", "last_day"):

        def _date_function(datepart: str, *args: _Any, **kwargs: _Any) -> str:
            return f"{name}('{datepart}', {_sql_list(list(args))})"

        return _date_function

    def _function(*args: _Any, **kwargs: _Any) -> str:
        return f"{name}({_sql_list(list(args) + list(kwargs.values()))})"

    return _function


class _CrossDatabaseMacros:
    """`dbt.<macro>`: dbt's global (cross-database) macros."""

    def __getattr__(self, name: str) -> _Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _cross_database_macro(name)


dbt = _CrossDatabaseMacros()


def _lookup_macro(context: _Any, name: str) -> _Any:
    macro = context.get(name)
    if macro is None:
        raise _jinja2.UndefinedError(f"macro '{name}' is not defined")
    return macro


class _Adapter:
    """`adapter.dispatch(name, namespace)`: duckdb__ first, then default__."""

    @staticmethod
    @_jinja2.pass_context
    def dispatch(context: _Any, name: str, macro_namespace: str = "") -> _Any:
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + name)
            if macro is not None:
                return macro
        # dbt's own dispatched macros (dbt.dateadd...) are not in the project.
        return _cross_database_macro(name)

    @staticmethod
    def type() -> str:
        return "duckdb"

    @staticmethod
    def quote(identifier: str) -> str:
        return f'"{identifier}"'


adapter = _Adapter()


class _ProjectMacros:
    """`derived_tables.<macro>`: the project's macros by their namespace."""

    def __getattr__(self, name: str) -> _Any:
        if name.startswith("_"):
            raise AttributeError(name)

        @_jinja2.pass_context
        def _call(context: _Any, *args: _Any, **kwargs: _Any) -> _Any:
            return _lookup_macro(context, name)(*args, **kwargs)

        return _call


derived_tables = _ProjectMacros()


def _raise_compiler_error(message: str = "") -> str:
    raise _jinja2.TemplateRuntimeError(message)


exceptions = _Namespace(
    raise_compiler_error=_raise_compiler_error,
    warn=lambda *args, **kwargs: "",
)

target = _Namespace(
    name="ci",
    type="duckdb",
    schema="main",
    database="ci",
    threads=2,
    profile_name="derived_tables",
)

modules = _Namespace(datetime=_datetime, re=_re)


def env_var(name: str, default: str = "") -> str:
    """Environment variables render as their default (or their name)."""
    return default if default != "" else name


def log(*args: _Any, **kwargs: _Any) -> str:
    return ""


class _Table:
    """The result of `run_query` at parse time: one row of placeholders."""

    rows = (("0", "0"),)
    columns = (_Namespace(values=lambda: [0]),)


def run_query(sql: str = "") -> _Table:
    return _Table()
