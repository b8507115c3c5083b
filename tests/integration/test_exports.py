"""Exports of any size: the CSV made a piece at a time and uploaded to S3 in parts as it is made (moto's S3)."""

from __future__ import annotations

from shared.adapters.s3_exports import PART_BYTES, S3ExportStore
from shared.exports.csv_document import csv_chunks, csv_document


def test_a_document_larger_than_a_part_is_uploaded_in_parts_and_served_whole(aws, stack, clean_tables) -> None:
    import requests

    # Given a CSV of about 1.3 parts, made in pieces of 64 KiB
    rows = [(f"att_{n:08d}", "Ana", "Lopez", "=cmd", "x" * 80) for n in range(PART_BYTES // 80)]
    pieces = list(csv_chunks(("attendee_id", "first", "last", "note", "pad"), rows, size=64 * 1024))
    assert max(len(piece) for piece in pieces) < 70 * 1024 and len(pieces) > 100

    # When it is published a part at a time
    link = S3ExportStore(stack.resources["ExportsBucket"], aws.client("s3")).publish_parts(
        "attendance-big.csv", iter(pieces), "text/csv; charset=utf-8"
    )

    # Then the link serves the whole document, the same bytes as the one-piece document, in two parts
    download = requests.get(link, timeout=30)
    assert download.status_code == 200
    assert download.content == csv_document(("attendee_id", "first", "last", "note", "pad"), rows)
    key = link.split("?")[0].split(stack.resources["ExportsBucket"] + "/", 1)[-1]
    head = aws.client("s3").head_object(Bucket=stack.resources["ExportsBucket"], Key=key, PartNumber=1)
    assert head["PartsCount"] == 2
