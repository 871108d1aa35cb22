"""No personal data in clear in the marts: a strict check of the dbt manifest.

The rule, for every model under models/marts/ (analysts' tables):
1. Its contract is enforced, so the documented columns are exactly the columns it exposes
   (otherwise the check below could miss an undocumented column).
2. A column is personal data when its name matches one of the explicit patterns below, or when
   it is tagged `meta: {personal_data: true}`.
3. Direct personal attributes (names, exact dates of birth, full postcodes, addresses, contact
   details) never reach a mart, not even pseudonymised: use year of birth, age band, postcode
   area or region instead.
4. Any other personal column (an identifier of a person) must be tagged
   `meta: {personal_data: true, pseudonymised: true}`; tagged but not pseudonymised fails.
5. A column tagged `pseudonymised: true` must be computed by the `pseudonymise` macro in the
   model itself or upstream of it (so the tag cannot simply be asserted).
Every failure names the model's file, the model and the column.

The real manifest comes from `dbt parse` on the project (no data needed). While no mart exists
the check passes vacuously; every mart added later must keep it passing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "derived_tables"
MARTS_PATH = "models/marts/"
PSEUDONYMISE_MACRO = f"macro.{PROJECT_NAME}.pseudonymise"

# Direct personal attributes: never in a mart, pseudonymised or not.
FORBIDDEN_PATTERNS: dict[str, str] = {
    "a name": (
        r"(^|_)(first|last|middle|given|family|full|fore|sur|maiden|alias|nick)_?names?($|_)"
        r"|(^|_)(forenames?|surname)($|_)"
    ),
    "an exact date of birth": r"(^|_)(date_of_birth|dob|birth_date)($|_)",
    "a full postcode": r"(^|_)post_?code(?!_area)($|_)",
    "an address": r"(^|_)(address|street|house_number)($|_)",
    "contact details": r"(^|_)(e?mail|email_address|phone|telephone|mobile)($|_)",
}

# Identifiers of a person: allowed in a mart only pseudonymised (and tagged so).
IDENTIFIER_PATTERNS: dict[str, str] = {
    "pnc_id": r"(^|_)pnc(_id|_number)?($|_)",
    "prison_number": r"(^|_)(prison_number|noms_(id|number)|offender_no)($|_)",
    "crn": r"(^|_)crn($|_)",
    "defendant_id": r"(^|_)defendant_id($|_)",
    "donor_id": r"(^|_)donor_id($|_)",
    "attorney_id": r"(^|_)attorney_id($|_)",
    "person_id": r"(^|_)person_id($|_)",
    "national insurance number": r"(^|_)(nino|national_insurance(_number)?)($|_)",
    "nhs_number": r"(^|_)nhs_(number|no)($|_)",
    "passport or licence number": r"(^|_)(passport|driving_licence)(_number)?($|_)",
}


@dataclass(frozen=True)
class Violation:
    path: str
    model: str
    column: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: model {self.model}, column {self.column}: {self.problem}"


def classify(column: str) -> tuple[str, str] | None:
    """('forbidden' | 'identifier', what) for a personal-data column name, else None."""
    name = column.lower()
    for what, pattern in FORBIDDEN_PATTERNS.items():
        if re.search(pattern, name):
            return "forbidden", what
    for what, pattern in IDENTIFIER_PATTERNS.items():
        if re.search(pattern, name):
            return "identifier", what
    return None


def _meta(column: Mapping[str, Any]) -> dict[str, Any]:
    """Column meta from either place dbt keeps it (`meta:` or `config: {meta:}`)."""
    meta: dict[str, Any] = {}
    meta.update(column.get("meta") or {})
    meta.update((column.get("config") or {}).get("meta") or {})
    return meta


def _is_mart(node: Mapping[str, Any]) -> bool:
    return (
        node.get("resource_type") == "model"
        and node.get("package_name") == PROJECT_NAME
        and str(node.get("original_file_path", "")).replace(os.sep, "/").startswith(MARTS_PATH)
    )


def _calls_pseudonymise(manifest: Mapping[str, Any], unique_id: str) -> bool:
    """True when the model or any model upstream of it uses the pseudonymise macro."""
    nodes = manifest.get("nodes", {})
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        depends_on = nodes[current].get("depends_on") or {}
        if PSEUDONYMISE_MACRO in (depends_on.get("macros") or []):
            return True
        stack.extend(depends_on.get("nodes") or [])
    return False


def find_violations(manifest: Mapping[str, Any]) -> list[Violation]:
    """Every breach of the personal-data rule by a mart model in a dbt manifest."""
    violations: list[Violation] = []
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        if not _is_mart(node):
            continue
        path, model = node["original_file_path"], node["name"]

        def flag(column: str, problem: str, path: str = path, model: str = model) -> None:
            violations.append(Violation(path, model, column, problem))

        contract = (node.get("config") or {}).get("contract") or {}
        if not contract.get("enforced"):
            flag(
                "*",
                "contract not enforced, so its exposed columns cannot be checked for personal "
                "data (set config: contract: {enforced: true} and document every column)",
            )
        for column_name, column in sorted((node.get("columns") or {}).items()):
            name = column.get("name") or column_name
            meta = _meta(column)
            tagged_personal = meta.get("personal_data") is True
            tagged_pseudonymised = meta.get("pseudonymised") is True
            found = classify(name)
            if found and found[0] == "forbidden":
                flag(
                    name,
                    f"holds {found[1]}, which never reaches a mart, even pseudonymised "
                    "(use year of birth, age band, postcode area or region)",
                )
                continue
            if found and not tagged_personal:
                flag(
                    name,
                    f"holds personal data ({found[1]}) but is not tagged "
                    "meta: {personal_data: true, pseudonymised: true}",
                )
            elif (found or tagged_personal) and not tagged_pseudonymised:
                flag(
                    name,
                    "is personal data but not pseudonymised (needs pseudonymise() and "
                    "meta: {personal_data: true, pseudonymised: true})",
                )
            if tagged_pseudonymised and not tagged_personal:
                flag(name, "tagged pseudonymised: true without personal_data: true")
            if tagged_pseudonymised and not _calls_pseudonymise(manifest, unique_id):
                flag(
                    name,
                    "tagged pseudonymised: true but neither the model nor any model upstream "
                    "calls the pseudonymise macro",
                )
    return violations


def _report(violations: Iterable[Violation]) -> str:
    lines = [str(v) for v in violations]
    return f"{len(lines)} personal-data violation(s) in marts:\n" + "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The real project
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`dbt parse` of the real project into a private target path (no data, no warehouse)."""
    out = tmp_path_factory.mktemp("parse")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(DO_NOT_TRACK="1", DERIVED_WAREHOUSE=str(out / "unused.duckdb"))
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            "parse",
            "--no-partial-parse",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(out / "target"),
            "--log-path",
            str(out / "logs"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"dbt parse failed:\n{result.stdout}\n{result.stderr}"
    return json.loads((out / "target" / "manifest.json").read_text(encoding="utf-8"))


def test_real_marts_expose_no_personal_data_in_clear(real_manifest: dict[str, Any]) -> None:
    assert real_manifest["metadata"]["project_name"] == PROJECT_NAME
    violations = find_violations(real_manifest)
    assert not violations, _report(violations)


# ---------------------------------------------------------------------------------------------
# The checking function, on synthetic manifests
# ---------------------------------------------------------------------------------------------


def _column(name: str, **meta: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "meta": meta, "data_type": "varchar"}


def _model(
    name: str,
    folder: str,
    columns: list[dict[str, Any]],
    *,
    enforced: bool = True,
    macros: list[str] | None = None,
    parents: list[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    unique_id = f"model.{PROJECT_NAME}.{name}"
    return unique_id, {
        "resource_type": "model",
        "package_name": PROJECT_NAME,
        "name": name,
        "original_file_path": f"models/{folder}/{name}.sql",
        "config": {"contract": {"enforced": enforced}},
        "columns": {c["name"]: c for c in columns},
        "depends_on": {"macros": macros or [], "nodes": parents or []},
    }


def _manifest(*models: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"project_name": PROJECT_NAME}, "nodes": dict(models)}


PSEUDONYMISED = {"personal_data": True, "pseudonymised": True}


def test_clean_mart_passes() -> None:
    manifest = _manifest(
        _model(
            "dim_person",
            "marts/common",
            [
                _column("person_key"),
                _column("pnc_id_pseudonym", **PSEUDONYMISED),
                _column("year_of_birth"),
                _column("age_band"),
                _column("postcode_area"),
                _column("region_code"),
            ],
            macros=[PSEUDONYMISE_MACRO],
        )
    )
    assert find_violations(manifest) == []


def test_untagged_identifier_fails_naming_model_and_column() -> None:
    manifest = _manifest(
        _model("fct_prison_movements", "marts/prisons", [_column("prison_number")])
    )
    violations = find_violations(manifest)
    assert [(v.model, v.column) for v in violations] == [("fct_prison_movements", "prison_number")]
    message = _report(violations)
    assert "models/marts/prisons/fct_prison_movements.sql" in message
    assert "fct_prison_movements" in message and "prison_number" in message
    assert "not tagged" in message


def test_tagged_but_not_pseudonymised_fails() -> None:
    manifest = _manifest(
        _model(
            "fct_case_outcomes",
            "marts/courts",
            [_column("defendant_id", personal_data=True, pseudonymised=False)],
            macros=[PSEUDONYMISE_MACRO],
        )
    )
    violations = find_violations(manifest)
    assert [(v.column, "not pseudonymised" in v.problem) for v in violations] == [
        ("defendant_id", True)
    ]


def test_personal_data_tag_alone_makes_any_column_personal() -> None:
    manifest = _manifest(
        _model("fct_lpa_applications", "marts/opg", [_column("case_ref", personal_data=True)])
    )
    assert [v.column for v in find_violations(manifest)] == ["case_ref"]


@pytest.mark.parametrize(
    "column",
    ["first_name", "donor_last_name", "attorney_first_name", "surname", "date_of_birth",
     "donor_date_of_birth", "postcode", "donor_postcode", "postcode_district"],
)  # fmt: skip
def test_direct_attributes_fail_even_when_pseudonymised(column: str) -> None:
    manifest = _manifest(
        _model(
            "dim_person",
            "marts/common",
            [_column(column, **PSEUDONYMISED)],
            macros=[PSEUDONYMISE_MACRO],
        )
    )
    violations = find_violations(manifest)
    assert len(violations) == 1
    assert violations[0].column == column and "never reaches a mart" in violations[0].problem


def test_pseudonymised_tag_must_be_backed_by_the_macro() -> None:
    without = _model("dim_person", "marts/common", [_column("crn", **PSEUDONYMISED)])
    problems = [v.problem for v in find_violations(_manifest(without))]
    assert len(problems) == 1 and "calls the pseudonymise macro" in problems[0]

    upstream = _model("int_persons", "intermediate/people", [], macros=[PSEUDONYMISE_MACRO])
    via_parent = _model(
        "dim_person",
        "marts/common",
        [_column("crn", **PSEUDONYMISED)],
        parents=[upstream[0]],
    )
    assert find_violations(_manifest(upstream, via_parent)) == []


def test_mart_without_enforced_contract_fails() -> None:
    manifest = _manifest(_model("dim_court", "marts/common", [], enforced=False))
    violations = find_violations(manifest)
    assert len(violations) == 1 and "contract not enforced" in violations[0].problem


def test_only_marts_are_checked() -> None:
    staging = _model(
        "stg_nomis__offenders",
        "staging/nomis",
        [_column("first_name"), _column("prison_number")],
        enforced=False,
    )
    assert find_violations(_manifest(staging)) == []


def test_meta_under_config_is_read() -> None:
    column = {"name": "donor_id", "config": {"meta": PSEUDONYMISED}}
    model = _model("fct_lpa_applications", "marts/opg", [], macros=[PSEUDONYMISE_MACRO])
    model[1]["columns"] = {"donor_id": column}
    assert find_violations(_manifest(model)) == []


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("pnc_id", "identifier"),
        ("pnc_id_pseudonym", "identifier"),
        ("prison_number", "identifier"),
        ("crn", "identifier"),
        ("offender_crn", "identifier"),
        ("defendant_id", "identifier"),
        ("donor_id", "identifier"),
        ("attorney_id", "identifier"),
        ("person_id", "identifier"),
        ("FIRST_NAME", "forbidden"),
        ("forenames", "forbidden"),
        ("attorney_last_name", "forbidden"),
        ("dob", "forbidden"),
        ("email_address", "forbidden"),
        ("postcode_area", None),
        ("postcode_area_name", None),
        ("year_of_birth", None),
        ("age_band", None),
        ("person_key", None),
        ("court_name", None),
        ("offence_description", None),
        ("lpa_id", None),
        ("case_id", None),
        ("booking_id", None),
    ],
)
def test_name_patterns(column: str, expected: str | None) -> None:
    found = classify(column)
    assert (found[0] if found else None) == expected


def test_catalogue_says_which_relations_hold_personal_data(real_manifest: dict[str, Any]) -> None:
    """Every model and seed says `meta.personal_data` (shown in the catalogue) and whether it
    is published; nothing `direct` is published; a mart with pseudonymised person columns
    says `pseudonymised`."""
    problems = []
    for unique_id, node in real_manifest["nodes"].items():
        if node.get("resource_type") not in ("model", "seed"):
            continue
        meta = node.get("config", {}).get("meta") or {}
        level, published = meta.get("personal_data"), meta.get("published")
        if level not in ("direct", "pseudonymised", "none") or not isinstance(published, bool):
            problems.append(f"{unique_id}: personal_data={level!r}, published={published!r}")
        elif published and level == "direct":
            problems.append(f"{unique_id}: published with personal_data direct")
        pseudonymised = any(_meta(c).get("pseudonymised") for c in node["columns"].values())
        if _is_mart(node) and pseudonymised and level != "pseudonymised":
            problems.append(f"{unique_id}: pseudonymised columns, personal_data={level!r}")
        if node["path"].startswith(("staging/", "intermediate/")) and published is not False:
            problems.append(f"{unique_id}: staging and intermediate are never published")
    assert problems == []
