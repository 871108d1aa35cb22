"""The pseudonymise() macro is a real HMAC-SHA256: dbt output equals Python's hmac module.

Each test runs the project's own macros/pseudonymise.sql through dbt against DuckDB, in a tiny
throw-away dbt project (named derived_tables, so the macro's adapter.dispatch namespace resolves),
and compares every pseudonym with hmac.new(key, value, hashlib.sha256).hexdigest().
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MACRO = PROJECT_ROOT / "macros" / "pseudonymise.sql"
DBT = Path(sys.executable).parent / "dbt"
DEV_DEFAULT_KEY = "dev-only-not-secret-derived-tables-pseudonymisation-key"
KEY_VAR = "DERIVED_PSEUDONYMISATION_KEY"


def _messages() -> list[str]:
    rng = random.Random(20240131)
    alphabet = "abcXYZ019 -'\"\\\t\né中ßΩ😀\u200d"
    fixed = [
        "",
        "a",
        " ",
        "A1234BC",
        "CPD000000123",
        "2019/0123456X",
        "Zoë Ó Súilleabháin",
        "李小龙",
        "👩\u200d⚖️",
        "O'Brien",
        "back\\slash",
        "line\nbreak\ttab",
        "x" * 55,  # SHA-256 padding boundaries: 55, 56 and 64 byte inner messages
        "x" * 56,
        "x" * 64,
        "y" * 10_000,
        "é" * 5_000,
    ]
    randoms = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))) for _ in range(300)
    ]
    return fixed + randoms


ASCII_FOR_NORMALISING = [" ab12 ", "AB12", "  smith", "Smith  ", "mixed Case 7"]
MESSAGES = _messages() + ASCII_FOR_NORMALISING


def _hmac(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pseudonymise_project")
    _write(
        root / "dbt_project.yml",
        """
        name: derived_tables
        version: "1.0.0"
        config-version: 2
        profile: pseudonymise_test
        flags:
          send_anonymous_usage_stats: false
        models:
          derived_tables:
            +materialized: table
        """,
    )
    _write(
        root / "profiles.yml",
        """
        pseudonymise_test:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('DERIVED_WAREHOUSE') }}"
              threads: 1
            prod:
              type: duckdb
              path: "{{ env_var('DERIVED_WAREHOUSE') }}"
              threads: 1
        """,
    )
    (root / "macros").mkdir()
    shutil.copy(MACRO, root / "macros" / "pseudonymise.sql")
    _write(
        root / "models" / "sources.yml",
        """
        sources:
          - name: inputs
            schema: main
            tables:
              - name: messages
        """,
    )
    _write(
        root / "models" / "digests.sql",
        """
        select
            id,
            {{ pseudonymise('msg') }} as digest,
            {{ pseudonymise('msg', trim=true, upper=true) }} as digest_normalised,
            {{ pseudonymise('id') }} as id_digest,
            {{ pseudonymise('day') }} as day_digest
        from {{ source('inputs', 'messages') }}
        """,
    )
    return root


def _seed_inputs(warehouse: Path) -> None:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    rows = [(i, m, date(2020, 1, 1 + i % 28)) for i, m in enumerate(MESSAGES)]
    rows += [(len(rows), None, None)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table main.messages (id integer, msg varchar, day date)")
        con.executemany("insert into main.messages values (?, ?, ?)", rows)


def _run_dbt(
    project: Path,
    warehouse: Path,
    key: str | None,
    target: str = "dev",
    command: tuple[str, ...] = ("run",),
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBT_", "DERIVED_"))  # the Makefile exports DBT_PROFILES_DIR etc.
    }
    env.update(DO_NOT_TRACK="1", DERIVED_WAREHOUSE=str(warehouse))
    if key is not None:
        env[KEY_VAR] = key
    return subprocess.run(
        [
            str(DBT),
            *command,
            "--no-partial-parse",
            "--target",
            target,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


Digests = dict[int, tuple]


@pytest.fixture(scope="module")
def digests_for(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str | None], Digests]:
    """Runs the model once per key (memoised: each dbt run takes seconds)."""
    cache: dict[str | None, Digests] = {}

    def digests(key: str | None) -> Digests:
        if key not in cache:
            warehouse = tmp_path_factory.mktemp("digests") / "warehouse.duckdb"
            _seed_inputs(warehouse)
            result = _run_dbt(project, warehouse, key)
            assert result.returncode == 0, result.stdout + result.stderr
            with duckdb.connect(str(warehouse), read_only=True) as con:
                rows = con.execute(
                    "select id, digest, digest_normalised, id_digest, day_digest from main.digests"
                ).fetchall()
            cache[key] = {row[0]: row[1:] for row in rows}
        return cache[key]

    return digests


KEYS = {
    "short": "k",
    "exactly-one-block": "K" * 64,
    "longer-than-block-is-hashed": "K" * 65,
    "unicode-200-bytes": "ключ-" * 20,
    "quotes-and-backslash": 'it\'s a "quoted" \\ key',
}


@pytest.mark.parametrize("key", list(KEYS.values()), ids=list(KEYS))
def test_sql_hmac_equals_python_hmac(
    digests_for: Callable[[str | None], Digests], key: str
) -> None:
    digests = digests_for(key)
    assert len(digests) == len(MESSAGES) + 1
    mismatches = [
        (i, message[:40])
        for i, message in enumerate(MESSAGES)
        if digests[i][0] != _hmac(key, message)
    ]
    assert not mismatches, f"{len(mismatches)} pseudonyms differ from Python's hmac: {mismatches}"
    for i in range(len(MESSAGES)):
        day = date(2020, 1, 1 + i % 28)
        assert digests[i][2] == _hmac(key, str(i))  # integers hash as their text
        assert digests[i][3] == _hmac(key, day.isoformat())  # dates as ISO text
    for message in ASCII_FOR_NORMALISING:
        i = MESSAGES.index(message)
        assert digests[i][1] == _hmac(key, message.strip(" ").upper())
    assert digests[len(MESSAGES)] == (None, None, _hmac(key, str(len(MESSAGES))), None)


def test_normalising_makes_spacing_and_case_irrelevant(
    digests_for: Callable[[str | None], Digests],
) -> None:
    digests = digests_for(KEYS["short"])
    by_message = {m: digests[i] for i, m in enumerate(MESSAGES)}
    assert by_message[" ab12 "][1] == by_message["AB12"][1] == _hmac("k", "AB12")
    assert by_message[" ab12 "][0] != by_message["AB12"][0]


def test_unset_key_uses_the_labelled_dev_default_on_dev(
    digests_for: Callable[[str | None], Digests],
) -> None:
    digests = digests_for(None)
    assert all(digests[i][0] == _hmac(DEV_DEFAULT_KEY, m) for i, m in enumerate(MESSAGES))
    assert DEV_DEFAULT_KEY in MACRO.read_text(encoding="utf-8")


def test_different_keys_give_different_pseudonyms(
    digests_for: Callable[[str | None], Digests],
) -> None:
    first, second = digests_for(KEYS["short"]), digests_for(KEYS["exactly-one-block"])
    assert all(first[i][0] != second[i][0] for i in range(len(MESSAGES)))


@pytest.mark.parametrize("key", [None, ""])
def test_default_key_is_refused_outside_dev_and_ci(
    project: Path, tmp_path: Path, key: str | None
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    _seed_inputs(warehouse)
    result = _run_dbt(project, warehouse, key, target="prod")
    assert result.returncode != 0
    assert f"{KEY_VAR} is not set" in result.stdout + result.stderr


@pytest.mark.parametrize(("key", "warned"), [(None, True), ("", True), ("real-key", False)])
def test_run_start_warning_only_with_the_dev_default(
    project: Path, tmp_path: Path, key: str | None, warned: bool
) -> None:
    operation = ("run-operation", "warn_if_default_pseudonymisation_key")
    result = _run_dbt(project, tmp_path / "w.duckdb", key, command=operation)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("public development key" in result.stdout) is warned


def test_run_start_check_fails_fast_outside_dev(project: Path, tmp_path: Path) -> None:
    operation = ("run-operation", "warn_if_default_pseudonymisation_key")
    result = _run_dbt(project, tmp_path / "w.duckdb", None, target="prod", command=operation)
    assert result.returncode != 0
    assert f"{KEY_VAR} is not set" in result.stdout + result.stderr
