"""Identifier formats, built without a Python loop per row.

Entities are numbered ``0, 1, 2, ...`` in generation order; the formatters scramble a number with
an affine permutation modulo the size of the identifier space (unique, but not sequential, like
real identifiers) and write the characters straight into an Arrow string buffer.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

_LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_PNC_CHECK = np.frombuffer(b"ZABCDEFGHJKLMNPQRTUVWXY", dtype=np.uint8)
_UNIT_LETTERS = np.frombuffer(b"ABDEFGHJLNPQRSTUWXYZ", dtype=np.uint8)  # valid postcode units


def fixed_width(chars: np.ndarray) -> pa.StringArray:
    """An Arrow string array from an ``(n, width)`` array of ASCII codes."""
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    n, width = chars.shape if chars.ndim == 2 else (0, 0)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)[: n + 1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.uint64)
    out = np.empty((values.size, width), dtype=np.uint8)
    for pos in range(width - 1, -1, -1):
        out[:, pos] = _DIGITS[(values % 10).astype(np.int64)]
        values = values // 10
    return out


def golden_multiplier(modulus: int, salt: int = 0) -> int:
    """A multiplier coprime with ``modulus`` near ``modulus / phi``: consecutive numbers land far
    apart in the identifier space."""
    candidate = int(modulus * 0.6180339887498949) + salt
    while math.gcd(candidate, modulus) != 1:
        candidate += 1
    return candidate


def permute(numbers: np.ndarray, modulus: int, multiplier: int, offset: int) -> np.ndarray:
    """A bijection of ``[0, modulus)`` (``multiplier`` must be coprime with ``modulus``)."""
    if math.gcd(multiplier, modulus) != 1:
        raise ValueError("multiplier must be coprime with the modulus")
    n = np.asarray(numbers, dtype=np.uint64)
    if n.size and int(n.max()) >= modulus:
        raise OverflowError(f"identifier space of {modulus} exhausted")
    hi, lo = divmod(multiplier, 1 << 20)
    # (n * multiplier) mod m without overflowing 64 bits: split the multiplier.
    part = (n * np.uint64(hi)) % np.uint64(modulus)
    part = (part * np.uint64(1 << 20)) % np.uint64(modulus)
    part = (part + (n * np.uint64(lo)) % np.uint64(modulus)) % np.uint64(modulus)
    return (part + np.uint64(offset)) % np.uint64(modulus)


def prefixed_digits(prefix: str, numbers: np.ndarray, width: int, salt: int = 0) -> pa.StringArray:
    """``prefix`` followed by ``width`` scrambled digits, e.g. ``CPD012345678``."""
    m = 10**width
    offset = (7 * m // 13 + salt * golden_multiplier(m, 7)) % m
    body = _digits(permute(numbers, m, golden_multiplier(m, salt), offset), width)
    head = np.broadcast_to(
        np.frombuffer(prefix.encode(), dtype=np.uint8), (body.shape[0], len(prefix))
    )
    return fixed_width(np.hstack([head, body]))


def prison_numbers(numbers: np.ndarray) -> pa.StringArray:
    """NOMIS prison numbers: letter, four digits, two letters (``A1234BC``)."""
    m = 26 * 10_000 * 26 * 26
    v = permute(numbers, m, golden_multiplier(m), 1_234_567).astype(np.int64)
    v, tail2 = np.divmod(v, 26)
    v, tail1 = np.divmod(v, 26)
    head, digits = np.divmod(v, 10_000)
    return fixed_width(
        np.hstack(
            [
                _LETTERS[head][:, None],
                _digits(digits, 4),
                _LETTERS[tail1][:, None],
                _LETTERS[tail2][:, None],
            ]
        )
    )


def crns(numbers: np.ndarray) -> pa.StringArray:
    """Delius case reference numbers: letter and six digits (``X123456``)."""
    m = 26 * 1_000_000
    v = permute(numbers, m, golden_multiplier(m), 3_141_592).astype(np.int64)
    head, digits = np.divmod(v, 1_000_000)
    return fixed_width(np.hstack([_LETTERS[head][:, None], _digits(digits, 6)]))


def lpa_ids(numbers: np.ndarray) -> pa.StringArray:
    """OPG LPA reference numbers ``M-1234-5678-9012``."""
    body = _digits(permute(numbers, 10**12, golden_multiplier(10**12), 271_828_182_845), 12)
    dash = np.full((body.shape[0], 1), ord("-"), dtype=np.uint8)
    m = np.full((body.shape[0], 1), ord("M"), dtype=np.uint8)
    return fixed_width(np.hstack([m, dash, body[:, :4], dash, body[:, 4:8], dash, body[:, 8:]]))


def pnc_ids(year: np.ndarray, serial: np.ndarray) -> pa.StringArray:
    """Police National Computer ids ``YYYY/NNNNNNNC`` with their check character."""
    year = np.asarray(year, dtype=np.int64)
    serial = np.asarray(serial, dtype=np.int64)
    check = _PNC_CHECK[((year % 100) * 10_000_000 + serial) % 23]
    slash = np.full((year.size, 1), ord("/"), dtype=np.uint8)
    return fixed_width(np.hstack([_digits(year, 4), slash, _digits(serial, 7), check[:, None]]))


def case_urns(
    force: np.ndarray, unit: np.ndarray, serial: np.ndarray, year: np.ndarray
) -> pa.StringArray:
    """Prosecution case URNs: force, unit, serial, year (``13AB1234524``)."""
    unit = np.asarray(unit, dtype=np.int64)
    return fixed_width(
        np.hstack(
            [
                _digits(force, 2),
                _LETTERS[unit // 26][:, None],
                _LETTERS[unit % 26][:, None],
                _digits(serial, 5),
                _digits(np.asarray(year) % 100, 2),
            ]
        )
    )


def postcodes(area_codes: pa.Array, code: np.ndarray) -> pa.Array:
    """Postcodes from their integer encoding (see :func:`encode_postcode`), e.g. ``LS1 4AB``."""
    import pyarrow.compute as pc

    code = np.asarray(code, dtype=np.int64)
    area, rest = np.divmod(code, 1_000_000)
    district, rest = np.divmod(rest, 10_000)
    sector, unit = np.divmod(rest, 1_000)
    outward = pc.binary_join_element_wise(
        area_codes.take(pa.array(area)), pa.array(district.astype(str)), ""
    )
    inward = fixed_width(
        np.hstack(
            [
                _DIGITS[sector][:, None],
                _UNIT_LETTERS[unit // 20][:, None],
                _UNIT_LETTERS[unit % 20][:, None],
            ]
        )
    )
    return pc.binary_join_element_wise(outward, inward, " ")


def encode_postcode(
    area: np.ndarray, district: np.ndarray, sector: np.ndarray, unit: np.ndarray
) -> np.ndarray:
    """Integer encoding of a postcode: area index, district 1-99, sector 0-9, unit 0-399."""
    return (
        np.asarray(area, dtype=np.int64) * 1_000_000
        + np.asarray(district, dtype=np.int64) * 10_000
        + np.asarray(sector, dtype=np.int64) * 1_000
        + np.asarray(unit, dtype=np.int64)
    )


def postcode_area(code: np.ndarray) -> np.ndarray:
    """Area index of encoded postcodes."""
    return np.asarray(code, dtype=np.int64) // 1_000_000


def postcode_district(code: np.ndarray) -> np.ndarray:
    """District number of encoded postcodes."""
    return (np.asarray(code, dtype=np.int64) // 10_000) % 100
