"""Person linkage across courts, prisons and probation, and how good it is.

The same person has records in three systems, each with its own identifier (defendant_id,
prison_number, crn) and with realistic variation between them: name typos and nicknames,
swapped day/month of birth, moved postcodes, a PNC-like national identifier present for only
some records. This module links them with Splink (a Fellegi-Sunter probabilistic model run on
DuckDB) and measures the result against the generator's truth file.

- :func:`link_person_records` is what the dbt Python model ``int_person_records_linked`` runs:
  person records in (one row per system record, shaped by ``int_person_records_unioned``), one
  row per record out with its person (cluster) id. The model's parameters are learnt from the
  records being linked, without labels, on every run (:func:`fit_model`: the prior from
  deterministic rules, u by seeded random sampling, m by expectation maximisation), with the
  committed :data:`PARAMETERS` as a fallback, announced by a warning, when training fails.
  Fully deterministic: the samples are chosen by a hash of the record keys and a fixed seed,
  the parameters are rounded, scoring is row-wise arithmetic and clustering is connected
  components, so the same records always give the same clusters and the same person ids.
- :func:`train_parameters` shows what training learns from a warehouse's records, for a
  maintainer to review (and to refresh the fallback :data:`PARAMETERS`).
- :func:`pairwise_quality` and :func:`evaluate_warehouse` compare the clusters with the truth
  file (never a source of the build) and give pairwise precision, recall and F1.

Run ``python -m derived_tables.linkage --help`` for the command-line helpers.
"""

from __future__ import annotations

import argparse
import json
import logging
import string
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

SYSTEMS: tuple[str, ...] = ("common_platform", "nomis", "delius")

#: Two records are the same person when Splink's match probability for the pair is at least
#: this. Records are then clustered by connected components over those links. 0.9 favours
#: precision (a wrong merge mixes two people's journeys in dim_person; a missed link only
#: splits one). With the parameters learnt on each build, generated data (seed 42), pairwise
#: precision / recall after clustering: scale 1 0.9992 / 0.9971, scale 10 0.9987 / 0.9901
#: (``--noise hard``: scale 1 0.9980 / 0.9801, scale 10 0.9960 / 0.9533; with the blocking
#: rules of before 2026-12-05, :data:`BLOCKING_RULES`, recall was 0.04 to 0.2 points higher).
#:
#: Why recall fell with scale (scale 10 was 0.9952 / 0.9869 before the first address was
#: compared): the prior (one true pair in so many random pairs) falls as 1/records (8.6e-6 at
#: scale 1, 8.8e-7 at scale 10), so a pair needs log2(10) = 3.3 more bits of evidence at
#: scale 10 to reach 0.9. The prior is right: lowering the threshold recovered recall but let
#: in the lookalikes that ten times as many people bring. Of the wrong and missed links at
#: scale 10, most (2,327 of 2,980 false, 11,467 of 23,529 missed) were the same kind of pair:
#: same names, same date of birth, no PNC, postcodes in different areas; nothing in the
#: compared columns told a stranger from a person who had moved. Address history does: of
#: such pairs at scale 10 (same names and date of birth, different current postcodes), 36,860
#: of 66,211 true pairs share a postcode somewhere in their records' histories, and none of
#: the 10,547 strangers. The model compares each record's current and first postcode (plain
#: columns on every engine, no list type): the postcode level "a postcode in common (current
#: or first)", which also makes a plain disagreement on postcode stronger evidence against.
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

#: The same postcode area, or both records without one (FEBRL's Australian postcodes have no
#: area; a record without an address is no sign of a move).
_SAME_AREA = " and coalesce(l.postcode_area, '') = coalesce(r.postcode_area, '')"

