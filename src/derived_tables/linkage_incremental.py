"""Incremental person linkage: the daily run links only new and changed records.

A full build (no table yet, or ``--full-refresh``) learns the linkage model's parameters from
all the records (``int_person_linkage_parameters``, one row: :func:`parameters_model`) and
links every record with them (``int_person_records_linked``: :func:`link_model`). An
incremental run learns nothing new: it scores with the stored parameters, and re-links only
what the new records can change (:func:`update_links`):

1. **Changed records**: records absent from the linked table, or whose current version
   (``record_updated_at``) differs from the version they were linked with.
2. **Re-scored records**: the changed records, every record of a person that holds a changed
   record (its links may have gone: the person may split), and every record whose best link
   was to a changed record (its best link may have weakened). Each is scored against every
   record (Splink's ``predict_within`` and ``predict_between``, oriented as the full
   ``dedupe_only`` run orients its pairs, with term frequencies of all current records).
3. **Re-clustering**: connected components over the links (match probability at least
   :data:`~derived_tables.linkage.MATCH_THRESHOLD`) of the re-scored pairs, where a changed
   record or a member of a person holding one is a node of its own, and any other person is
   one node: its records' links among themselves did not change, so it stays connected.
   Only the components those links touch are re-grouped; every other person keeps its
   records, its id and its size.
4. **Person ids** follow the same rule as a full build (the record key of the earliest-seen
   record of the person), so a person keeps its id as records join it; only a merge of two
   people (one id survives) or a split (a new id for the part that lost its anchor) changes
   ids, as a full build would.

With fixed parameters and term frequencies this gives exactly the people a full linkage
with the same model gives. A full refresh learns the parameters (and term frequencies)
again from the grown data, so it can differ slightly: measured and documented in
``docs/linkage.md``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb
import pyarrow as pa

from derived_tables import linkage

log = logging.getLogger(__name__)

#: The dbt model that keeps the parameters of the last full build (one row).
PARAMETERS_MODEL = "int_person_linkage_parameters"
#: The dbt model of the linked records (the incremental run reads its own previous state).
LINKED_MODEL = "int_person_records_linked"

PARAMETERS_SCHEMA = pa.schema(
    [
        ("model_source", pa.string()),
        ("model_reason", pa.string()),
        ("probability_two_random_records_match", pa.float64()),
        ("parameters", pa.string()),
        ("trained_record_count", pa.int64()),
    ]
)

#: Columns of the linked table an incremental run reads back.
PREVIOUS_COLUMNS: tuple[str, ...] = (
    "record_key",
    "person_id",
    "match_probability",
    "best_link_record_key",
    "cluster_size",
    "record_updated_at",
)


def parameters_lineage() -> dict[str, list[str]]:
    """The declared column lineage of the dbt Python model ``int_person_linkage_parameters``:
    every column is learnt from every column the linkage reads (column -> ``model.column``)."""
    every = [
        f"{linkage.RECORDS_MODEL}.{c}"
        for c in linkage.REQUIRED_COLUMNS + linkage.OPTIONAL_COLUMNS
        if c != "record_updated_at"
    ]
    return {name: every for name in PARAMETERS_SCHEMA.names}


def parameters_table(model: linkage.LinkageModel, record_count: int) -> pa.Table:
    """One row: the model a full build learnt (or its fallback, saying why)."""
    return pa.Table.from_pylist(
        [
            {
                "model_source": model.source,
                "model_reason": model.reason,
                "probability_two_random_records_match": (
                    model.probability_two_random_records_match
                ),
                "parameters": model.parameters_json(),
                "trained_record_count": record_count,
            }
        ],
        schema=PARAMETERS_SCHEMA,
    )


def learn_parameters(
    records: pa.Table,
    *,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> linkage.LinkageModel:
    """The model a full build links ``records`` with (:func:`linkage.train_parameters`)."""
    if records.num_rows < 2:
        return linkage._fallback(0.0, "fewer than two records")
    return linkage.train_parameters(
        records, threads=threads, memory_limit=memory_limit, temp_directory=temp_directory
    )


def parameters_model(
    relation: Any,
    session: Any,
    *,
    is_incremental: bool,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> Any:
    """The body of the dbt Python model ``int_person_linkage_parameters``.

    A full build learns the model from the records; an incremental run returns no rows, so
    the table keeps the row of the last full build (``append``).
    """
    if is_incremental:
        return linkage.arrow_to_model_result(PARAMETERS_SCHEMA.empty_table(), session)
    records = linkage.relation_to_arrow(relation)
    model = learn_parameters(
        records, threads=threads, memory_limit=memory_limit, temp_directory=temp_directory
    )
    return linkage.arrow_to_model_result(parameters_table(model, records.num_rows), session)


def stored_model(parameters: pa.Table) -> linkage.LinkageModel:
    """The one model row of ``int_person_linkage_parameters``."""
    if parameters.num_rows != 1:
        raise ValueError(
            f"{PARAMETERS_MODEL}: expected one row (the model of the last full build), found"
            f" {parameters.num_rows}: run with --full-refresh"
        )
    return linkage.LinkageModel.from_row(parameters.to_pylist()[0])


def link_model(
    relation: Any,
    session: Any,
    *,
    parameters: Any,
    previous: Any | None = None,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> Any:
    """The body of the dbt Python model ``int_person_records_linked``, on any engine.

    ``relation``: the person records; ``parameters``: the stored model
    (``int_person_linkage_parameters``); ``previous``: the linked table itself on an
    incremental run (None on a full build). Returns every record on a full build, and the
    rows to replace (delete+insert on ``record_key``) on an incremental run.

    Given Spark DataFrames (the spark targets), the records stay in Spark and are scored on
    Splink's SparkAPI (:func:`derived_tables.linkage_spark.link_model`, the same re-linking
    on an incremental run); otherwise on DuckDB in this process.
    """
    from derived_tables import linkage_spark

    model = stored_model(linkage.relation_to_arrow(parameters))
    if linkage_spark.is_spark_dataframe(relation):
        return linkage_spark.link_model(relation, session, model, previous)
    records = linkage.relation_to_arrow(relation)
    if previous is None:
        linked = linkage.link(
            records,
            model=model,
            threads=threads,
            memory_limit=memory_limit,
            temp_directory=temp_directory,
        ).linked
    else:
        linked = update_links(
            records,
            linkage.relation_to_arrow(previous),
            model,
            threads=threads,
            memory_limit=memory_limit,
            temp_directory=temp_directory,
        )
    return linkage.arrow_to_model_result(linked, session)


# The records to re-link: changed ones (new, or another version than the one linked), the
# members of people holding a changed record, and records whose best link was to a changed
# record. `individual`: records that are clustering nodes of their own.
_SELECT_SQL = """
create table changed as
select
    records.record_key,
    previous.record_key is not null as was_linked
