"""The faster mask choice (shared/certificates/qr.py) gives segno's own codes: the same mask, the same modules."""

from __future__ import annotations

import importlib
import random
import string
from typing import Any

import pytest

from shared.certificates import qr

ALPHABET = string.ascii_lowercase + "234567_/-:."


def segnos_own(value: str) -> tuple[int, tuple[bytearray, ...]]:
    """segno's result with its own mask selection, whatever is installed in its encoder meanwhile."""
    encoder: Any = importlib.import_module("segno.encoder")
    import segno

    qr.qr_matrix("install")
    installed = encoder.find_and_apply_best_mask
    assert qr.segnos_mask_choice is not None and installed is not qr.segnos_mask_choice
    encoder.find_and_apply_best_mask = qr.segnos_mask_choice
    try:
        code = segno.make(value, error="m", mode="byte", boost_error=False, micro=False)
    finally:
        encoder.find_and_apply_best_mask = installed
    return code.mask, tuple(code.matrix)


def values() -> list[str]:
    generator = random.Random(20)  # fixed: the same values every run
    made = [
        "https://conference.example.org/verify/crt_" + "".join(generator.choices(ALPHABET, k=generator.randint(1, 260)))
        for _ in range(160)
    ]
    return ["a", "https://c.example.org/v/1", *made, "\x00" * 40, "\xff" * 60]


def test_every_value_gets_segnos_mask_and_modules() -> None:
    qr.qr_matrix("install")  # the faster choice in place
    masks_seen = set()
    for value in values():
        mask, matrix = segnos_own(value)
        masks_seen.add(mask)
        assert qr.qr_matrix(value) == matrix, value
    # The values exercise most masks and many versions, so a wrong penalty term would change some choice
    assert len(masks_seen) >= 6


@pytest.mark.parametrize("size", [21, 25, 37, 45, 61])
def test_the_penalty_is_segnos_for_any_matrix(size: int) -> None:
    # Given random matrices (not only QR codes)  Then the penalty is segno's mask_scores sum, term by term
    encoder: Any = importlib.import_module("segno.encoder")
    generator = random.Random(size)
    for _ in range(40):
        rows = [bytes(generator.choice((0, 1, 1)) for _ in range(size)) for _ in range(size)]
        expected = sum(encoder.mask_scores([bytearray(row) for row in rows], size, size))
        assert qr.penalty(rows, size) == expected


def test_a_finder_like_pattern_at_the_edges_is_counted_as_segno_counts_it() -> None:
    encoder: Any = importlib.import_module("segno.encoder")
    size = 21
    pattern = b"\x01\x00\x01\x01\x01\x00\x01"
    rows = [bytes(size) for _ in range(size)]
    rows[3] = pattern + b"\x01" * (size - 7)  # at the start of a row
    rows[9] = b"\x01" * (size - 7) + pattern  # at its end
    rows[15] = b"\x01\x01" + pattern + b"\x00\x00\x00\x00" + b"\x01" * (size - 13)  # light after it
    assert qr.penalty(rows, size) == sum(encoder.mask_scores([bytearray(r) for r in rows], size, size))
