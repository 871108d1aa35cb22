"""The curated-table contract (docs/curated-schema.md) as data: systems, tables, columns, types.

Every table the generator writes is declared here once; the writer casts each generated table to
exactly this Arrow schema, so a column renamed or retyped by mistake fails loudly at generation
time instead of silently in a dbt source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

VARCHAR = pa.string()
DATE = pa.date32()
TIMESTAMP = pa.timestamp("us")
INTEGER = pa.int32()
MONEY = pa.decimal128(12, 2)
BOOLEAN = pa.bool_()

TableKind = Literal["versioned", "append-only"]

VERSION_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("_valid_from", TIMESTAMP),
    ("_valid_to", TIMESTAMP),
    ("_is_current", BOOLEAN),
    ("_is_deleted", BOOLEAN),
)
EXTRACTED_AT: tuple[str, pa.DataType] = ("_extracted_at", TIMESTAMP)


@dataclass(frozen=True)
class TableSpec:
    """One curated table: where it lives, its kind, natural key and business columns."""

    system: str
    name: str
    kind: TableKind
    key: str
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def qualified_name(self) -> str:
        """``<system>.<table>``, the name used in the manifest and in messages."""
        return f"{self.system}.{self.name}"

    @property
    def is_versioned(self) -> bool:
        """True for mutable entities that keep every version."""
        return self.kind == "versioned"

    @property
    def arrow_schema(self) -> pa.Schema:
        """Business columns, then the history columns (versioned only), then ``_extracted_at``."""
        fields = list(self.columns)
        if self.is_versioned:
            fields.extend(VERSION_COLUMNS)
        fields.append(EXTRACTED_AT)
        return pa.schema([pa.field(name, dtype) for name, dtype in fields])


def _spec(
    system: str, name: str, kind: TableKind, key: str, *columns: tuple[str, pa.DataType]
) -> TableSpec:
    return TableSpec(system=system, name=name, kind=kind, key=key, columns=tuple(columns))


TABLES: tuple[TableSpec, ...] = (
    # common_platform: criminal courts
    _spec(
        "common_platform",
        "defendants",
        "versioned",
        "defendant_id",
        ("defendant_id", VARCHAR),
        ("pnc_id", VARCHAR),
        ("first_name", VARCHAR),
        ("last_name", VARCHAR),
        ("date_of_birth", DATE),
        ("gender_code", VARCHAR),
        ("postcode", VARCHAR),
    ),
    _spec(
        "common_platform",
        "cases",
        "versioned",
        "case_id",
        ("case_id", VARCHAR),
        ("case_urn", VARCHAR),
        ("defendant_id", VARCHAR),
        ("court_code", VARCHAR),
        ("case_status_code", VARCHAR),
        ("charge_date", DATE),
        ("completed_date", DATE),
    ),
    _spec(
        "common_platform",
        "case_offences",
        "append-only",
        "case_offence_id",
        ("case_offence_id", VARCHAR),
        ("case_id", VARCHAR),
        ("offence_sequence", INTEGER),
        ("offence_code", VARCHAR),
        ("offence_date", DATE),
    ),
    _spec(
        "common_platform",
        "hearings",
        "append-only",
        "hearing_id",
        ("hearing_id", VARCHAR),
        ("case_id", VARCHAR),
        ("court_code", VARCHAR),
        ("hearing_type_code", VARCHAR),
        ("hearing_status_code", VARCHAR),
        ("hearing_date", DATE),
        ("listed_minutes", INTEGER),
    ),
    _spec(
        "common_platform",
        "outcomes",
        "append-only",
        "outcome_id",
        ("outcome_id", VARCHAR),
        ("case_offence_id", VARCHAR),
        ("verdict_code", VARCHAR),
        ("disposal_code", VARCHAR),
        ("sentence_length_days", INTEGER),
        ("fine_amount", MONEY),
        ("outcome_date", DATE),
    ),
    # nomis: prisons
    _spec(
        "nomis",
        "establishments",
        "versioned",
        "establishment_code",
        ("establishment_code", VARCHAR),
        ("operational_capacity", INTEGER),
        ("certified_normal_accommodation", INTEGER),
        ("security_category_code", VARCHAR),
        ("is_operational", BOOLEAN),
    ),
    _spec(
        "nomis",
        "offenders",
        "versioned",
        "prison_number",
        ("prison_number", VARCHAR),
        ("pnc_id", VARCHAR),
        ("first_name", VARCHAR),
        ("last_name", VARCHAR),
        ("date_of_birth", DATE),
        ("gender_code", VARCHAR),
        ("postcode", VARCHAR),
        ("security_category_code", VARCHAR),
    ),
    _spec(
        "nomis",
        "bookings",
        "versioned",
        "booking_id",
        ("booking_id", VARCHAR),
        ("prison_number", VARCHAR),
        ("establishment_code", VARCHAR),
        ("booking_status_code", VARCHAR),
        ("booking_start_date", DATE),
        ("booking_end_date", DATE),
    ),
    _spec(
        "nomis",
        "movements",
        "append-only",
        "movement_id",
        ("movement_id", VARCHAR),
        ("booking_id", VARCHAR),
        ("prison_number", VARCHAR),
        ("movement_type_code", VARCHAR),
        ("movement_reason_code", VARCHAR),
        ("from_establishment_code", VARCHAR),
        ("to_establishment_code", VARCHAR),
        ("movement_at", TIMESTAMP),
    ),
    _spec(
        "nomis",
        "sentences",
        "versioned",
        "sentence_id",
        ("sentence_id", VARCHAR),
        ("booking_id", VARCHAR),
        ("offence_code", VARCHAR),
        ("sentence_type_code", VARCHAR),
        ("sentence_start_date", DATE),
        ("sentence_length_days", INTEGER),
        ("conditional_release_date", DATE),
    ),
    # delius: probation
    _spec(
        "delius",
        "offenders",
        "versioned",
        "crn",
        ("crn", VARCHAR),
        ("pnc_id", VARCHAR),
        ("first_name", VARCHAR),
        ("last_name", VARCHAR),
        ("date_of_birth", DATE),
        ("gender_code", VARCHAR),
        ("postcode", VARCHAR),
        ("pdu_code", VARCHAR),
    ),
    _spec(
        "delius",
        "events",
        "versioned",
        "event_id",
        ("event_id", VARCHAR),
        ("crn", VARCHAR),
        ("order_type_code", VARCHAR),
        ("offence_code", VARCHAR),
        ("sentencing_court_code", VARCHAR),
        ("release_establishment_code", VARCHAR),
        ("pdu_code", VARCHAR),
        ("event_status_code", VARCHAR),
        ("order_start_date", DATE),
        ("expected_end_date", DATE),
        ("order_length_days", INTEGER),
    ),
    _spec(
        "delius",
        "requirements",
        "append-only",
        "requirement_id",
        ("requirement_id", VARCHAR),
        ("event_id", VARCHAR),
        ("requirement_type_code", VARCHAR),
        ("length_value", INTEGER),
        ("length_unit", VARCHAR),
        ("requirement_start_date", DATE),
    ),
    _spec(
        "delius",
        "terminations",
        "append-only",
        "termination_id",
        ("termination_id", VARCHAR),
        ("event_id", VARCHAR),
        ("termination_reason_code", VARCHAR),
        ("termination_date", DATE),
    ),
    # sirius: Office of the Public Guardian
    _spec(
        "sirius",
        "lpa_applications",
        "versioned",
        "lpa_id",
        ("lpa_id", VARCHAR),
        ("donor_id", VARCHAR),
        ("donor_first_name", VARCHAR),
        ("donor_last_name", VARCHAR),
        ("donor_date_of_birth", DATE),
        ("donor_postcode", VARCHAR),
        ("lpa_type_code", VARCHAR),
        ("channel_code", VARCHAR),
        ("status_code", VARCHAR),
        ("received_date", DATE),
        ("registered_date", DATE),
        ("rejected_date", DATE),
        ("withdrawn_date", DATE),
    ),
    _spec(
        "sirius",
        "attorneys",
        "append-only",
        "attorney_id",
        ("attorney_id", VARCHAR),
        ("lpa_id", VARCHAR),
        ("attorney_role_code", VARCHAR),
        ("decision_type_code", VARCHAR),
        ("first_name", VARCHAR),
        ("last_name", VARCHAR),
        ("date_of_birth", DATE),
        ("postcode", VARCHAR),
    ),
)

TABLES_BY_NAME: dict[str, TableSpec] = {spec.qualified_name: spec for spec in TABLES}

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("person_id", VARCHAR, nullable=False),
        pa.field("system", VARCHAR, nullable=False),
        pa.field("record_id", VARCHAR, nullable=False),
    ]
)


def spec(qualified_name: str) -> TableSpec:
    """The spec of ``<system>.<table>``; ``KeyError`` for a table not in the contract."""
    return TABLES_BY_NAME[qualified_name]
