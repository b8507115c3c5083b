"""The verification URL's QR code: segno's, with its mask chosen by the same rule and to the same result, faster.

segno chooses among the eight data masks as the standard asks (ISO/IEC 18004 7.8.3: the lowest penalty), applying and
scoring each mask one module at a time in Python: about 5 ms of a certificate's 13 (profiled with the richer page, most
of its render time after the fonts). `best_mask` does the same arithmetic a row at a time on integers and byte strings
(the XOR of a row with a precomputed mask row, runs found by a regular expression, 2x2 blocks by shifting whole rows):
the same penalties, so the same mask and the same modules (tests/unit/test_certificate_qr.py compares it with segno's
own over many values), in about a fifth of the time.

segno is imported with the first code made: its package imports its image writers (urllib, xml...), about 30 ms that
the stream dispatcher's cold start would pay for nothing.
"""

from __future__ import annotations

import functools
import importlib
import re
import threading
from collections.abc import Callable
from typing import Any

_N1_RUN = re.compile(rb"\x00{5,}|\x01{5,}")  # five or more modules of one colour in a row or column
_N3_PATTERN = b"\x01\x00\x01\x01\x01\x00\x01"  # dark light dark dark dark light dark (1:1:3:1:1)

_installed = False
_install_lock = threading.Lock()
# segno's own mask selection, kept once `best_mask` replaces it (for Micro QR codes, and for the tests to compare).
segnos_mask_choice: Callable[..., tuple[int, Any]] | None = None


def qr_matrix(value: str) -> tuple[bytearray, ...]:
    """segno's matrix for `value`: a regular QR code (never a Micro QR), error correction level M exactly
    (boost_error=False: segno would otherwise raise the level when the data fits the same version), in byte mode
    whatever the characters (a URL is bytes; no mode guessing). The version is the smallest that holds the data at
    level M and the mask the one the standard's penalty rules choose: both follow from the value alone, so the same
    value gives the same modules. One byte per module, 1 dark."""
    import segno

    _install()
    code = segno.make(value, error="m", mode="byte", boost_error=False, micro=False)
    return tuple(code.matrix)


def _install() -> None:
    """Puts `best_mask` where segno's encoder looks its mask selection up (process-wide, once; nothing else in the
    process makes QR codes, and the result is segno's own)."""
    global _installed, segnos_mask_choice
    if _installed:
        return
    with _install_lock:
        if not _installed:
            encoder = _encoder()
            original = segnos_mask_choice = encoder.find_and_apply_best_mask

            def find_and_apply_best_mask(
                matrix: Any, width: int, height: int, proposed_mask: int | None = None
            ) -> tuple[int, Any]:
                if proposed_mask is not None or width != height or width < 21:  # a chosen mask, a Micro QR code
                    return original(matrix, width, height, proposed_mask)  # type: ignore[no-any-return]
                return best_mask(matrix, width)

            encoder.find_and_apply_best_mask = find_and_apply_best_mask
            _installed = True


def _encoder() -> Any:
    # segno's encoder module, untyped: its internals (the function-pattern layout, the mask functions) are used as is.
    return importlib.import_module("segno.encoder")


def best_mask(matrix: Any, size: int) -> tuple[int, tuple[bytearray, ...]]:
    """(mask number, masked matrix) of the mask with the lowest penalty, the first on a tie, as segno chooses."""
    rows = [int.from_bytes(bytes(row), "big") for row in matrix]
    best_number, best_score, best_rows = -1, -1, rows
    for number, mask_rows in enumerate(_mask_rows(size)):
        masked = [row ^ mask for row, mask in zip(rows, mask_rows, strict=True)]
        score = penalty([value.to_bytes(size, "big") for value in masked], size)
        if best_number < 0 or score < best_score:
            best_number, best_score, best_rows = number, score, masked
    return best_number, tuple(bytearray(value.to_bytes(size, "big")) for value in best_rows)


def penalty(rows: list[bytes], size: int) -> int:
    """The standard's penalty (N1 + N2 + N3 + N4) of a square matrix of 0/1 bytes, exactly as segno's `mask_scores`
    counts it (its reading of the finder-like pattern at the symbol's edges included)."""
    # Every row and column in one string, each followed by a 2 that no run or pattern crosses: one search each.
    lines = b"\x02".join([*rows, *(bytes(column) for column in zip(*rows, strict=True))]) + b"\x02"
    n1 = sum(len(run) - 2 for run in _N1_RUN.findall(lines))
    ones = int.from_bytes(b"\x01" * size, "big")
    n2 = 0
    previous: int | None = None
    for row in rows:
        current = int.from_bytes(row, "big")
        if previous is not None:
            dark = previous & current & (previous >> 8) & (current >> 8)
            light_above, light_below = previous ^ ones, current ^ ones
            light = light_above & light_below & (light_above >> 8) & (light_below >> 8)
            n2 += 3 * (dark.bit_count() + light.bit_count())
        previous = current
    n3 = _n3_points(lines, size)
    dark_share = sum(row.count(1) for row in rows) / (size * size)
    n4 = 10 * int(abs(dark_share * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def _n3_points(lines: bytes, size: int) -> int:
    """segno's count of 1:1:3:1:1 patterns with four light modules (or the edge) before or after, 40 points each, in
    lines of `size` modules each followed by one separator byte."""
    points = 0
    index = lines.find(_N3_PATTERN)
    while index != -1:
        start = index - index % (size + 1)  # where this line begins
        at, offset = index - start, index + 7
        if (
            at in (0, size - 7)
            or not any(lines[max(index - 4, start) : index])
            or not any(lines[offset : min(offset + 4, start + size)])
        ):
            points += 40
        else:
            offset = index + 4
        index = lines.find(_N3_PATTERN, offset)
    return points


@functools.cache
def _mask_rows(size: int) -> tuple[tuple[int, ...], ...]:
    """For each of the eight masks, each row's XOR (one byte per module, 1 where the mask flips a data module),
    computed once per symbol size from segno's own function-pattern layout and mask functions."""
    encoder = _encoder()
    layout = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(layout, size, size)
    encoder.add_alignment_patterns(layout, size, size)
    layout[-8][8] = 0x1  # the dark module, as segno marks it before masking

    def mask_row(pattern: Callable[[int, int], Any], i: int) -> int:
        flips = bytes(1 if layout[i][j] > 0x1 and pattern(i, j) else 0 for j in range(size))
        return int.from_bytes(flips, "big")

    return tuple(tuple(mask_row(pattern, i) for i in range(size)) for pattern in encoder.get_data_mask_functions(False))