from person_records as records
left join previous
    on records.record_key = previous.record_key
where
    previous.record_key is null
    or previous.record_updated_at is distinct from records.record_updated_at;

create table individual as
select record_key from changed
union
select previous.record_key
from previous
where previous.person_id in (
    select previous.person_id
    from previous
    inner join changed
        on previous.record_key = changed.record_key
);

create table rescored as
select record_key from individual
union
select previous.record_key
from previous
inner join changed
    on previous.best_link_record_key = changed.record_key;

create table features_rescored as
select * from person_features
where record_key in (select record_key from rescored);

create table features_kept as
select * from person_features
where record_key not in (select record_key from rescored);

-- the clustering node of every record: itself when individual, else its person
create table nodes as
select
    records.record_key,
    case
        when previous.record_key is null or individual.record_key is not null
            then 'r:' || records.record_key
        else 'p:' || previous.person_id
    end as node
from person_records as records
left join previous
    on records.record_key = previous.record_key
left join individual
    on records.record_key = individual.record_key
"""

_EDGES_SQL = """
select distinct nodes_l.node as node_l, nodes_r.node as node_r
from new_pairs
inner join nodes as nodes_l
    on new_pairs.record_key_l = nodes_l.record_key
inner join nodes as nodes_r
    on new_pairs.record_key_r = nodes_r.record_key
