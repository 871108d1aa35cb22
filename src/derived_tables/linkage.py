"""Person linkage across courts, prisons and probation, and how good it is.

The same person has records in three systems, each with its own identifier (defendant_id,
prison_number, crn) and with realistic variation between them: name typos and nicknames,
swapped day/month of birth, moved postcodes, a PNC-like national identifier present for only
some records. This module links them with Splink (a Fellegi-Sunter probabilistic model run on
DuckDB) and measures the result against the generator's truth file.

- :func:`link_person_records` is what the dbt Python model ``int_person_records_linked`` runs:
  person records in (one row per system record, shaped by ``int_person_records_unioned``), one
  row per record out with its person (cluster) id. Fully deterministic: the model's m and u
  parameters are fixed (:data:`PARAMETERS`, trained once, see :func:`train_parameters`), the
  prior is counted from the data, scoring is row-wise arithmetic and clustering is connected
  components, so the same records always give the same clusters and the same person ids.
- :func:`train_parameters` re-estimates m and u without labels (u by random sampling, m by
  expectation maximisation) for a maintainer to review and copy into :data:`PARAMETERS`.
- :func:`pairwise_quality` and :func:`evaluate_warehouse` compare the clusters with the truth
  file (never a source of the build) and give pairwise precision, recall and F1.

Run ``python -m derived_tables.linkage --help`` for the command-line helpers.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

SYSTEMS: tuple[str, ...] = ("common_platform", "nomis", "delius")

#: Two records are the same person when Splink's match probability for the pair is at least
#: this. Records are then clustered by connected components over those links. Chosen on the
#: precision/recall curve of generated data (seed 42; pairwise precision / recall):
#:
#:   threshold   scale 0.2         scale 1
#:   0.8         0.9992 / 0.9991   0.9979 / 0.9980
#:   0.9         0.9996 / 0.9990   0.9986 / 0.9966
#:   0.95        0.9996 / 0.9985   0.9991 / 0.9937
#:
#: 0.9 favours precision (a wrong merge mixes two people's journeys in dim_person; a missed
#: link only splits one) at almost no cost in recall.
MATCH_THRESHOLD = 0.9

#: Scored pairs below this probability are discarded straight after scoring: they can neither
#: link nor usefully describe a near miss, and dropping them keeps memory bounded.
SCORE_FLOOR = 0.01

#: Deterministic rules (admitting almost no false pairs) and their assumed recall, from which
#: the prior probability that two random records match is counted on each run. The prior
#: depends on the number of records (one in n), so it is the one parameter not fixed.
PRIOR_RULES: tuple[str, ...] = (
    "l.pnc_id = r.pnc_id",
    "l.first_name = r.first_name and l.last_name = r.last_name"
    " and l.date_of_birth = r.date_of_birth",
)
PRIOR_RULES_RECALL = 0.75

#: Candidate pairs: a pair is scored when it agrees on at least one of these. Every rule
#: joins on keys with many values (a date of birth together with name initials or a surname,
#: a full name with part of a date of birth, a full postcode), so a block holds few records
#: and the candidate pairs grow about linearly with the records. A date of birth alone, or a
#: surname + year of birth, would not do: such a block grows with the data, and its pairs
#: with the square of it. Measured on generated data (seed 42, with its truth; "before" is
#: the earlier rules, which had both):
#:
#:   scale  records     pairs per record   true pairs admitted   CPU seconds   peak memory
#:                      now    before      now      before       now  before   now    before
#:   0.2       36,374   0.69     3.3       99.900%  99.912%      2     2       0.3GB  0.3GB
#:   1        180,333   0.79    14.0       99.912%  99.919%      4     7       0.6GB  0.7GB
#:   10     1,809,030   2.08   135         99.912%  99.921%     42   503       2.9GB  4.8GB
#:
#: (CPU seconds and peak resident memory of the whole linking process, 2 threads, 4GB
#: DuckDB memory limit.) About 0.65 pairs per record are true pairs. Pairwise precision /
#: recall are the same as with the earlier rules: 0.9996 / 0.9990 at scale 0.2, 0.9986 /
#: 0.9966 at scale 1 (the very same people) and 0.9966 / 0.9841 at scale 10 (2 of 1.8M
#: records in another person, the same number of correct pairs). Plain first + last name,
#: or a date of birth + one full name, would add millions of pairs at scale 10 for almost
#: no true pairs (the name vocabulary is small and skewed).
BLOCKING_RULES: tuple[str, ...] = (
    "l.pnc_id = r.pnc_id",
    # the same date of birth, names alike: typos keep the initial, nicknames are resolved
    "l.date_of_birth = r.date_of_birth and l.first_name_initial = r.first_name_initial"
    " and l.last_name_initial = r.last_name_initial",
    # the same date of birth and surname, a first name whose written initial is kept by a
    # typo but not by its nickname resolution (LAIM for LIAM, itself WILLIAM)
    "l.date_of_birth = r.date_of_birth and l.last_name = r.last_name"
    " and l.first_name_written_initial = r.first_name_written_initial",
    # day and month of birth swapped
    "l.date_of_birth = r.date_of_birth_swapped and l.first_name_initial = r.first_name_initial"
    " and l.last_name_initial = r.last_name_initial",
    # a day of birth off: same names (nicknames resolved), same year and month
    "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name"
    " and l.year_of_birth = r.year_of_birth and l.birth_month = r.birth_month",
    # a year of birth off: same names, same day and month
    "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name"
    " and l.birth_month = r.birth_month and l.birth_day = r.birth_day",
    # a name changed or mistyped beyond its initial: the address and other evidence
    "l.postcode = r.postcode and l.year_of_birth = r.year_of_birth",
    "l.first_name_canonical = r.first_name_canonical and l.postcode = r.postcode",
)

#: Common English diminutives and the formal first name they stand for (upper case, letters
#: only, as in the normalised name columns). Used for a "same name, different form" level.
NICKNAMES: dict[str, str] = {
    "AL": "ALAN",
    "ALEX": "ALEXANDER",
    "ALF": "ALFRED",
    "ALFIE": "ALFRED",
    "ANDY": "ANDREW",
    "DREW": "ANDREW",
    "ANNIE": "ANNE",
    "TONY": "ANTHONY",
    "BEN": "BENJAMIN",
    "BENNY": "BENJAMIN",
    "BERNIE": "BERNARD",
    "CATHY": "CATHERINE",
    "KATE": "CATHERINE",
    "KATIE": "CATHERINE",
    "KATHERINE": "CATHERINE",
    "KATHRYN": "CATHERINE",
    "KATHY": "CATHERINE",
    "CHARLIE": "CHARLES",
    "CHAS": "CHARLES",
    "CHRIS": "CHRISTOPHER",
    "KIT": "CHRISTOPHER",
    "CHRISSY": "CHRISTINE",
    "DAN": "DANIEL",
    "DANNY": "DANIEL",
    "DAVE": "DAVID",
    "DAVY": "DAVID",
    "DEB": "DEBORAH",
    "DEBBIE": "DEBORAH",
    "DEBRA": "DEBORAH",
    "DOUG": "DOUGLAS",
    "ED": "EDWARD",
    "EDDIE": "EDWARD",
    "NED": "EDWARD",
    "TED": "EDWARD",
    "BETH": "ELIZABETH",
    "BETTY": "ELIZABETH",
    "LIBBY": "ELIZABETH",
    "LIZ": "ELIZABETH",
    "LIZZIE": "ELIZABETH",
    "LIZZY": "ELIZABETH",
    "ELLIE": "ELEANOR",
    "FRAN": "FRANCES",
    "FRANK": "FRANCIS",
    "FRANKIE": "FRANCIS",
    "FRED": "FREDERICK",
    "FREDDIE": "FREDERICK",
    "FREDDY": "FREDERICK",
    "GEOFF": "GEOFFREY",
    "GERRY": "GERALD",
    "GREG": "GREGORY",
    "HARRY": "HENRY",
    "HANK": "HENRY",
    "JAKE": "JACOB",
    "JIM": "JAMES",
    "JIMMY": "JAMES",
    "JAMIE": "JAMES",
    "JAN": "JANET",
    "JEN": "JENNIFER",
    "JENNY": "JENNIFER",
    "JEFF": "JEFFREY",
    "JERRY": "JEREMY",
    "JESS": "JESSICA",
    "JESSIE": "JESSICA",
    "JO": "JOANNE",
    "JOE": "JOSEPH",
    "JOEY": "JOSEPH",
    "JACK": "JOHN",
    "JOHNNY": "JOHN",
    "JON": "JONATHAN",
    "JONNY": "JONATHAN",
    "JOSH": "JOSHUA",
    "KEN": "KENNETH",
    "KENNY": "KENNETH",
    "LARRY": "LAWRENCE",
    "LEN": "LEONARD",
    "LENNY": "LEONARD",
    "LEO": "LEONARD",
    "MAGGIE": "MARGARET",
    "MEG": "MARGARET",
    "PEGGY": "MARGARET",
    "MANDY": "AMANDA",
    "MATT": "MATTHEW",
    "MIKE": "MICHAEL",
    "MICK": "MICHAEL",
    "MICKY": "MICHAEL",
    "MIKEY": "MICHAEL",
    "NAT": "NATHAN",
    "NATE": "NATHAN",
    "NICK": "NICHOLAS",
    "NICKY": "NICHOLAS",
    "PAT": "PATRICK",
    "PADDY": "PATRICK",
    "PETE": "PETER",
    "PHIL": "PHILIP",
    "RAY": "RAYMOND",
    "BECKY": "REBECCA",
    "BECCA": "REBECCA",
    "RICH": "RICHARD",
    "RICHIE": "RICHARD",
    "RICK": "RICHARD",
    "RICKY": "RICHARD",
    "DICK": "RICHARD",
    "BOB": "ROBERT",
    "BOBBY": "ROBERT",
    "ROB": "ROBERT",
    "ROBBIE": "ROBERT",
    "BERT": "ROBERT",
    "RON": "RONALD",
    "RONNIE": "RONALD",
    "ROSIE": "ROSEMARY",
    "SAM": "SAMUEL",
    "SAMMY": "SAMUEL",
    "SANDY": "ALEXANDRA",
    "SANDRA": "ALEXANDRA",
    "SUE": "SUSAN",
    "SUSIE": "SUSAN",
    "STEVE": "STEPHEN",
    "STEVIE": "STEPHEN",
    "STEVEN": "STEPHEN",
    "STU": "STUART",
    "TERRY": "TERENCE",
    "TOM": "THOMAS",
    "TOMMY": "THOMAS",
    "TIM": "TIMOTHY",
    "TIMMY": "TIMOTHY",
    "TORI": "VICTORIA",
    "VICKY": "VICTORIA",
    "VICKI": "VICTORIA",
    "VAL": "VALERIE",
    "BILL": "WILLIAM",
    "BILLY": "WILLIAM",
    "WILL": "WILLIAM",
    "WILLIE": "WILLIAM",
    "LIAM": "WILLIAM",
    "ZAK": "ZACHARY",
    "ZACK": "ZACHARY",
}

# ---------------------------------------------------------------------------------------------
# The model: comparisons, their levels and the fixed m/u parameters of each non-null level.
# ---------------------------------------------------------------------------------------------

#: m (probability of the level among true matches) and u (among non-matches) of each
#: non-null comparison level, in level order. Estimated without labels by
#: :func:`train_parameters` on generated data (scale 0.2, seed 42: u from 1e7 random pairs, m
#: by expectation maximisation), then rounded. Where the generated data never shows a
#: disagreement between a person's records (conflicting PNC ids or genders, a same-sector
#: move), the estimate is near zero and the m is floored instead: real data has such errors,
#: and no single disagreement should make a link impossible.
PARAMETERS: dict[str, list[tuple[float, float]]] = {
    # exact, else
    "pnc_id": [(0.999, 0.000034), (0.001, 0.999966)],
    # exact (term-frequency adjusted), jaro-winkler >= 0.92, same formal name, jw >= 0.8, else
    "first_name": [
        (0.895, 0.0075),
        (0.053, 0.0022),
        (0.028, 0.0036),
        (0.018, 0.0039),
        (0.006, 0.9828),
    ],
    # exact (term-frequency adjusted), jaro-winkler >= 0.92, jw >= 0.8, else
    "last_name": [(0.925, 0.0169), (0.053, 0.0013), (0.021, 0.0049), (0.001, 0.9769)],
    # exact, day and month swapped, one character apart, within a year, else
    "date_of_birth": [
        (0.965, 0.00012),
        (0.012, 0.00003),
        (0.016, 0.0022),
        (0.003, 0.0578),
        (0.004, 0.93985),
    ],
    # full postcode, sector, district, area, else
    "postcode": [
        (0.870, 0.00003),
        (0.001, 0.00008),
        (0.001, 0.0007),
        (0.010, 0.0093),
        (0.118, 0.98989),
    ],
    # exact, else
    "gender_code": [(0.99, 0.615), (0.01, 0.385)],
}


def _comparisons(with_parameters: bool = True) -> list[Any]:
    """The Splink comparisons of the person model, optionally with the fixed m/u values."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def null(column: str) -> Any:
        return cll.NullLevel(column)

    def exact(column: str, tf: bool = False) -> Any:
        level = cll.ExactMatchLevel(column)
        if tf:
            level.configure(tf_adjustment_column=column)
        return level

    specs: dict[str, list[Any]] = {
        "pnc_id": [null("pnc_id"), exact("pnc_id"), cll.ElseLevel()],
        "first_name": [
            null("first_name"),
            exact("first_name", tf=True),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.CustomLevel(
                "first_name_canonical_l = first_name_canonical_r",
                label_for_charts="Same formal first name (nickname)",
            ),
            cll.JaroWinklerLevel("first_name", 0.8),
            cll.ElseLevel(),
        ],
        "last_name": [
            null("last_name"),
            exact("last_name", tf=True),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.JaroWinklerLevel("last_name", 0.8),
            cll.ElseLevel(),
        ],
        "date_of_birth": [
            null("date_of_birth"),
            exact("date_of_birth"),
            cll.CustomLevel(
                "date_of_birth_swapped_l = date_of_birth_r",
                label_for_charts="Day and month swapped",
            ),
            cll.CustomLevel(
                "damerau_levenshtein(cast(date_of_birth_l as varchar),"
                " cast(date_of_birth_r as varchar)) <= 1",
                label_for_charts="One character apart",
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", input_is_string=False, threshold=1, metric="year"
            ),
            cll.ElseLevel(),
        ],
        "postcode": [
            null("postcode"),
            exact("postcode"),
            exact("postcode_sector"),
            exact("postcode_district"),
            exact("postcode_area"),
            cll.ElseLevel(),
        ],
        "gender_code": [null("gender_code"), exact("gender_code"), cll.ElseLevel()],
    }
    comparisons = []
    for name, levels in specs.items():
        comparison = cl.CustomComparison(comparison_levels=levels, output_column_name=name)
        if with_parameters:
            m, u = zip(*PARAMETERS[name], strict=True)
            comparison.configure(m_probabilities=list(m), u_probabilities=list(u))
        comparisons.append(comparison)
    return comparisons


