"""dbt on a local Spark session, with Python models: ``python -m derived_tables.spark_dbt <args>``.

dbt-spark's ``session`` connection method runs SQL models in a SparkSession inside the dbt
process, but dbt-spark 1.11 submits Python models only to Databricks (``all_purpose_cluster``,
``job_cluster``: HTTP APIs this project can never reach); a ``session`` submission method is
an open proposal upstream (dbt-labs/dbt-spark#1062, pull request #1063). This module adds it:

- :class:`SessionPythonJobHelper` runs a Python model's compiled code (the model function and
  dbt-spark's own materialisation code, which writes the returned DataFrame with
  ``saveAsTable``) in the SparkSession dbt already holds, with ``spark`` bound to it, exactly
  as a Databricks notebook would.
- :func:`install` registers it as the submission method ``session`` of the Spark adapter and
  makes it the default when the profile's method is ``session``.
- :func:`main` installs it, sets ``DERIVED_SPLINK_SPARK_JAR`` (the path of Splink's
  similarity UDF jar in this environment, which the ``spark`` targets put on ``spark.jars``
  for the person linkage on Splink's SparkAPI) unless already set, and runs dbt's command line
  with the given arguments. ``derived build`` runs dbt this way on a Spark target; plain
  ``dbt`` (without the helper) stops at the first Python model trying to reach Databricks.

Nothing here changes dbt on any other adapter.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

SUBMISSION_METHOD = "session"


class SessionPythonJobHelper:
    """Run a compiled dbt Python model in the current process's SparkSession."""

    def __init__(self, parsed_model: dict[str, Any], credentials: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        name = str(self.parsed_model.get("unique_id", self.parsed_model.get("name", "model")))
        namespace: dict[str, Any] = {"spark": spark, "__name__": "__dbt_python_model__"}
        exec(compile(compiled_code, f"<dbt python model {name}>", "exec"), namespace)


def install() -> None:
    """Register the ``session`` submission method on dbt-spark's adapter (idempotent)."""
    from dbt.adapters.spark.impl import SparkAdapter

    if getattr(SparkAdapter, "_derived_session_python", False):
        return
    helpers = SparkAdapter.python_submission_helpers
    default_method = SparkAdapter.default_python_submission_method

    def python_submission_helpers(self: Any) -> dict[str, Any]:
        return {**helpers.fget(self), SUBMISSION_METHOD: SessionPythonJobHelper}

    def default_python_submission_method(self: Any) -> str:
        method = getattr(self.connections.profile.credentials, "method", None)
        if str(method) in (SUBMISSION_METHOD, "SparkConnectionMethod.SESSION"):
            return SUBMISSION_METHOD
        return str(default_method.fget(self))

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)  # type: ignore[method-assign,assignment]
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)  # type: ignore[method-assign,assignment]
    SparkAdapter._derived_session_python = True  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    """``dbt <argv>`` with Python models runnable on a local Spark session."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["-h"], ["--help"]):
        print(__doc__)
        print("usage: python -m derived_tables.spark_dbt <dbt arguments>")
        return 0
    install()
    from derived_tables.linkage_spark import SPLINK_JAR_ENV, similarity_jar

    os.environ.setdefault(SPLINK_JAR_ENV, similarity_jar())
    from dbt.cli.main import cli

    sys.argv = ["dbt", *args]
    return int(cli() or 0)  # click exits with dbt's own exit code


if __name__ == "__main__":
    sys.exit(main())