where new_pairs.match_probability >= ? and nodes_l.node <> nodes_r.node
"""


def updated_sql(dialect: str = "duckdb") -> str:
    """The rows to replace: records re-grouped, re-scored or at the end of a re-scored pair,
    in ``dialect``'s SQL."""
    return f"""
with
regrouped as (
    select nodes.record_key, components.component
    from nodes
    inner join components
        on nodes.node = components.node
),
{linkage.anchors_sql("regrouped", "component", dialect)},
{linkage.link_ends_sql("new_pairs")},

-- a record not re-scored keeps its pairs: its best is the better of its stored best and
-- its re-scored pairs (its stored best was not with a changed record)
candidate_links as (
    select record_key, other_record_key, match_probability from link_ends
    union all
    select
        previous.record_key,
        previous.best_link_record_key as other_record_key,
        previous.match_probability
    from previous
    where
        previous.best_link_record_key is not null
        and previous.record_key not in (select record_key from rescored)
        and previous.record_key in (select record_key from link_ends)
),
{linkage.best_links_sql("candidate_links", dialect)},

relinked as (
    select record_key from rescored
    union
    select record_key from link_ends
),

updated as (
    select record_key from regrouped
    union
    select record_key from relinked
)

select
    records.system,
    records.record_id,
    records.record_key,
    coalesce(anchors.person_id, previous.person_id) as person_id,
    case
        when relinked.record_key is not null then best_links.match_probability
        else previous.match_probability
    end as match_probability,
    case
        when relinked.record_key is not null then best_links.best_link_record_key
        else previous.best_link_record_key
    end as best_link_record_key,
    cast(coalesce(anchors.cluster_size, previous.cluster_size) as integer)
        as cluster_size,
    records.record_updated_at
from updated
inner join person_records as records
    on updated.record_key = records.record_key
left join previous
    on updated.record_key = previous.record_key
left join regrouped
    on updated.record_key = regrouped.record_key
left join anchors
    on regrouped.component = anchors.cluster_id
left join relinked
    on updated.record_key = relinked.record_key
left join best_links
    on updated.record_key = best_links.record_key
order by records.record_key
"""