#: Candidate pairs: a pair is scored when it agrees on at least one of these. Every rule
#: joins on keys with many values (a date of birth with a name and an initial, full names with
#: part of a date of birth, a full postcode with a name or a year of birth), or keeps a broader
#: rule within one postcode area, so that a block holds few records. The pairs of two
#: strangers still grow with the square of the records (a block of n records has n(n-1)/2
#: pairs, and n grows with the data), so each rule must keep them rare: that decides whether a
#: scale runs at all. The rules before 2026-12-05 (the four broad ones below in any area, full
#: names with part of a date of birth in any area) admitted 0.38 strangers' pairs per record at
#: scale 1 and 3.8 at scale 10: about 700 million pairs at scale 100, whose blocked pairs alone
#: filled 45 GB of disk. Measured on generated data (seed 42, with its truth; exact counts):
#:
#:   data                  records     pairs per record   strangers' pairs   true pairs admitted
#:   scale 1               181,427     0.669 (was 1.022)  0.025 (was 0.377)  99.79% (was 99.94%)
#:   scale 10              1,817,813   0.887 (was 4.466)  0.238 (was 3.816)  99.79% (was 99.95%)
#:   scale 1, hard noise   181,427     0.684 (was 1.668)  0.055 (was 1.033)  97.44% (was 98.29%)
#:
#: so about 3 pairs per record at scale 100 (about 55 million) instead of 39. About 0.65 pairs
#: per record are true pairs. Clustering is transitive, so a true pair not compared is still
#: found when a third record links both: after clustering, recall fell by 0.06 points at scale
#: 1, 0.04 at scale 10 and 0.2 with the hard noise (docs/linkage.md). Names swapped, a date of
#: birth with day and month swapped, a day or a year of birth off, and a date of birth missing
#: or wrong (postcode with a name or the year of birth) have rules of their own; a surname
#: changed by marriage is found through the postcode, the area or the PNC. A record whose date
#: of birth, surname and postcode all differ from its person's other records, with no PNC, is
#: not compared. FEBRL's records have no postcode area, so there the area-bound rules block
#: as the broad rules did (its figures are unchanged; its few thousand records make few pairs).
BLOCKING_RULES: tuple[str, ...] = (
    "l.pnc_id = r.pnc_id",
    # the same date of birth, names alike: a surname mistyped (it keeps its initial) with the
    # first name the same up to nicknames, or a first name mistyped with the surname the same
    "l.date_of_birth = r.date_of_birth and l.first_name_canonical = r.first_name_canonical"
    " and l.last_name_initial = r.last_name_initial",
    "l.date_of_birth = r.date_of_birth and l.last_name = r.last_name"
    " and l.first_name_initial = r.first_name_initial",
    # first and last names swapped, born the same year
    "l.first_name = r.last_name and l.last_name = r.first_name"
    " and l.year_of_birth = r.year_of_birth",
    # day and month of birth swapped
    "l.date_of_birth = r.date_of_birth_swapped"
    " and l.first_name_canonical = r.first_name_canonical"
    " and l.last_name_initial = r.last_name_initial",
    # a day of birth off: same names (nicknames resolved), same year and month, same area
    "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name"
    " and l.year_of_birth = r.year_of_birth and l.birth_month = r.birth_month" + _SAME_AREA,
    # a year of birth off: same names, same day and month, same area
    "l.first_name_canonical = r.first_name_canonical and l.last_name = r.last_name"
    " and l.birth_month = r.birth_month and l.birth_day = r.birth_day" + _SAME_AREA,
    # a name changed or mistyped beyond its initial, or a date of birth missing or wrong:
    # the address and other evidence
    "l.postcode = r.postcode and l.year_of_birth = r.year_of_birth",
    "l.first_name_canonical = r.first_name_canonical and l.postcode = r.postcode",
    "l.last_name = r.last_name and l.postcode = r.postcode",
    # within one postcode area (or among records without one): the broader rules, each of
    # which alone would admit millions of strangers' pairs at scale 100 across all areas
    "l.date_of_birth = r.date_of_birth and l.first_name_initial = r.first_name_initial"
    " and l.last_name_initial = r.last_name_initial" + _SAME_AREA,
    "l.date_of_birth = r.date_of_birth and l.last_name = r.last_name" + _SAME_AREA,
    "l.date_of_birth = r.date_of_birth and l.first_name = r.first_name" + _SAME_AREA,
    "l.first_name = r.last_name and l.last_name = r.first_name" + _SAME_AREA,
)


#: Where the linkage's knowledge of nicknames comes from: the maintained ``nicknames`` package
#: (a hand-curated table of English given names and their diminutives, about 2,700 pairs),
#: not a list written for this project's own generated data.
def nickname_pairs() -> pa.Table:
    """(nickname, formal_name) pairs, upper case, letters only, as the normalised name columns.

    A nickname may stand for several formal names (AL: ALAN, ALBERT, ALFRED, ...), so this is a
    relation, not a mapping. Names that the package lists as formal have no row of their own.
    """
    from nicknames import NickNamer

    pairs: set[tuple[str, str]] = set()
    for formal, nicks in NickNamer().nickname_lookup.items():
        formal_key = _letters(formal)
        for nick in nicks:
            nick_key = _letters(nick)
            if nick_key and formal_key and nick_key != formal_key:
                pairs.add((nick_key, formal_key))
    ordered = sorted(pairs)
    return pa.table(
        {
            "nickname": [n for n, _ in ordered],
            "formal_name": [f for _, f in ordered],
        }
    )


def _letters(name: str) -> str:
    return "".join(c for c in name.upper() if "A" <= c <= "Z")


# ---------------------------------------------------------------------------------------------
# SQL dialects: the linkage's SQL is written once, with the few expressions that differ between
# DuckDB and Spark SQL named here, one form per engine.
# ---------------------------------------------------------------------------------------------

#: The SQL dialects the linkage runs on: ``duckdb`` (Splink's DuckDBAPI, in the process that
#: runs the model) and ``spark`` (Splink's SparkAPI, on the dbt-spark session).
DIALECTS: tuple[str, ...] = ("duckdb", "spark")

#: Each expression of the linkage's SQL that DuckDB and Spark SQL spell differently, in both
#: spellings, with ``$name`` placeholders for its arguments. The DuckDB forms are the SQL the
#: linkage ran before Spark had its own (so DuckDB's people do not change); the Spark forms
#: give the same value on the same rows (``tests/python/test_linkage_dialects.py``):
#:
#: - an aggregate list ordered by its values: ``array_sort(collect_list(..))``;
#: - the value of the first row in an order: ``min_by(.., struct(..))`` (structs order by
#:   their fields, as DuckDB's row values do);
#: - DuckDB's ``list_distinct`` drops nulls, Spark's ``array_distinct`` keeps one: Spark
#:   filters them out first;
#: - Spark's ``regexp_extract`` takes group 1 unless told 0 (the whole match);
#: - ``list_has_any`` is ``arrays_overlap`` (neither list holds a null, so both give false
#:   on no element in common), ``varchar`` is ``string``, and ``damerau_levenshtein`` is a
#:   function of Splink's similarity jar on Spark (a distance of at most 1 is the same set of
#:   edits, one insertion, deletion, substitution or adjacent transposition, on both).
DIALECT_EXPRESSIONS: dict[str, dict[str, str]] = {
    "sorted_list_agg": {
        "duckdb": "list($value order by $value)",
        "spark": "array_sort(collect_list($value))",
    },
    "first_by_desc_asc": {
        "duckdb": "first($value order by $desc desc, $asc)",
        "spark": "min_by($value, struct(-$desc, $asc))",
    },
    "arg_min_pair": {
        "duckdb": "arg_min($value, ($first, $second))",
        "spark": "min_by($value, struct($first, $second))",
    },
    "sorted_names_with": {
        "duckdb": "list_sort(list_distinct(list_concat([$value], coalesce($values, []))))",
        "spark": "array_sort(array_distinct(concat(array($value), coalesce($values, array()))))",
    },
    "sorted_distinct_pair": {
        "duckdb": "list_sort(list_distinct([$first, $second]))",
        "spark": "array_sort(array_distinct(filter(array($first, $second), x -> x is not null)))",
    },
    "regexp_match": {
        "duckdb": "regexp_extract($value, '$pattern')",
        "spark": "regexp_extract($value, '$pattern', 0)",
    },
    "lists_overlap": {
        "duckdb": "list_has_any($left, $right)",
        "spark": "arrays_overlap($left, $right)",
    },
    "string_type": {"duckdb": "varchar", "spark": "string"},
}