def _settings(with_parameters: bool = True) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(with_parameters),
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        linker_uid="person",  # fixed, so that table names (and plans) are the same every run
    )


# The records as Splink compares them: comparison-ready columns derived from the unioned
# records (DuckDB SQL: this step always runs on an in-memory DuckDB connection).
_FEATURES_SQL = """
select
    records.record_key,
    nullif(upper(trim(records.pnc_id)), '') as pnc_id,
    records.first_name_normalised as first_name,
    coalesce(nicknames.formal_name, records.first_name_normalised) as first_name_canonical,
    records.last_name_normalised as last_name,
    records.date_of_birth,
    case
        when records.birth_day <= 12 and records.birth_day <> records.birth_month
            then make_date(records.year_of_birth, records.birth_day, records.birth_month)
    end as date_of_birth_swapped,
    records.year_of_birth,
    records.birth_month,
    records.birth_day,
    substr(coalesce(nicknames.formal_name, records.first_name_normalised), 1, 1)
        as first_name_initial,
    substr(records.first_name_normalised, 1, 1) as first_name_written_initial,
    substr(records.last_name_normalised, 1, 1) as last_name_initial,
    case when records.gender_code in ('M', 'F') then records.gender_code end as gender_code,
    records.postcode,
    nullif(regexp_extract(records.postcode, '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]'), '')
        as postcode_sector,
    nullif(regexp_extract(records.postcode, '^[A-Z]{1,2}[0-9][A-Z0-9]?'), '')
        as postcode_district,
    records.postcode_area
from person_records as records
left join nicknames
    on records.first_name_normalised = nicknames.nickname
"""