def _components(edges: list[tuple[str, str]], nodes: list[str]) -> pa.Table:
    """Connected components (union-find) of ``nodes`` and the ends of ``edges``: each node
    with its component (the smallest node of it)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    for node in nodes:
        find(node)
    for left, right in edges:
        a, b = find(left), find(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members = sorted(parent)
    return pa.table(
        {"node": members, "component": [find(node) for node in members]},
    )


def _check_previous(previous: pa.Table) -> None:
    missing = [c for c in PREVIOUS_COLUMNS if c not in previous.column_names]
    if missing:
        raise ValueError(
            f"{LINKED_MODEL} lacks column(s) {', '.join(missing)} (built by an older version"
            " of the project): run with --full-refresh"
        )


def _load_previous(con: duckdb.DuckDBPyConnection, previous: pa.Table) -> None:
    """The previous linked table as the table previous; ValueError when one of its records
    is no longer among the person records (an incremental run cannot remove rows)."""
    con.register("previous_in", previous.select(list(PREVIOUS_COLUMNS)))
    con.execute("create table previous as select * from previous_in")
    con.unregister("previous_in")
    removed = con.sql(
        "select record_key from previous where record_key not in"
        " (select record_key from person_records) order by record_key"
    ).fetchall()
    if removed:
        shown = ", ".join(key for (key,) in removed[:5])
        raise ValueError(
            f"{LINKED_MODEL}.record_key: {len(removed)} linked record(s) are no longer in"
            f" {linkage.RECORDS_MODEL} (first: {shown}); an incremental run cannot"
            " remove them: run with --full-refresh"
        )


def predict_rescored(
    everyone: Any, rescored: Any, kept: Any, model: linkage.LinkageModel, dialect: str
) -> tuple[Any, Any, Any]:
    """Splink's predictions (at :data:`~derived_tables.linkage.SCORE_FLOOR`) within the
    registered ``rescored`` features and between them and the ``kept`` ones, both ways, with
    ``model`` and the term frequencies of ``everyone``, on the backend of ``dialect``."""
    linker = linkage._linker(everyone, model, dialect=dialect)
    for column in ("first_name", "last_name"):  # the term-frequency adjusted
        linker.table_management.compute_tf_table(column)
    floor = linkage.SCORE_FLOOR
    inference = linker.inference
    within = inference.predict_within(
        rescored, threshold_match_probability=floor, warning_mode="never"
    )
    left_rescored = inference.predict_between(
        rescored, kept, threshold_match_probability=floor, warning_mode="never"
    )
    right_rescored = inference.predict_between(
        kept, rescored, threshold_match_probability=floor, warning_mode="never"
    )
    return within, left_rescored, right_rescored


def _score_rescored(con: duckdb.DuckDBPyConnection, model: linkage.LinkageModel) -> None:
    """Score with ``model`` the pairs of the re-scored records among themselves and with
    the kept records, into the table new_pairs (oriented as dedupe_only orients a pair:
    the smaller record_key on the left)."""
    from splink import DuckDBAPI

    db_api = DuckDBAPI(con)
    everyone = db_api.register("person_features", table_name="person_features_sdf")
    rescored = db_api.register("features_rescored", table_name="rescored_sdf")
    kept = db_api.register("features_kept", table_name="kept_sdf")
    within, left_rescored, right_rescored = predict_rescored(
        everyone, rescored, kept, model, "duckdb"
    )
    con.execute(
        "create table new_pairs as "
        + new_pairs_sql(
            within.physical_name, left_rescored.physical_name, right_rescored.physical_name
        )
    )


def new_pairs_sql(within: str, left_rescored: str, right_rescored: str) -> str:
    """The re-scored pairs from Splink's predictions ``within`` the re-scored records and
    ``between`` them and the kept ones, both ways round, oriented as dedupe_only orients a
    pair (the smaller record_key on the left). Plain SQL: the same on every engine."""
    return f"""
        select record_key_l, record_key_r, match_probability
        from {within}
        union all
        select record_key_l, record_key_r, match_probability
        from {left_rescored}
        where record_key_l < record_key_r
        union all
        select record_key_l, record_key_r, match_probability
        from {right_rescored}
        where record_key_l < record_key_r
        """


def _cluster(con: duckdb.DuckDBPyConnection, threshold: float) -> None:
    """The connected components of the links at ``threshold`` and the records linked
    alone, as the table components."""
    edges = con.execute(_EDGES_SQL, [threshold]).fetchall()
    individual = [f"r:{key}" for (key,) in con.sql("select record_key from individual").fetchall()]
    con.register("components_in", _components(edges, individual))
    con.execute("create table components as select * from components_in")
    con.unregister("components_in")


def update_links(
    records: pa.Table,
    previous: pa.Table,
    model: linkage.LinkageModel,
    *,
    threshold: float = linkage.MATCH_THRESHOLD,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> pa.Table:
    """The rows of the linked table that ``records`` (all current person records) change,
    given the ``previous`` linked table, scored with ``model``: see the module's docstring.

    Raises ValueError when a record linked before is no longer among ``records`` (an
    incremental run cannot remove rows: a full refresh is needed).
    """
    _check_previous(previous)
    started = time.perf_counter()
    con = linkage._connection(threads, memory_limit, temp_directory)
    try:
        linkage._prepare(con, records)
        _load_previous(con, previous)
        con.execute(_SELECT_SQL)
        n_changed = con.sql("select count(*) from changed").fetchall()[0][0]
        n_rescored = con.sql("select count(*) from rescored").fetchall()[0][0]
        if n_changed == 0:
            linkage.create_empty_pairs(con, "new_pairs")
        else:
            _score_rescored(con, model)
        _cluster(con, threshold)
        result = con.sql(updated_sql("duckdb")).to_arrow_table()
    finally:
        con.close()
    log.info(
        "incremental linkage: %d changed records, %d re-scored, %d rows replaced in %.1fs",
        n_changed,
        n_rescored,
        result.num_rows,
        time.perf_counter() - started,
    )
    return result