def dialect_sql(name: str, dialect: str, **arguments: str) -> str:
    """The expression ``name`` of :data:`DIALECT_EXPRESSIONS` in ``dialect``, with its
    ``arguments``."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}: expected one of {DIALECTS}")
    return string.Template(DIALECT_EXPRESSIONS[name][dialect]).substitute(arguments)


# ---------------------------------------------------------------------------------------------
# The model: comparisons, their levels and the fixed m/u parameters of each non-null level.
# ---------------------------------------------------------------------------------------------

#: The committed fallback: m (probability of the level among true matches) and u (among
#: non-matches) of each non-null comparison level, in level order, used when training on the
#: records being linked fails (see :func:`fit_model`). Trained the same way, without labels,
#: on generated data (scale 1, seed 42: ``python -m derived_tables.linkage train``), then
#: regularised (:func:`_regularised`) and rounded to 3 significant digits.
PARAMETERS: dict[str, list[tuple[float, float]]] = {
    # exact, one character apart (mistyped), else
    "pnc_id": [
        (1.0, 3e-06),
        (0.0001, 3e-06),
        (0.0001, 1.0),
    ],
    # exact (term-frequency adjusted), jaro-winkler >= 0.92, a formal name in common
    # (nickname), jw >= 0.8, written as the other's surname, else
    "first_name": [
        (0.899, 0.0123),
        (0.054, 0.00152),
        (0.027, 0.00502),
        (0.0164, 0.00787),
        (0.0001, 0.00106),
        (0.00318, 0.972),
    ],
    # exact (term-frequency adjusted), jw >= 0.92, jw >= 0.8, one part of the other
    # (double-barrelled), written as the other's first name, else
    "last_name": [
        (0.921, 0.0164),
        (0.0579, 0.00133),
        (0.0201, 0.00467),
        (0.000268, 0.00036),
        (0.0001, 0.000833),
        (0.000484, 0.976),
    ],
    # exact, day and month swapped, one character apart, within a year, same day
    # and month of another year, else
    "date_of_birth": [
        (0.968, 8.42e-05),
        (0.00922, 3.2e-05),
        (0.0184, 0.00218),
        (0.00204, 0.0582),
        (0.00102, 0.00195),
        (0.00163, 0.938),
    ],
    # full postcode, a postcode in common (current or the record's first), sector,
    # district, area, else
    "postcode": [
        (0.883, 3e-06),
        (0.0706, 3e-06),
        (0.0001, 8.23e-05),
        (0.000271, 0.000727),
        (0.00432, 0.00945),
        (0.042, 0.99),
    ],
    # exact, else
    "gender_code": [
        (1.0, 0.754),
        (0.0001, 0.246),
    ],
}


def _comparisons(
    parameters: dict[str, list[tuple[float, float]]] | None = None, dialect: str = "duckdb"
) -> list[Any]:
    """The Splink comparisons of the person model, with ``parameters`` (m, u per non-null
    level, as :data:`PARAMETERS`) when given, their custom levels in ``dialect``'s SQL
    (Splink's library levels render themselves for each backend)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def sql(name: str, **arguments: str) -> str:
        return dialect_sql(name, dialect, **arguments)

    text = sql("string_type")

    def null(column: str) -> Any:
        return cll.NullLevel(column)

    def exact(column: str, tf: bool = False) -> Any:
        level = cll.ExactMatchLevel(column)
        if tf:
            level.configure(tf_adjustment_column=column)
        return level

    specs: dict[str, list[Any]] = {
        "pnc_id": [
            null("pnc_id"),
            exact("pnc_id"),
            cll.DamerauLevenshteinLevel("pnc_id", 1),
            cll.ElseLevel(),
        ],
        "first_name": [
            null("first_name"),
            exact("first_name", tf=True),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.CustomLevel(
                sql(
                    "lists_overlap",
                    left="first_name_formal_names_l",
                    right="first_name_formal_names_r",
                ),
                label_for_charts="Same formal first name (nickname)",
            ),
            cll.JaroWinklerLevel("first_name", 0.8),
            cll.CustomLevel(
                "first_name_l = last_name_r", label_for_charts="Written as the surname"
            ),
            cll.ElseLevel(),
        ],
        "last_name": [
            null("last_name"),
            exact("last_name", tf=True),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.JaroWinklerLevel("last_name", 0.8),
            cll.CustomLevel(
                "length(last_name_l) >= 3 and length(last_name_r) >= 3"
                " and (contains(last_name_l, last_name_r) or contains(last_name_r, last_name_l))",
                label_for_charts="One surname part of the other (double-barrelled)",
            ),
            cll.CustomLevel(
                "last_name_l = first_name_r", label_for_charts="Written as the first name"
            ),
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
                f"damerau_levenshtein(cast(date_of_birth_l as {text}),"
                f" cast(date_of_birth_r as {text})) <= 1",
                label_for_charts="One character apart",
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", input_is_string=False, threshold=1, metric="year"
            ),
            cll.CustomLevel(
                "birth_month_l = birth_month_r and birth_day_l = birth_day_r",
                label_for_charts="Same day and month, another year",
            ),
            cll.ElseLevel(),
        ],
        "postcode": [
            null("postcode"),
            exact("postcode"),
            cll.CustomLevel(
                sql("lists_overlap", left="postcodes_known_l", right="postcodes_known_r"),
                label_for_charts="A postcode in common (current or first)",
            ),
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
        if parameters is not None:
            m, u = zip(*parameters[name], strict=True)
            comparison.configure(m_probabilities=list(m), u_probabilities=list(u))
        comparisons.append(comparison)
    return comparisons


def _settings(
    with_parameters: bool = True,
    parameters: dict[str, list[tuple[float, float]]] | None = None,
    dialect: str = "duckdb",
) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(
            parameters if parameters is not None else PARAMETERS if with_parameters else None,
            dialect,
        ),
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        linker_uid="person",  # fixed, so that table names (and plans) are the same every run
    )


# ---------------------------------------------------------------------------------------------
# Training: the model's parameters are learnt from the records being linked, on every run.
# ---------------------------------------------------------------------------------------------

#: Seed of the random pairs that estimate u. Splink samples records by a hash of their key and
#: this seed, so the same records give the same sample, whatever their order or the threads.
TRAINING_SEED = 42

#: Random record pairs sampled to estimate u (almost all of them non-matches). Comparing a
#: pair costs about 20 microseconds (2 threads), so 3e5 pairs take about 7 seconds at any
#: scale; the rarest agreements (two people sharing a PNC, about 1 in 100,000 pairs) are then
#: seen a few times or not at all, and :data:`U_FLOOR` bounds their weight.
U_MAX_PAIRS = 3e5

#: Expectation maximisation runs, each over the pairs agreeing on some columns, so that the
#: other comparisons' m can be estimated: first on date of birth (names, postcode, PNC and
#: gender estimated), then on the surname and first name's initial (date of birth estimated).
#: Each session samples at most EM_MAX_PAIRS of its pairs, so its cost stays bounded.
EM_BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("date_of_birth",),
    ("last_name", "first_name_written_initial"),
)
EM_MAX_PAIRS = 2e5
EM_MAX_ITERATIONS = 25

