"""Splink's own Spark backend runs here: its bundled similarity UDF jar loads in pyspark 4.

The person linkage on Spark scores on Splink's Spark backend (`SparkAPI`, string-similarity
UDFs from the Scala jar inside the splink package: docs/spark.md). This test checks the
backend itself with this machine's pyspark, on a model of its own: the jar
for Spark 4 registers its UDFs, `jaro_winkler` gives the textbook value, and the same small
model scores the same pairs with the same match weights on both backends. Skipped, saying why,
without Java or pyspark (`make install-spark`). Cost: one local JVM, about a minute.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

PEOPLE = pd.DataFrame(
    {
        "unique_id": [1, 2, 3, 4, 5, 6],
        "first_name": ["john", "jon", "mary", "marie", "martha", "marhta"],
        "surname": ["smith", "smith", "jones", "jones", "brown", "brown"],
    }
)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("no java on PATH (make install-spark installs it)")
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        pytest.skip(f"the spark extra is not installed ({error}); run make install-spark")
    from splink.backends.spark import similarity_jar_location

    checkpoints: Path = tmp_path_factory.mktemp("splink_checkpoints")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("splink-spark-backend-test")
        .config("spark.jars", similarity_jar_location())
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setCheckpointDir(str(checkpoints))
    yield session
    session.stop()


def _settings() -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.9, 0.7]),
            cl.ExactMatch("surname"),
        ],
        blocking_rules_to_generate_predictions=[block_on("surname")],
        probability_two_random_records_match=0.01,
    )


def _weights(db_api: Any, table: Any) -> list[tuple[int, int, int, float]]:
    from splink import Linker

    linker = Linker(db_api.register(table), _settings(), log_level=logging.WARNING)
    frame = linker.inference.predict().as_pandas_dataframe()
    return sorted(
        (int(r.unique_id_l), int(r.unique_id_r), int(r.gamma_first_name), round(r.match_weight, 9))
        for r in frame.itertuples()
    )


def test_bundled_jar_gives_jaro_winkler_on_spark(spark: Any) -> None:
    from splink import SparkAPI

    SparkAPI(spark_session=spark)  # registers the jar's UDFs
    value = spark.sql("select jaro_winkler('martha', 'marhta') as jw").collect()[0].jw
    assert value == pytest.approx(0.961111111, abs=1e-9)


def test_spark_backend_scores_pairs_as_duckdb_backend(spark: Any) -> None:
    from splink import DuckDBAPI, SparkAPI

    on_spark = _weights(SparkAPI(spark_session=spark), spark.createDataFrame(PEOPLE))
    on_duckdb = _weights(DuckDBAPI(), PEOPLE)
    assert len(on_duckdb) == 3
    assert on_spark == on_duckdb
