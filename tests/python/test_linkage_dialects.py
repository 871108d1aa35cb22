"""The person linkage gives the same people on Splink's Spark backend as on its DuckDB backend.

The linkage's SQL is written once, with the few expressions the engines spell differently
rendered per dialect (linkage.DIALECT_EXPRESSIONS). On the same records, with the same model
(learnt on DuckDB, as int_person_linkage_parameters learns it on both engines):

- the comparison-ready features are equal row for row (arrays included);
- SparkAPI scores the same candidate pairs, each with the same match probability within
  PROBABILITY_TOLERANCE, and finds the same people (person ids, cluster sizes, best links).

And the incremental re-linking (update_links) on SparkAPI replaces the same rows as on DuckDB,
with the same people. Skipped, saying why, without Java or pyspark (`make install-spark`),
failed instead with DERIVED_REQUIRE_SPARK=1 (`make test-spark`); one local JVM, about four
minutes. The whole project on both engines: tests/python/test_cross_engine.py.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from derived_tables import linkage, linkage_incremental, linkage_spark
from test_linkage import _filler, _journey_records, _record, _table

pytestmark = pytest.mark.slow

#: Match probabilities are sums of logarithms of the same m/u ratios, added in another order
#: by each engine: equal to this (absolute) tolerance, far below anything that moves a pair
#: across MATCH_THRESHOLD or SCORE_FLOOR.
PROBABILITY_TOLERANCE = 1e-9


def test_every_dialect_expression_has_both_forms() -> None:
    for name, forms in linkage.DIALECT_EXPRESSIONS.items():
        assert set(forms) == set(linkage.DIALECTS), name
    with pytest.raises(ValueError, match="unknown SQL dialect 'trino'"):
        linkage.dialect_sql("lists_overlap", "trino", left="a", right="b")
    # the DuckDB rendering is the SQL the linkage ran before it had a Spark form
    assert "list(candidates.candidate order by candidates.candidate)" in linkage.features_sql()
    assert "arg_min(" in linkage.result_sql() and "min_by(" in linkage.result_sql("spark")


def _records() -> pa.Table:
    """The journey and its namesake, 1,200 others, and the edge cases of the features: no
    first name, no postcode, a first postcode (or none) beside the current one, a name with
    several formal names, a day of birth above 12."""
    edge = [
        {**_record("nomis", "E1", "AL", "KHAN", date(1990, 4, 25), "M", "NE1 2CD")},
        {**_record("nomis", "E2", None, "KHAN", date(1990, 4, 2), "F", None)},  # type: ignore[arg-type]
        {**_record("delius", "E3", "ALAN", "KHAN", None, "M", "NE1 2CD")},
        {**_record("delius", "E4", "SALLY", "O'NEIL", date(1971, 12, 12), "F", "SW1A 1AA")},
    ]
    people = _filler(1200)
    rows = _journey_records() + people + _variants(people[::2]) + edge
    for i, row in enumerate(rows):
        if "first_postcode" not in row:
            row["first_postcode"] = None if i % 3 == 0 else row["postcode"]
    table = _table(rows)
    return table.append_column(
        "record_updated_at",
        pa.array([datetime(2021, 1, 1)] * table.num_rows, pa.timestamp("us", tz="UTC")),
    )


def _variants(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """A probation record of each person of ``rows``, varied as the generator varies them
    (in turn: none, a surname typo, day and month swapped, moved with the old postcode as
    the first, a nickname, a year of birth off), so that many pairs are scored."""
    nicknames = {"JAMES": "JIM", "MICHAEL": "MIKE", "DANIEL": "DAN", "THOMAS": "TOM"}
    varied = []
    for i, row in enumerate(rows):
        copy = {**row, "system": "delius", "record_id": f"V{i:06d}"}
        copy["record_key"] = f"delius:V{i:06d}"
        born = row["date_of_birth"]
        assert isinstance(born, date)
        kind = i % 6
        if kind == 1:
            last = str(row["last_name_normalised"])
            copy["last_name_normalised"] = last[0] + last[2] + last[1] + last[3:]
        elif kind == 2 and born.day <= 12:
            copy["date_of_birth"] = swapped = date(born.year, born.day, born.month)
            copy["birth_month"], copy["birth_day"] = swapped.month, swapped.day
        elif kind == 3:
            copy["first_postcode"] = row["postcode"]
            copy["postcode"], copy["postcode_area"] = "CF10 1AB", "CF"
        elif kind == 4:
            first = str(row["first_name_normalised"])
            copy["first_name_normalised"] = nicknames.get(first, first)
        elif kind == 5 and not (born.month == 2 and born.day == 29):
            copy["date_of_birth"] = date(born.year + 1, born.month, born.day)
            copy["year_of_birth"] = born.year + 1
        varied.append(copy)
    return varied


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = None
    if shutil.which("java") is None:
        missing = "no java on PATH (make install-spark installs it)"
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        missing = f"the spark extra is not installed ({error}); run make install-spark"
    if missing and os.environ.get("DERIVED_REQUIRE_SPARK") == "1":
        pytest.fail(f"DERIVED_REQUIRE_SPARK=1 but cannot run Spark: {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)
    warehouse: Path = tmp_path_factory.mktemp("spark_linkage")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("linkage-dialects-test")
        .config("spark.jars", linkage_spark.similarity_jar())
        .config("spark.sql.warehouse.dir", str(warehouse / "tables"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def _rows(table: pa.Table) -> list[tuple[object, ...]]:
    columns = table.column_names
    return sorted(tuple(row[c] for c in columns) for row in table.to_pylist())


def test_features_are_the_same_on_spark(spark: Any) -> None:
    records = _records()
    con = linkage._connection(1, "1GB", None)
    linkage._prepare(con, records)
    on_duckdb = con.sql("select * from person_features").to_arrow_table()
    con.close()
    features, n_records = linkage_spark.prepare(spark, spark.createDataFrame(records))
    on_spark = features.toArrow()
    assert n_records == records.num_rows
    assert on_spark.column_names == on_duckdb.column_names
    assert _rows(on_spark.cast(on_duckdb.schema)) == _rows(on_duckdb)
    assert on_duckdb.num_rows == records.num_rows


def test_sparkapi_finds_the_same_people_and_scores(spark: Any) -> None:
    records = _records()
    model = linkage_incremental.learn_parameters(records)
    on_duckdb = linkage.link(records, model=model, keep_pairs=True)
    linked, pairs = linkage_spark.link(
        spark, spark.createDataFrame(records), model, keep_pairs=True
    )
    assert pairs is not None
    spark_linked = linked.toArrow()
    spark_pairs = pairs.toArrow()
    duck_pairs = on_duckdb.scored_pairs
    assert duck_pairs is not None and duck_pairs.num_rows > 500

    def by_pair(table: pa.Table) -> dict[tuple[str, str], float]:
        return {
            (row["record_key_l"], row["record_key_r"]): row["match_probability"]
            for row in table.to_pylist()
        }

    duck_scores, spark_scores = by_pair(duck_pairs), by_pair(spark_pairs)
    assert set(spark_scores) == set(duck_scores)
    worst = max(abs(spark_scores[k] - duck_scores[k]) for k in duck_scores)
    print(f"\n{len(duck_scores)} pairs, largest match_probability difference {worst:.3g}")
    assert worst <= PROBABILITY_TOLERANCE, worst

    duck_rows = {row["record_key"]: row for row in on_duckdb.linked.to_pylist()}
    spark_rows = {row["record_key"]: row for row in spark_linked.to_pylist()}
    assert set(spark_rows) == set(duck_rows)
    assert spark_linked.column_names == on_duckdb.linked.column_names
    for key, duck in duck_rows.items():
        on_spark = spark_rows[key]
        for column, value in duck.items():
            if column == "match_probability" and value is not None:
                assert on_spark[column] == pytest.approx(value, abs=PROBABILITY_TOLERANCE)
            else:
                assert on_spark[column] == value, (key, column)
    people = {row["person_id"] for row in duck_rows.values()}
    assert len(people) < len(duck_rows)  # some records were linked: the test has teeth

    run = json.loads(
        (linkage_spark.checkpoint_folder(spark) / linkage_spark.RUN_RECORD).read_text()
    )
    assert run["backend"] == "SparkAPI" and run["records"] == records.num_rows
    assert run["scored_pairs"] == duck_pairs.num_rows
    # Splink's own checkpoints of its predictions (SparkAPI, in the folder setCheckpointDir made)
    assert list(linkage_spark.checkpoint_folder(spark).glob("*/__splink__df_predict*"))


def test_incremental_update_on_sparkapi_equals_duckdbs(spark: Any) -> None:
    """update_links on SparkAPI replaces the rows DuckDB's replaces, with the same people:
    new records joining people (the nickname record bridging Robert Smith's), a changed
    record leaving its person, and records untouched."""
    from test_linkage_incremental import _records as with_versions

    people = _filler(1200)
    rows = _journey_records() + people + _variants(people[::2])
    late = {"nomis:A1234BC"} | {str(row["record_key"]) for row in rows[-40:]}
    before = [row for row in rows if row["record_key"] not in late]
    after = []
    for row in rows:
        if row["record_key"] == "delius:V000003":  # moved: another person's postcode
            row = {**row, "postcode": "B1 1AA", "postcode_area": "B"}
            row["first_postcode"], row["record_updated_at"] = None, datetime(2021, 1, 1)
        after.append(row)
    model = linkage._fallback(1.0 / len(rows), "committed parameters, for the test")
    previous = linkage.link(with_versions(before), model=model).linked
    records = with_versions(after)
    on_duckdb = linkage_incremental.update_links(records, previous, model)
    on_spark = linkage_spark.update_links(
        spark, spark.createDataFrame(records), spark.createDataFrame(previous), model
    ).toArrow()

    def by_key(table: pa.Table) -> dict[str, dict[str, object]]:
        return {
            row["record_key"]: {k: v for k, v in row.items() if k != "record_updated_at"}
            for row in table.to_pylist()
        }

    duck_rows, spark_rows = by_key(on_duckdb), by_key(on_spark)
    assert 40 <= len(duck_rows) < 200  # the late records, the moved one, their people
    assert set(spark_rows) == set(duck_rows)
    for key, duck in duck_rows.items():
        for column, value in duck.items():
            if column == "match_probability" and value is not None:
                assert spark_rows[key][column] == pytest.approx(value, abs=PROBABILITY_TOLERANCE)
            else:
                assert spark_rows[key][column] == value, (key, column)
    assert duck_rows["nomis:A1234BC"]["cluster_size"] == 3  # joined Robert Smith
    run = json.loads(
        (linkage_spark.checkpoint_folder(spark) / linkage_spark.RUN_RECORD).read_text()
    )
    assert run["mode"] == "incremental" and run["rows_replaced"] == len(duck_rows), run
    assert run["changed_records"] == len(late) + 1, run