REQUIRED_COLUMNS: tuple[str, ...] = (
    "record_key",
    "system",
    "record_id",
    "record_first_seen_at",
    "pnc_id",
    "first_name_normalised",
    "last_name_normalised",
    "date_of_birth",
    "year_of_birth",
    "birth_month",
    "birth_day",
    "gender_code",
    "postcode",
    "postcode_area",
)

log = logging.getLogger(__name__)


def _connection(threads: int, memory_limit: str, temp_directory: str | None) -> Any:
    config: dict[str, Any] = {
        "threads": threads,
        "memory_limit": memory_limit,
        "preserve_insertion_order": False,
    }
    if temp_directory:
        config["temp_directory"] = temp_directory
    return duckdb.connect(":memory:", config=config)


def _prepare(con: Any, records: pa.Table) -> None:
    """Load the records and the nickname table, and build the comparison-ready features."""
    missing = [c for c in REQUIRED_COLUMNS if c not in records.column_names]
    if missing:
        raise ValueError(f"person records lack columns: {', '.join(missing)}")
    nicknames = pa.table({"nickname": list(NICKNAMES), "formal_name": list(NICKNAMES.values())})
    con.register("person_records_in", records)
    con.register("nicknames_in", nicknames)
    con.execute("create table person_records as select * from person_records_in")
    con.execute("create table nicknames as select * from nicknames_in")
    con.unregister("person_records_in")
    con.unregister("nicknames_in")
    con.execute(f"create table person_features as {_FEATURES_SQL}")