#: Every m is floored at M_FLOOR and every u at U_FLOOR before the probabilities of a
#: comparison are rescaled to sum to one: a level that the training pairs never show (two
#: records of one person with conflicting PNCs, say) must not make a link impossible, nor an
#: agreement that the random pairs never show make one certain (U_FLOOR is about one in the
#: U_MAX_PAIRS sampled pairs).
M_FLOOR = 1e-4
U_FLOOR = 3e-6

#: Trained parameters are rounded to this many significant digits, so that the last bits of
#: parallel floating-point sums cannot change a score from one run to the next.
SIGNIFICANT_DIGITS = 5


#: Fewer records than this give too few pairs to estimate the model's thirty-odd m and u:
#: the committed fallback is used without trying.
MIN_TRAINING_RECORDS = 1000


class TrainingError(RuntimeError):
    """Unsupervised training gave no usable model (it is then replaced by the fallback)."""


@dataclass(frozen=True)
class LinkageModel:
    """The parameters a run scored with, and where they came from.

    ``source`` is ``"trained"`` (learnt from the records being linked) or ``"fallback"`` (the
    committed :data:`PARAMETERS`, used when training failed; ``reason`` says why).
    ``parameters`` maps each comparison to its (m, u) per non-null level, in level order.
    """

    source: str
    reason: str
    probability_two_random_records_match: float
    parameters: dict[str, list[tuple[float, float]]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "reason": self.reason,
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "parameters": {k: [list(level) for level in v] for k, v in self.parameters.items()},
        }

    def parameters_json(self) -> str:
        """The m/u parameters as JSON (comparison -> [[m, u], ...]), keys sorted."""
        return json.dumps(
            {k: [list(level) for level in v] for k, v in self.parameters.items()},
            sort_keys=True,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LinkageModel:
        """The model stored in a row of ``int_person_linkage_parameters``
        (:func:`model_table`), checked against the comparisons of this code."""
        stored = json.loads(row["parameters"])
        expected = {name: len(levels) for name, levels in PARAMETERS.items()}
        found = {name: len(levels) for name, levels in stored.items()}
        if found != expected:
            raise ValueError(
                "int_person_linkage_parameters.parameters: the stored model has comparison"
                f" levels {found}, this code expects {expected} (the comparisons changed"
                " since the last full build): run with --full-refresh"
            )
        return cls(
            str(row["model_source"]),
            str(row["model_reason"]),
            float(row["probability_two_random_records_match"]),
            {name: [(float(m), float(u)) for m, u in levels] for name, levels in stored.items()},
        )


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _regularised(levels: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Floor every m at :data:`M_FLOOR` and u at :data:`U_FLOOR`, rescale each to sum to one,
    round."""
    m = [max(level[0], M_FLOOR) for level in levels]
    u = [max(level[1], U_FLOOR) for level in levels]
    return [(_round(mi / sum(m)), _round(ui / sum(u))) for mi, ui in zip(m, u, strict=True)]


def _trained_parameters(model: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """(m, u) per non-null level from a Splink model dictionary, regularised.

    Random pairs are not all non-matches: a share ``prior`` of them are matches, which
    inflate the u of the strongest agreements (on a small data set, a shared identifier's u
    is then mostly matches). So u is taken as ``(u - prior * m) / (1 - prior)``.
    """
    prior = float(model["probability_two_random_records_match"])
    parameters: dict[str, list[tuple[float, float]]] = {}
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [
            (level.get("m_probability"), level.get("u_probability"))
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        ]
        if all(m is None for m, _ in levels):
            # the column is null in every training pair: it tells nothing, either way
            levels = [(u, u) for _, u in levels]
        # a level no sampled or blocked pair showed has an estimate of nought: floored
        parameters[name] = _regularised(
            [
                (
                    float(m or 0.0),
                    max(float(u or 0.0) - prior * float(m or 0.0), 0.0) / (1.0 - prior),
                )
                for m, u in levels
            ]
        )
    return parameters


def _check_plausible(parameters: dict[str, list[tuple[float, float]]]) -> None:
    """A converged EM can still sit in a wrong mode (a 'match' class that is really 'same
    birthday'): every comparison's full agreement must be evidence for a match, and its
    full disagreement evidence against."""
    for name, levels in parameters.items():
        if all(m == u for m, u in levels):
            continue  # no information in the column (see _trained_parameters)
        (m_first, u_first), (m_last, u_last) = levels[0], levels[-1]
        if m_first <= u_first:
            raise TrainingError(f"{name}: exact agreement learnt as evidence against a match")
        if m_last >= u_last:
            raise TrainingError(f"{name}: disagreement learnt as evidence for a match")


def _train(linker: Any) -> LinkageModel:
    """u by random sampling, m by expectation maximisation, on ``linker``'s records (whose
    prior is already estimated); raises :class:`TrainingError` when that gives no usable
    model."""
    from splink import block_on

    linker.training.estimate_u_using_random_sampling(
        max_pairs=U_MAX_PAIRS, seed=TRAINING_SEED, num_chunks=1, min_count_per_level=None
    )
    for columns in EM_BLOCKING_RULES:
        try:
            session = linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns),
                estimate_without_term_frequencies=True,
                max_pairs=EM_MAX_PAIRS,
            )
        except Exception as exc:  # Splink raises plain exceptions (no pairs, all null, ...)
            raise TrainingError(f"EM blocked on {', '.join(columns)} failed: {exc}") from exc
        iterations = len(session._core_model_settings_history) - 1
        if iterations >= EM_MAX_ITERATIONS:
            raise TrainingError(
                f"EM blocked on {', '.join(columns)} did not converge in "
                f"{EM_MAX_ITERATIONS} iterations"
            )
    model = linker.misc.save_model_to_json()
    parameters = _trained_parameters(model)
    _check_plausible(parameters)
    return LinkageModel(
        "trained",
        "learnt from these records",
        _round(float(model["probability_two_random_records_match"])),
        parameters,
    )


def _fallback(prior: float, reason: str) -> LinkageModel:
    return LinkageModel(
        "fallback",
        reason,
        _round(prior),
        {name: _regularised(list(levels)) for name, levels in PARAMETERS.items()},
    )


def _count(features: Any) -> int:
    return int(features.as_duckdbpyrelation().count("*").fetchall()[0][0])


def fit_model(features: Any, *, train: bool = True) -> LinkageModel:
    """The parameters to link ``features`` (a registered Splink input) with.

    The prior is counted from :data:`PRIOR_RULES` on the records; m and u are learnt from them
    (:func:`_train`) unless ``train`` is false. When training fails (too few records to see
    every level, EM not converging, an implausible result), the committed :data:`PARAMETERS`
    are used instead and a warning says why.
    """
    from splink import Linker

    linker = Linker(features, _settings(with_parameters=False), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        list(PRIOR_RULES), recall=PRIOR_RULES_RECALL
    )
    prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"])
    if not train:
        return _fallback(prior, "training switched off")
    n_records = _count(features)
    if n_records < MIN_TRAINING_RECORDS:
        reason = f"{n_records} records, fewer than the {MIN_TRAINING_RECORDS} needed to train"
        log.warning("person linkage: %s; using the committed fallback parameters", reason)
        return _fallback(prior, reason)
    try:
        return _train(linker)
    except TrainingError as exc:
        log.warning(
            "person linkage: training failed (%s); using the committed fallback parameters",
            exc,
        )
        return _fallback(prior, str(exc))


def _linker(features: Any, model: LinkageModel, dialect: str = "duckdb") -> Any:
    """A Splink linker scoring with ``model``'s parameters (``features`` registered with the
    backend of ``dialect``)."""
    from splink import Linker

    settings = _settings(parameters=model.parameters, dialect=dialect)
    settings.probability_two_random_records_match = model.probability_two_random_records_match
    return Linker(features, settings, log_level=logging.WARNING)


# The records as Splink compares them: comparison-ready columns derived from the unioned
# records, in the SQL of either engine ($-placeholders: :func:`features_sql`).
_FEATURES_TEMPLATE = """
with
formal_names as (
    select formal_name, count(*) as nicknames
    from nicknames
    group by formal_name
),

-- each name and the formal names it may stand for (a formal name stands for itself)
candidates as (
    select nickname as name, formal_name as candidate from nicknames
    union
    select formal_name as name, formal_name as candidate from formal_names
),

-- the candidate with the most nicknames is the name's canonical form, used by the blocking
-- rules (BOB, BOBBY, ROBBIE all block as ROBERT); the comparison uses every candidate
canonical_names as (
    select
        candidates.name,
        $formal_names as formal_names,
        $canonical_name as canonical_name
    from candidates
    inner join formal_names
        on candidates.candidate = formal_names.formal_name
    group by candidates.name
),

named as (
    select
        records.*,
        coalesce(canonical_names.canonical_name, records.first_name_normalised)
            as first_name_canonical,
        case
            when records.first_name_normalised is not null
                then $first_name_formal_names
        end as first_name_formal_names
    from person_records as records
    left join canonical_names
        on records.first_name_normalised = canonical_names.name
)

select
    record_key,
    nullif(upper(trim(pnc_id)), '') as pnc_id,
    first_name_normalised as first_name,
    first_name_canonical,
    first_name_formal_names,
    last_name_normalised as last_name,
    date_of_birth,
    case
        when birth_day <= 12 and birth_day <> birth_month
            then make_date(year_of_birth, birth_day, birth_month)
    end as date_of_birth_swapped,
    year_of_birth,
    birth_month,
    birth_day,
    substr(first_name_canonical, 1, 1) as first_name_initial,
    substr(first_name_normalised, 1, 1) as first_name_written_initial,
    substr(last_name_normalised, 1, 1) as last_name_initial,
    case when gender_code in ('M', 'F') then gender_code end as gender_code,
    postcode,
    -- without nulls
    $postcodes_known as postcodes_known,
    nullif($postcode_sector, '') as postcode_sector,
    nullif($postcode_district, '') as postcode_district,
    postcode_area
from named
"""


def features_sql(dialect: str = "duckdb") -> str:
    """The select of the comparison-ready features (table ``person_features``) from the
    tables ``person_records`` and ``nicknames``, in ``dialect``'s SQL."""

    def sql(name: str, **arguments: str) -> str:
        return dialect_sql(name, dialect, **arguments)

    return string.Template(_FEATURES_TEMPLATE).substitute(
        formal_names=sql("sorted_list_agg", value="candidates.candidate"),
        canonical_name=sql(
            "first_by_desc_asc",
            value="candidates.candidate",
            desc="formal_names.nicknames",
            asc="candidates.candidate",
        ),
        first_name_formal_names=sql(
            "sorted_names_with",
            value="records.first_name_normalised",
            values="canonical_names.formal_names",
        ),
        postcodes_known=sql("sorted_distinct_pair", first="postcode", second="first_postcode"),
        postcode_sector=sql(
            "regexp_match", value="postcode", pattern="^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]"
        ),
        postcode_district=sql(
            "regexp_match", value="postcode", pattern="^[A-Z]{1,2}[0-9][A-Z0-9]?"
        ),
    )


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

#: Columns used when present, with their type when absent: ``first_postcode`` (the postcode
#: on the record's first version, so that a record updated after a move still shows where the
#: person lived before; records without it, FEBRL or made test records, are compared on their
#: one postcode) and ``record_updated_at`` (when the record's current version started: an
#: incremental run re-links a record whose version differs from the one it linked).
OPTIONAL_COLUMN_TYPES: dict[str, str] = {
    "first_postcode": "varchar",
    "record_updated_at": "timestamp",
}
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(OPTIONAL_COLUMN_TYPES)

#: The model the linked records are read from (the dbt Python model's `dbt.ref`).
RECORDS_MODEL = "int_person_records_unioned"


def column_lineage() -> dict[str, list[str]]:
    """The declared column lineage of the dbt Python model ``int_person_records_linked``.

    A Python model has no SQL to trace (``derived_tables.lineage``), so its lineage is declared
    here, beside the code it describes: the record's identifiers are copied through; the person
    (``person_id``, ``cluster_size``) comes from clustering on every compared column, the id
    being the ``record_key`` of the cluster's earliest-seen record (``record_first_seen_at``);
    ``match_probability`` is scored from the compared columns. Column -> ``model.column`` list.
    """
    copied = ("system", "record_id", "record_key", "record_updated_at")
    columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    compared = [
        c for c in columns if c not in ("record_key", "record_first_seen_at", "record_updated_at")
    ]
    every = [f"{RECORDS_MODEL}.{c}" for c in columns]
    return {
        **{c: [f"{RECORDS_MODEL}.{c}"] for c in copied},
        "person_id": every,
        "cluster_size": every,
        "match_probability": [f"{RECORDS_MODEL}.{c}" for c in compared],
        "best_link_record_key": [f"{RECORDS_MODEL}.{c}" for c in ("record_key", *compared)],
    }


log = logging.getLogger(__name__)


def _connection(threads: int, memory_limit: str, temp_directory: str | None) -> Any:
    config: dict[str, Any] = {
        "threads": threads,
        "memory_limit": memory_limit,
        "preserve_insertion_order": False,
    }
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = temp_directory
    return duckdb.connect(":memory:", config=config)


def _prepare(con: Any, records: pa.Table) -> None:
    """Load the records and the nickname table, and build the comparison-ready features."""
    missing = [c for c in REQUIRED_COLUMNS if c not in records.column_names]
    if missing:
        raise ValueError(f"person records lack columns: {', '.join(missing)}")
    nicknames = nickname_pairs()
    con.register("person_records_in", records)
    con.register("nicknames_in", nicknames)
    absent = "".join(
        f", null::{kind} as {c}"
        for c, kind in OPTIONAL_COLUMN_TYPES.items()
        if c not in records.column_names
    )
    con.execute(f"create table person_records as select *{absent} from person_records_in")
    con.execute("create table nicknames as select * from nicknames_in")
    con.unregister("person_records_in")
    con.unregister("nicknames_in")
    con.execute(f"create table person_features as {features_sql('duckdb')}")


@dataclass
class LinkageRun:
    """What one linkage run gives: one row per record (:func:`link_person_records`), the
    model it scored with, and (when asked for) every scored pair at or above
    :data:`SCORE_FLOOR` (``record_key_l``, ``record_key_r``, ``match_probability``)."""

    linked: pa.Table
    model: LinkageModel
    scored_pairs: pa.Table | None
    seconds: float


def link_person_records(
    records: pa.Table,
    *,
    threshold: float = MATCH_THRESHOLD,
    train: bool = True,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> pa.Table:
    """Link person records into people.

    ``records``: one row per system record with :data:`REQUIRED_COLUMNS` (the shape of the
    dbt model ``int_person_records_unioned``); ``record_key`` must be unique. The model's
    parameters are learnt from these records (:func:`fit_model`), or are the committed
    fallback when that fails or ``train`` is false.

    Returns one row per input record: ``system``, ``record_id``, ``record_key``, ``person_id``
    (the ``record_key`` of the cluster's earliest-seen record, ties broken by the smaller key,
    so a person keeps its id as newer records join it), ``match_probability`` (of the record's
    best scored link, null when no pair reached :data:`SCORE_FLOOR`), ``cluster_size``.
    """
    return link(
        records,
        threshold=threshold,
        train=train,
        threads=threads,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
    ).linked


def _count_unique_records(con: duckdb.DuckDBPyConnection) -> int:
    """The number of prepared person records; ValueError when a record_key repeats."""
    n_records = con.sql("select count(*) from person_features").fetchall()[0][0]
    n_keys = con.sql("select count(distinct record_key) from person_features").fetchall()[0][0]
    if n_keys != n_records:
        raise ValueError("record_key is not unique in the person records")
    return int(n_records)


def _score_and_cluster(
    con: duckdb.DuckDBPyConnection,
    model: LinkageModel | None,
    *,
    train: bool,
    threshold: float,
) -> LinkageModel:
    """Score the prepared records' candidate pairs with ``model`` (or one fitted here) into
    the table scored_pairs, and cluster them at ``threshold`` into clusters. Returns the
    model used."""
    from splink import DuckDBAPI

    db_api = DuckDBAPI(con)
    features = db_api.register("person_features", table_name="person_features_sdf")
    if model is None:
        model = fit_model(features, train=train)
    linker = _linker(features, model)
    predictions = linker.inference.predict(threshold_match_probability=SCORE_FLOOR)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    con.execute(
        "create table scored_pairs as select record_key_l, record_key_r,"
        f" match_probability from {predictions.physical_name}"
    )
    con.execute(
        f"create table clusters as select record_key, cluster_id from {clusters.physical_name}"
    )
    return model


def create_empty_pairs(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create ``table`` as a scored-pairs table without rows (nothing to score)."""
    con.execute(
        f"create table {table} as select null::varchar as record_key_l,"
        " null::varchar as record_key_r, null::double as match_probability limit 0"
    )


def link(
    records: pa.Table,
    *,
    threshold: float = MATCH_THRESHOLD,
    train: bool = True,
    keep_pairs: bool = False,
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
    model: LinkageModel | None = None,
) -> LinkageRun:
    """:func:`link_person_records`, also returning the model and (``keep_pairs``) the scored
    pairs, for evaluation and reports. With ``model``, scores with it instead of fitting one
    (``train`` is then ignored)."""
    started = time.perf_counter()
    con = _connection(threads, memory_limit, temp_directory)
    try:
        _prepare(con, records)
        if _count_unique_records(con) >= 2:
            model = _score_and_cluster(con, model, train=train, threshold=threshold)
        else:
            model = model or _fallback(0.0, "fewer than two records")
            create_empty_pairs(con, "scored_pairs")
            con.execute(
                "create table clusters as select record_key, record_key as cluster_id"
                " from person_features"
            )
        result = con.sql(result_sql("duckdb")).to_arrow_table()
        pairs = (
            con.sql(
                "select * from scored_pairs order by record_key_l, record_key_r"
            ).to_arrow_table()
            if keep_pairs
            else None
        )
    finally:
        con.close()
    seconds = time.perf_counter() - started
    log.info(
        "linked %d person records into %d people in %.1fs (%s parameters)",
        result.num_rows,
        len(set(result.column("person_id").to_pylist())),
        seconds,
        model.source,
    )
    return LinkageRun(result, model, pairs, seconds)


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


def anchors_sql(clusters: str, cluster_id: str, dialect: str = "duckdb") -> str:
    """CTE ``anchors``: per cluster of ``clusters`` (``record_key``, ``cluster_id``), its
    person (the ``record_key`` of its earliest-seen record of ``person_records``, ties broken
    by the smaller key, so a person keeps its id as newer records join it) and its size."""
    person_id = dialect_sql(
        "arg_min_pair",
        dialect,
        value="records.record_key",
        first="records.record_first_seen_at",
        second="records.record_key",
    )
    return f"""
anchors as (
    select
        {clusters}.{cluster_id} as cluster_id,
        {person_id} as person_id,
        count(*) as cluster_size
    from {clusters}
    inner join person_records as records
        on {clusters}.record_key = records.record_key
    group by {clusters}.{cluster_id}
)"""


def link_ends_sql(pairs: str) -> str:
    """CTE ``link_ends``: each scored pair of ``pairs`` from both of its records' sides."""
    return f"""
link_ends as (
    select
        record_key_l as record_key,
        record_key_r as other_record_key,
        match_probability
    from {pairs}
    union all
    select
        record_key_r as record_key,
        record_key_l as other_record_key,
        match_probability
    from {pairs}
)"""


def best_links_sql(links: str, dialect: str = "duckdb") -> str:
    """CTE ``best_links``: per record of ``links`` (``record_key``, ``other_record_key``,
    ``match_probability``), its best link (the smaller key on a tie)."""
    best = dialect_sql(
        "first_by_desc_asc",
        dialect,
        value="other_record_key",
        desc="match_probability",
        asc="other_record_key",
    )
    return f"""
best_links as (
    select
        record_key,
        max(match_probability) as match_probability,
        {best} as best_link_record_key
    from {links}
    group by record_key
)"""


def result_sql(dialect: str = "duckdb") -> str:
    """One row per record of ``person_records``: its person (the anchor record of its cluster
    in ``clusters``), the cluster size and the probability of its best link in
    ``scored_pairs``, in ``dialect``'s SQL."""
    return f"""
with
{anchors_sql("clusters", "cluster_id", dialect)},
{link_ends_sql("scored_pairs")},
{best_links_sql("link_ends", dialect)}

select
    records.system,
    records.record_id,
    records.record_key,
    anchors.person_id,
    best_links.match_probability,
    best_links.best_link_record_key,
    cast(anchors.cluster_size as integer) as cluster_size,
    records.record_updated_at
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
    threads: int = 2,
    memory_limit: str = "4GB",
    temp_directory: str | None = None,
) -> LinkageModel:
    """The model the build would learn from ``records`` (or its fallback, saying why)."""
    from splink import DuckDBAPI

    con = _connection(threads, memory_limit, temp_directory)
    try:
        _prepare(con, records)
        db_api = DuckDBAPI(con)
        features = db_api.register("person_features", table_name="person_features_sdf")
        return fit_model(features)
    finally:
        con.close()


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
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "evaluate": _evaluate_command,
        "train": _train_command,
        "report": _report_command,
        "febrl": _febrl_command,
    }
    return commands[args.command](args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derived linkage",
        description="Person linkage helpers: measure quality, re-estimate parameters.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser(
        "evaluate", help="pairwise precision, recall and F1 of a warehouse's linkage"
    )
    evaluate.add_argument("--warehouse", type=Path, required=True, help="DuckDB file")
    reference = evaluate.add_mutually_exclusive_group(required=True)
    reference.add_argument("--truth", type=Path, help="person_truth.parquet of the same data")
    reference.add_argument(
        "--against",
        type=Path,
        help="another warehouse (DuckDB file) whose linkage is taken as the reference, for"
        " example a full refresh to measure an incremental linkage against",
    )
    evaluate.add_argument(
        "--relation", default="intermediate.int_person_records_linked", help="linked records"
    )

    train = commands.add_parser(
        "train", help="the m/u parameters the build would learn from a warehouse's records"
    )
    train.add_argument("--warehouse", type=Path, required=True, help="DuckDB file")
    train.add_argument(
        "--relation",
        default="intermediate.int_person_records_unioned",
        help="the unioned person records",
    )

    report = commands.add_parser(
        "report",
        help="HTML report: match weights per comparison level, precision/recall vs threshold",
    )
    report.add_argument("--warehouse", type=Path, required=True, help="DuckDB file")
    report.add_argument(
        "--truth", type=Path, required=True, help="person_truth.parquet of the same data"
    )
    report.add_argument(
        "--relation",
        default="intermediate.int_person_records_unioned",
        help="the unioned person records",
    )
    report.add_argument(
        "--out", type=Path, default=Path("target/linkage"), help="folder of the report"
    )

    commands.add_parser(
        "febrl",
        help="link the FEBRL4 and FEBRL3 benchmarks (and Splink's FEBRL4 example beside)",
    )
    return parser


def _febrl_command(args: argparse.Namespace) -> int:
    from derived_tables import febrl

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    febrl.run_all(log=print)
    return 0


def _report_command(args: argparse.Namespace) -> int:
    from derived_tables.linkage_report import write_report

    paths = write_report(
        _read_records(args.warehouse, args.relation), read_truth(args.truth), args.out
    )
    for path in paths.values():
        print(path)
    return 0


def _evaluate_command(args: argparse.Namespace) -> int:
    if args.against:
        quality = pairwise_quality(
            read_linked(args.warehouse, args.relation),
            read_linked(args.against, args.relation),
        )
    else:
        quality = evaluate_warehouse(args.warehouse, args.truth, args.relation)
    for name, value in quality.as_dict().items():
        shown = f"{value:.4f}" if isinstance(value, float) else f"{value:,}"
        print(f"{name:>17}  {shown}")
    return 0


def _train_command(args: argparse.Namespace) -> int:
    model = train_parameters(_read_records(args.warehouse, args.relation))
    print(f"{model.source} parameters ({model.reason})")
    print(f"probability_two_random_records_match {model.probability_two_random_records_match}")
    for comparison, levels in model.parameters.items():
        print(comparison)
        for m, u in levels:
            print(f"    m={m:>12.6g}  u={u:>12.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
