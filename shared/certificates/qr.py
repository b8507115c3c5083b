"""The verification URL's QR code: segno's, with its mask chosen by the same rule and to the same result, faster.

segno chooses among the eight data masks as the standard asks (ISO/IEC 18004 7.8.3: the lowest penalty), applying and
scoring each mask one module at a time in Python: about 5 ms of a certificate's 13 (profiled with the richer page, most
of its render time after the fonts). `best_mask` does the same arithmetic on the whole symbol at once: its rows and
columns as the bits of one integer, each mask one XOR with a precomputed integer, each penalty term a few shifts, ANDs
and bit counts (in C), only the rare finder-like patterns checked one by one. The same penalties, so the same mask and
the same modules (tests/unit/test_certificate_qr.py compares it with segno's own over many values), in a
seventeenth of segno's time: 0.17 ms instead of 2.9 for a verification URL's 37 x 37 code (the rest of segno's
encoding, 0.6 ms, is left as it is).

segno is imported with the first code made: its package imports its image writers (urllib, xml...), about 30 ms that
the stream dispatcher's cold start would pay for nothing.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    modules = _bits(matrix, size)
    geometry = _geometry(size)
    best_number, best_score, best_modules = -1, -1, modules
    for number, mask in enumerate(_masks(size)):
        masked = modules ^ mask
        score = _penalty(masked, size, geometry)
        if best_number < 0 or score < best_score:
            best_number, best_score, best_modules = number, score, masked
    # Back to segno's form: the rows' bits (module 0 is bit 0, so the binary string is reversed), one byte each.
    area = size * size
    flat = format(best_modules & ((1 << area) - 1), f"0{area}b")[::-1].encode("ascii").translate(_FROM_DIGITS)
    return best_number, tuple(bytearray(flat[start : start + size]) for start in range(0, area, size))


def penalty(rows: list[bytes], size: int) -> int:
    """The standard's penalty (N1 + N2 + N3 + N4) of a square matrix of 0/1 bytes, exactly as segno's `mask_scores`
    counts it (its reading of the finder-like pattern at the symbol's edges included)."""
    return _penalty(_bits(rows, size), size, _geometry(size))


_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_FROM_DIGITS = bytes.maketrans(b"01", b"\x00\x01")


def _bits(rows: Any, size: int) -> int:
    """A square matrix of 0/1 bytes as one integer of 2 * size lines of size bits: the rows, then the columns; module
    `position` of line `line` is bit `line * size + position`. Every penalty term is then a few operations on the
    whole integer (in C) instead of a loop over modules. A module that is neither 0 nor 1 fails the conversion."""
    flat = b"".join(rows)
    columns = b"".join(flat[column::size] for column in range(size))
    return int((flat + columns).translate(_TO_DIGITS)[::-1], 2)


@dataclass(frozen=True)
class _Geometry:
    """Masks of the bits where a pattern starting there stays within its line (and, for 2x2 blocks, its symbol)."""

    rows: int  # every module of the rows' half
    pairs: int  # a module and the next one in its line (rows and columns)
    finders: int  # seven modules from there in its line (rows and columns)
    blocks: int  # a 2x2 block from there (rows only: a block is the same in the columns)


@functools.cache
def _geometry(size: int) -> _Geometry:
    def each_line(line_mask: int, lines: int) -> int:
        return sum(line_mask << (line * size) for line in range(lines))

    return _Geometry(
        rows=(1 << (size * size)) - 1,
        pairs=each_line((1 << (size - 1)) - 1, 2 * size),
        finders=each_line((1 << (size - 6)) - 1, 2 * size),
        blocks=each_line((1 << (size - 1)) - 1, size - 1),
    )


def _penalty(modules: int, size: int, geometry: _Geometry) -> int:
    """segno's `mask_scores` sum for `modules` (as `_bits` lays them out; bit 1 dark)."""
    light = ~modules
    # N1: runs of five or more modules of one colour, 3 points plus one per module beyond five. `same` marks each
    # module equal to the next; `window` each start of five equal modules: a run of n has n - 4 of them, in a row.
    same = ~(modules ^ (modules >> 1)) & geometry.pairs
    window = same & (same >> 1) & (same >> 2) & (same >> 3)
    n1 = window.bit_count() + 2 * (window & ~(window >> 1)).bit_count()  # (n - 4) + 2 for each run
    # N2: 3 points for each 2x2 block of one colour (overlapping blocks counted each).
    rows, light_rows = modules & geometry.rows, light & geometry.rows
    dark_blocks = rows & (rows >> 1) & (rows >> size) & (rows >> (size + 1))
    light_blocks = light_rows & (light_rows >> 1) & (light_rows >> size) & (light_rows >> (size + 1))
    n2 = 3 * ((dark_blocks & geometry.blocks).bit_count() + (light_blocks & geometry.blocks).bit_count())
    # N3: 40 points for dark light dark dark dark light dark (1:1:3:1:1) with four light modules (as many as there
    # are, up to the line's edge) before or after it. Rare, so each match is checked in line order, skipping on as
    # segno's search does (past a counted match, else to its next possible overlap).
    matches = (
        modules & (light >> 1) & (modules >> 2) & (modules >> 3) & (modules >> 4) & (light >> 5) & (modules >> 6)
    ) & geometry.finders
    n3, resume = 0, 0
    while matches:
        lowest = matches & -matches
        matches ^= lowest
        at = lowest.bit_length() - 1
        if at < resume:
            continue
        position = at % size
        before, after = min(position, 4), min(size - 7 - position, 4)
        if not (modules >> (at - before)) & ((1 << before) - 1) or not (modules >> (at + 7)) & ((1 << after) - 1):
            n3, resume = n3 + 40, at + 7
        else:
            resume = at + 4
    # N4: 10 points per 5 % of dark modules away from half, computed as segno does (the same float arithmetic).
    dark_share = float(rows.bit_count()) / (size**2)
    n4 = 10 * int(abs(dark_share * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


@functools.cache
def _masks(size: int) -> tuple[int, ...]:
    """For each of the eight masks, the modules it flips (the data modules where its function is true) as `_bits`
    lays them out, computed once per symbol size from segno's own function-pattern layout and mask functions."""
    encoder = _encoder()
    layout = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(layout, size, size)
    encoder.add_alignment_patterns(layout, size, size)
    layout[-8][8] = 0x1  # the dark module, as segno marks it before masking

    def flips(pattern: Callable[[int, int], Any]) -> int:
        rows = [bytes(1 if layout[i][j] > 0x1 and pattern(i, j) else 0 for j in range(size)) for i in range(size)]
        return _bits(rows, size)

    return tuple(flips(pattern) for pattern in encoder.get_data_mask_functions(False))
