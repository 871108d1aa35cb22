"""The generator stays in units a reader can hold (issue 14).

Every function and method of ``src/derived_tables/generator/`` fits in about a screen
(:data:`MAX_FUNCTION_LINES`, docstring included), and the simulated cases travel between modules
as the typed records of ``generator/cases.py``, never as a dictionary read by string key.
A failure names the function, its file and line, and its length.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "src" / "derived_tables" / "generator"
MAX_FUNCTION_LINES = 65


def _functions() -> list[tuple[str, int, str, int]]:
    """(file, line, name, length) of every function and method of the generator."""
    found = []
    for path in sorted(GENERATOR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((path.name, node.lineno, node.name, length))
    return found


def test_the_generator_has_functions() -> None:
    assert len(_functions()) > 100  # the scan reads the real modules


def test_no_generator_function_is_longer_than_a_screen() -> None:
    long = [
        f"{file}:{line} {name}() is {length} lines"
        for file, line, name, length in _functions()
        if length > MAX_FUNCTION_LINES
    ]
    assert not long, (
        f"generator functions over {MAX_FUNCTION_LINES} lines; split them into named steps "
        f"(keep the random draws in the same order: .ci/generator_checksums.py): {long}"
    )


def test_cases_are_read_by_field_not_by_string_key() -> None:
    string_keyed = re.compile(r"\b(c|cases)\[\s*[\"']")
    hits = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(GENERATOR.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if string_keyed.search(line)
    ]
    assert not hits, f"cases read by string key (use the fields of cases.Cases): {hits}"