def link_person_records(
    records: pa.Table,
    *,
    threshold: float = MATCH_THRESHOLD,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> pa.Table:
    """Link person records into people.

    ``records``: one row per system record with :data:`REQUIRED_COLUMNS` (the shape of the
    dbt model ``int_person_records_unioned``); ``record_key`` must be unique.

    Returns one row per input record: ``system``, ``record_id``, ``record_key``, ``person_id``
    (the ``record_key`` of the cluster's earliest-seen record, ties broken by the smaller key,
    so a person keeps its id as newer records join it), ``match_probability`` (of the record's
    best scored link, null when no pair reached :data:`SCORE_FLOOR`), ``cluster_size``.
    """
    from splink import DuckDBAPI, Linker

    started = time.perf_counter()
    con = _connection(threads, memory_limit, temp_directory)
    try:
        _prepare(con, records)
        n_records = con.sql("select count(*) from person_features").fetchall()[0][0]
        n_keys = con.sql("select count(distinct record_key) from person_features").fetchall()[0][0]
        if n_keys != n_records:
            raise ValueError("record_key is not unique in the person records")

        if n_records >= 2:
            db_api = DuckDBAPI(con)
            features = db_api.register("person_features", table_name="person_features_sdf")
            linker = Linker(features, _settings(), log_level=logging.WARNING)
            linker.training.estimate_probability_two_random_records_match(
                list(PRIOR_RULES), recall=PRIOR_RULES_RECALL
            )
            predictions = linker.inference.predict(threshold_match_probability=SCORE_FLOOR)
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            con.execute(
                "create table scored_pairs as select record_key_l, record_key_r,"
                f" match_probability from {predictions.physical_name}"
            )
            con.execute(
                "create table clusters as select record_key, cluster_id"
                f" from {clusters.physical_name}"
            )
        else:
            con.execute(
                "create table scored_pairs as select null::varchar as record_key_l,"
                " null::varchar as record_key_r, null::double as match_probability limit 0"
            )
            con.execute(
                "create table clusters as select record_key, record_key as cluster_id"
                " from person_features"
            )
        result = con.sql(_RESULT_SQL).to_arrow_table()
    finally:
        con.close()
    log.info(
        "linked %d person records into %d people in %.1fs",
        result.num_rows,
        len(set(result.column("person_id").to_pylist())),
        time.perf_counter() - started,
    )
    return result


def relation_to_arrow(relation: Any) -> pa.Table:
    """The rows of a dbt Python model's ``dbt.ref()`` as an Arrow table, on any engine.

    dbt-duckdb hands a DuckDB relation (``to_arrow_table``), dbt-spark a Spark DataFrame
    (``toArrow``, pyspark 4): the one place a Python model differs by engine, dispatched on
    what dbt passes in rather than on the target's type.
    """
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    if hasattr(relation, "toArrow"):
        return relation.toArrow()
    raise TypeError(
        f"cannot read a {type(relation).__name__} as Arrow: expected a DuckDB "
        "relation or a Spark DataFrame"
    )


def arrow_to_model_result(table: pa.Table, session: Any) -> Any:
    """What a dbt Python model returns for ``table``, on the engine of ``session``.

    dbt-duckdb writes an Arrow table as it is; dbt-spark wants a Spark DataFrame, made here
    from the Arrow table by the SparkSession (types kept: string, double, int).
    """
    if hasattr(session, "createDataFrame"):
        return session.createDataFrame(table)
    return table


def link_model(
    relation: Any,
    session: Any,
    *,
    threads: int = 2,
    memory_limit: str = "4GB",
) -> Any:
    """The body of the dbt Python model ``int_person_records_linked``, on any engine.

    Splink runs on its in-memory DuckDB backend in the process that runs the model (dbt's
    on DuckDB, Spark's driver on Spark), on an Arrow copy of the person records, so the same
    records give the same people on every engine (the model is deterministic: see
    :func:`link_person_records`).
    """
    records = relation_to_arrow(relation)
    linked = link_person_records(records, threads=threads, memory_limit=memory_limit)
    return arrow_to_model_result(linked, session)


# One row per record: its person (the cluster's anchor record), the cluster size and the
# probability of its best scored link.
_RESULT_SQL = """
with
anchors as (
    select
        clusters.cluster_id,
        arg_min(
            records.record_key, (records.record_first_seen_at, records.record_key)
        ) as person_id,
        count(*) as cluster_size
    from clusters
    inner join person_records as records
        on clusters.record_key = records.record_key
    group by clusters.cluster_id
),

link_ends as (
    select record_key_l as record_key, match_probability from scored_pairs
    union all
    select record_key_r as record_key, match_probability from scored_pairs
),

best_links as (
    select record_key, max(match_probability) as match_probability
    from link_ends
    group by record_key
)

select
    records.system,
    records.record_id,
    records.record_key,
    anchors.person_id,
    best_links.match_probability,
    cast(anchors.cluster_size as integer) as cluster_size
from person_records as records
inner join clusters
    on records.record_key = clusters.record_key
inner join anchors
    on clusters.cluster_id = anchors.cluster_id
left join best_links
    on records.record_key = best_links.record_key
order by records.record_key
"""


# ---------------------------------------------------------------------------------------------
# Training (offline, by a maintainer): unsupervised estimates to review and copy to PARAMETERS.
# ---------------------------------------------------------------------------------------------


def train_parameters(
    records: pa.Table,
    *,
    max_pairs: float = 1e7,
    seed: int = 42,
    threads: int = 2,
    memory_limit: str = "4GB",
) -> dict[str, list[dict[str, Any]]]:
    """Estimate m and u for every comparison level without labels.

    u from random record pairs (almost all non-matches), m by expectation maximisation over
    pairs blocked on date of birth (which leaves the name, postcode, PNC and gender
    comparisons free to estimate) and then on first and last name (for date of birth). The
    result is for review: the build never trains, it uses :data:`PARAMETERS`.
    """
    from splink import DuckDBAPI, Linker, block_on

    con = _connection(threads, memory_limit, None)
    try:
        _prepare(con, records)
        db_api = DuckDBAPI(con)
        features = db_api.register("person_features", table_name="person_features_sdf")
        linker = Linker(features, _settings(with_parameters=False), log_level=logging.WARNING)
        linker.training.estimate_probability_two_random_records_match(
            list(PRIOR_RULES), recall=PRIOR_RULES_RECALL
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("date_of_birth")
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("first_name", "last_name")
        )
        model = linker.misc.save_model_to_json()
    finally:
        con.close()
    trained: dict[str, list[dict[str, Any]]] = {}
    for comparison in model["comparisons"]:
        trained[comparison["output_column_name"]] = [
            {
                "level": level.get("label_for_charts"),
                "m": level.get("m_probability"),
                "u": level.get("u_probability"),
            }
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        ]
    return trained


# ---------------------------------------------------------------------------------------------
# Quality: pairwise precision / recall / F1 against the truth file.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkageQuality:
    """Pairwise linkage quality: every pair of records put in one person is a predicted link.

    precision = true links found / links predicted; recall = true links found / true links;
    F1 their harmonic mean. Counted over records present both in the linkage and the truth.
    """

    records: int
    people_predicted: int
    people_true: int
    pairs_predicted: int
    pairs_true: int
    pairs_correct: int

    @property
    def precision(self) -> float:
        return self.pairs_correct / self.pairs_predicted if self.pairs_predicted else 1.0

    @property
    def recall(self) -> float:
        return self.pairs_correct / self.pairs_true if self.pairs_true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


_QUALITY_SQL = """
with
joined as (
    select linked.person_id as predicted, truth.person_id as actual
    from linked
    inner join truth
        on linked.system = truth.system
        and linked.record_id = truth.record_id
),
by_both as (select count(*) as n from joined group by predicted, actual),
by_predicted as (select count(*) as n from joined group by predicted),
by_actual as (select count(*) as n from joined group by actual)
select
    (select count(*) from joined) as records,
    (select count(*) from by_predicted) as people_predicted,
    (select count(*) from by_actual) as people_true,
    (select coalesce(sum(n * (n - 1) // 2), 0) from by_predicted) as pairs_predicted,
    (select coalesce(sum(n * (n - 1) // 2), 0) from by_actual) as pairs_true,
    (select coalesce(sum(n * (n - 1) // 2), 0) from by_both) as pairs_correct
"""


def pairwise_quality(
    linked: pa.Table, truth: pa.Table, systems: Sequence[str] = SYSTEMS
) -> LinkageQuality:
    """Pairwise quality of ``linked`` (system, record_id, person_id) against ``truth``
    (person_id, system, record_id), restricted to ``systems``."""
    con = duckdb.connect(":memory:")
    try:
        con.register("linked_in", linked.select(["system", "record_id", "person_id"]))
        con.register("truth_in", truth.select(["system", "record_id", "person_id"]))
        in_systems = ", ".join("'" + s.replace("'", "''") + "'" for s in systems)
        con.execute(f"create view linked as select * from linked_in where system in ({in_systems})")
        con.execute(f"create view truth as select * from truth_in where system in ({in_systems})")
        row = con.sql(_QUALITY_SQL).fetchall()[0]
    finally:
        con.close()
    return LinkageQuality(*(int(v) for v in row))


def read_linked(
    warehouse: Path | str, relation: str = "intermediate.int_person_records_linked"
) -> pa.Table:
    """The linked person records from a built warehouse (DuckDB file), read only."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.sql(f"select system, record_id, person_id from {relation}").to_arrow_table()
    finally:
        con.close()


def read_truth(truth_path: Path | str) -> pa.Table:
    """The generator's truth file (person_id, system, record_id)."""
    import pyarrow.parquet as pq

    return pq.read_table(truth_path, columns=["person_id", "system", "record_id"])


def evaluate_warehouse(
    warehouse: Path | str,
    truth_path: Path | str,
    relation: str = "intermediate.int_person_records_linked",
) -> LinkageQuality:
    """Pairwise precision/recall/F1 of the warehouse's linkage against the truth file."""
    return pairwise_quality(read_linked(warehouse, relation), read_truth(truth_path))


# ---------------------------------------------------------------------------------------------
# Command line (plain argparse: `python -m derived_tables.linkage --help`).
# ---------------------------------------------------------------------------------------------


def _read_records(warehouse: Path, relation: str) -> pa.Table:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.sql(f"select * from {relation}").to_arrow_table()
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m derived_tables.linkage",
        description="Person linkage helpers: measure quality, re-estimate parameters.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser(
        "evaluate", help="pairwise precision, recall and F1 of a warehouse's linkage"
    )
    evaluate.add_argument("--warehouse", type=Path, required=True, help="DuckDB file")
    evaluate.add_argument(
        "--truth", type=Path, required=True, help="person_truth.parquet of the same data"
    )
    evaluate.add_argument(
        "--relation", default="intermediate.int_person_records_linked", help="linked records"
    )

    train = commands.add_parser(
        "train", help="unsupervised m/u estimates to review against PARAMETERS"
    )
    train.add_argument("--warehouse", type=Path, required=True, help="DuckDB file")
    train.add_argument(
        "--relation",
        default="intermediate.int_person_records_unioned",
        help="the unioned person records",
    )
    train.add_argument("--max-pairs", type=float, default=1e7, help="pairs sampled for u")

    args = parser.parse_args(argv)
    if args.command == "evaluate":
        quality = evaluate_warehouse(args.warehouse, args.truth, args.relation)
        for name, value in quality.as_dict().items():
            shown = f"{value:.4f}" if isinstance(value, float) else f"{value:,}"
            print(f"{name:>17}  {shown}")
        return 0
    trained = train_parameters(
        _read_records(args.warehouse, args.relation), max_pairs=args.max_pairs
    )
    for comparison, levels in trained.items():
        print(comparison)
        for level in levels:
            m = "None" if level["m"] is None else f"{level['m']:.6g}"
            u = "None" if level["u"] is None else f"{level['u']:.6g}"
            print(f"    m={m:>12}  u={u:>12}  {level['level']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
