"""The certificate PDF: one portrait page (two when the table needs it), selectable text in any Latin script read in
order, the table of sessions and the total hours, embedded fonts, the QR code."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream, DictionaryObject

from shared.certificates.content import CertificateContent, SessionRow
from shared.certificates.formats import format_hours
from shared.certificates.pdf import (
    BOLD_FONT,
    REGULAR_FONT,
    qr_modules,
    render_certificate,
    render_certificate_naively,
)

NAME = "Łukasz Nguyễn-Żółć"
URL = "https://conference.example.org/verify/crt_abcdefghijklmnop_1qrstuvwxyz234567"
SESSIONS = (
    SessionRow("5 Aug 2020", "Welcome and State of SRO Programs", "Mo Canady, Executive Director, NASRO", 30),
    SessionRow(
        "5 Aug 2020", "Implicit Bias Awareness to Promote SRO Safety and Effectiveness", "Dr. Lorie Fridell", 75
    ),
    SessionRow("6 Aug 2020", "Behavioral Threat Assessment in Schools", "", 61),
)
CONTENT = CertificateContent(
    attendee_name=NAME,
    conference_name="2020 NASRO Virtual National School Safety Conference",
    organizer="National Association of School Resource Officers",
    dates="5–7 August 2020",
    hours=15.5,
    issued_on="7 August 2020",
    certificate_id="crt_abcdefghijklmnop_1qrstuvwxyz234567",
    verification_url=URL,
    organization="Springfield Police Department",
    license_id="IL-POST 12345",
    sessions=SESSIONS,
    signatory_name="Mo Canady",
    signatory_title="Executive Director",
)
INNER_BORDER = 32.0  # points from each page edge; the layout draws nothing outside it
QR_CORNER = (612 - 200, 0, 612, 200)  # the bottom-right corner of the page where the QR code sits
QR_BOX = (464.0, 48.0, 100.0)  # x, y and side of the QR code's square on the page, its quiet zone included


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def words(text: str) -> str:
    """The text with any run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


def text_chunks(pdf: bytes) -> list[tuple[str, float, float, float]]:
    """(text, x, y, font size) of every piece of text drawn on the page."""
    chunks: list[tuple[str, float, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            chunks.append((text, cm[4] + tm[4], cm[5] + tm[5], size))

    read(pdf).pages[0].extract_text(visitor_text=visit)
    return chunks


def rectangles_in(pdf: bytes, box: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """The rectangles (x, y, w, h) the page's content stream draws entirely inside box."""
    reader = read(pdf)
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    left, bottom, right, top = box
    found = []
    for operands, operator in operations:
        if operator == b"re":
            x, y, w, h = (float(value) for value in operands)
            if left <= x and x + w <= right and bottom <= y and y + h <= top:
                found.append((round(x, 2), round(y, 2), round(w, 2), round(h, 2)))
    return found


def test_one_portrait_letter_page_with_every_field_as_text() -> None:
    # Given a certificate for a name with Polish and Vietnamese letters
    # When it is rendered
    reader = read(render_certificate(CONTENT))

    # Then it is one portrait US-Letter page
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)
    # And every field is extractable text, the name letter for letter
    text = words(page.extract_text())
    assert "Certificate of Attendance" in text
    assert NAME in text
    assert "2020 NASRO Virtual National School Safety Conference" in text
    assert "National Association of School Resource Officers" in text
    assert "5–7 August 2020" in text
    assert "for 15.5 hours." in text
    assert "7 August 2020" in text
    assert CONTENT.certificate_id in text
    assert URL in text
    assert "Springfield Police Department" in text
    assert "License or officer ID: IL-POST 12345" in text
    assert "Mo Canady Executive Director, National Association of School Resource Officers" in text


def test_the_table_lists_each_session_with_its_date_speakers_and_minutes_and_the_total() -> None:
    # Given a certificate for three sessions, one without speakers  When its text is read back
    text = words(read(render_certificate(CONTENT)).pages[0].extract_text())

    # Then each session is one row in reading order: date, title, speakers (when the agenda names any), minutes
    assert "Date Session attended and speakers Minutes" in text
    assert (
        "5 Aug 2020 Welcome and State of SRO Programs Mo Canady, Executive Director, NASRO 30 "
        "5 Aug 2020 Implicit Bias Awareness to Promote SRO Safety and Effectiveness Dr. Lorie Fridell 75 "
        "6 Aug 2020 Behavioral Threat Assessment in Schools 61 "
        "Total contact hours 15.5 hours (166 minutes)"
    ) in text


def test_the_page_reads_in_order_from_the_title_to_the_verification_url() -> None:
    # Given a certificate  When its text is extracted in the order it is drawn
    text = words(read(render_certificate(CONTENT)).pages[0].extract_text())

    # Then a reader meets the title, the person, what they attended, the table, who signs, then how to verify it
    landmarks = [
        "Certificate of Attendance", "This certifies that", NAME, "Springfield Police Department", "attended",
        "Date Session attended", "Total contact hours", "Mo Canady Executive Director", "Issued on",
        "Certificate ID:", "Verify this certificate at:", URL,
    ]  # fmt: skip
    positions = [text.index(landmark) for landmark in landmarks]
    assert positions == sorted(positions)


def test_the_document_declares_its_language_and_shows_its_title() -> None:
    root = read(render_certificate(CONTENT)).trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    assert str(root["/Lang"]) == "en"
    preferences = root["/ViewerPreferences"].get_object()
    assert isinstance(preferences, DictionaryObject)
    assert bool(preferences["/DisplayDocTitle"]) is True


def test_without_sessions_or_licence_the_page_has_no_table_and_no_licence_line() -> None:
    # Given a certificate issued before sessions were kept, for someone who gave no licence id
    content = dataclasses.replace(CONTENT, sessions=(), license_id=None)

    # When rendered  Then there is no table and no licence line; the rest is there
    text = words(read(render_certificate(content)).pages[0].extract_text())
    assert "Session attended" not in text and "License" not in text
    assert "Springfield Police Department" in text and "for 15.5 hours." in text and URL in text


def test_a_long_agenda_continues_on_a_second_page_each_page_verifiable() -> None:
    # Given forty sessions attended, one with a title too long for two lines
    long_title = "Keeping Schools Safe " * 20
    sessions = tuple(
        SessionRow(f"{5 + n // 14} Aug 2020", long_title if n == 3 else f"Session number {n}", f"Speaker {n}", 30)
        for n in range(40)
    )
    reader = read(render_certificate(dataclasses.replace(CONTENT, sessions=sessions)))

    # Then it takes more than one page, each with the id, the verification URL and "Page n of N"
    pages = [words(page.extract_text()) for page in reader.pages]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert CONTENT.certificate_id in text and URL in text
        assert f"Page {number} of {len(pages)}" in text
    # And every session is listed once, in order; the long title is cut short with an ellipsis; the total is last
    everything = " ".join(pages)
    positions = [everything.index(f"Session number {n} Speaker {n} 30") for n in range(40) if n != 3]
    assert positions == sorted(positions)
    assert "Keeping Schools Safe Keeping" in everything and "\u2026" in everything
    assert "Total contact hours 15.5 hours (1200 minutes)" in pages[-1]
    assert "(continued)" in pages[1] and NAME in pages[1]


def test_thirteen_sessions_with_speakers_fit_on_one_page() -> None:
    # Given the seed conference's whole agenda (13 sessions) attended  When rendered  Then one page holds it
    from shared.conference import load_conference

    rows = tuple(
        SessionRow("5 Aug 2020", s.title, ", ".join(s.speakers), s.scheduled_minutes)
        for s in load_conference().sessions
    )
    assert len(rows) == 13
    assert len(read(render_certificate(dataclasses.replace(CONTENT, sessions=rows))).pages) == 1


@pytest.mark.parametrize(
    "name",
    ["Øyvind Ærøskøbing", "Şükrü Çağlar Ğ", "Đặng Thị Nguyệt Ánh", "Ðórr Þórðarson", "Mäkelä Šťastný Őrsi", "Dž Ŀ ĳ ẞ"],
    ids=["nordic", "turkish", "vietnamese", "icelandic", "finnish-czech-hungarian", "rare"],
)
def test_any_latin_name_is_drawn_with_real_glyphs_and_extracted_intact(name: str) -> None:
    # Given names from Nordic, Turkish, Vietnamese, Icelandic, Finnish/Czech/Hungarian and rarer Latin letters
    pdf = render_certificate(dataclasses.replace(CONTENT, attendee_name=name))

    # When the fonts are asked for the glyphs  Then none of the letters falls back to the missing glyph
    from reportlab.pdfbase import pdfmetrics

    for font_name in (REGULAR_FONT, BOLD_FONT):
        glyphs = pdfmetrics.getFont(font_name).face.charToGlyph
        assert [char for char in name if ord(char) not in glyphs] == []
    # And the name reads back from the page as given
    assert name in words(read(pdf).pages[0].extract_text())


def test_a_decomposed_name_is_printed_composed() -> None:
    # Given a name typed as base letters plus combining marks (NFD)
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME

    # When it is rendered  Then the page carries the composed letters
    text = words(
        read(render_certificate(dataclasses.replace(CONTENT, attendee_name=decomposed))).pages[0].extract_text()
    )
    assert NAME in text


def test_every_font_is_an_embedded_truetype_subset() -> None:
    # Given a rendered certificate
    page = read(render_certificate(CONTENT)).pages[0]

    # When the page's fonts are listed
    resources = page["/Resources"]
    assert isinstance(resources, DictionaryObject)
    fonts = resources["/Font"]
    assert isinstance(fonts, DictionaryObject)

    # Then there are fonts, and each is a subset (tagged "XXXXXX+") with its TrueType program embedded
    assert len(fonts) >= 2
    for reference in fonts.values():
        font = reference.get_object()
        assert font["/Subtype"] == "/TrueType"
        assert "+DejaVuSans" in str(font["/BaseFont"])
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
        assert "/ToUnicode" in font  # what makes the text selectable and searchable


def test_metadata_describes_the_certificate_not_the_person() -> None:
    # Given a rendered certificate  When its document information is read
    metadata = read(render_certificate(CONTENT)).metadata

    # Then it has a title, author and subject, and none of them names the attendee
    assert metadata is not None
    assert metadata.title == "Certificate of Attendance: 2020 NASRO Virtual National School Safety Conference"
    assert metadata.author == "National Association of School Resource Officers"
    assert metadata.subject == f"Certificate of Attendance {CONTENT.certificate_id}"
    assert all("Łukasz" not in str(value) for value in metadata.values())


@pytest.mark.parametrize(
    "name",
    [
        ("Maria Guadalupe Łukasiewicz-Nguyễn " * 4)[:100].strip(),  # 100 characters in words
        "Ż" * 100,  # 100 characters and no space to break at
        ("Wolfeschlegelsteinhausenbergerdorff Łukasiewicz " * 5)[:201].strip(),  # first + last name at their limit
    ],
    ids=["100 characters in words", "100 characters without a space", "201 characters"],
)
def test_a_long_name_shrinks_to_fit_inside_the_border(name: str) -> None:
    # Given a very long name
    pdf = render_certificate(dataclasses.replace(CONTENT, attendee_name=name))

    # When the page is read
    reader = read(pdf)
    chunks = [chunk for chunk in text_chunks(pdf) if chunk[0].strip() and chunk[0].strip() in name]

    # Then it is still one page, the whole name is there, in a smaller size than a short name's
    assert len(reader.pages) == 1
    assert words(name) in words(reader.pages[0].extract_text())
    short_size = max(size for text, _, _, size in text_chunks(render_certificate(CONTENT)) if NAME in text)
    assert chunks
    assert all(size < short_size for _, _, _, size in chunks)
    # And, being centred, it stays inside the border: each line starts right of the left border
    assert all(INNER_BORDER < x < 612 / 2 for _, x, _, _ in chunks)


def test_the_qr_code_is_drawn_in_the_corner_and_depends_on_the_url() -> None:
    # Given two certificates that differ only in their verification URL
    pdf = render_certificate(CONTENT)
    other = render_certificate(dataclasses.replace(CONTENT, verification_url=URL.replace("abcdefgh", "hgfedcba")))

    # When the rectangles drawn in the bottom-right corner are collected
    modules = rectangles_in(pdf, QR_CORNER)
    other_modules = rectangles_in(other, QR_CORNER)

    # Then there are many (a QR code's runs of dark modules), all the same height (one module), inside a square
    assert len(modules) > 100
    assert len({h for _, _, _, h in modules}) == 1
    xs = [x for x, _, _, _ in modules] + [x + w for x, _, w, _ in modules]
    ys = [y for _, y, _, _ in modules] + [y + h for _, y, _, h in modules]
    assert max(xs) - min(xs) == pytest.approx(max(ys) - min(ys), abs=0.01)
    # And they encode the URL: another URL draws another pattern
    assert set(modules) != set(other_modules)


def qr_grid(pdf: bytes) -> tuple[list[list[bool]], float]:
    """The dark modules that the page's QR code rectangles cover (row by row, from the top), and the module's
    size in points: read from the drawing alone."""
    rectangles = rectangles_in(pdf, QR_CORNER)
    module = rectangles[0][3]
    left = min(x for x, _, _, _ in rectangles)
    top = max(y + h for _, y, _, h in rectangles)
    count = round((max(x + w for x, _, w, _ in rectangles) - left) / module)
    grid = [[False] * count for _ in range(count)]
    for x, y, w, h in rectangles:
        row, first = round((top - y - h) / module), round((x - left) / module)
        for column in range(first, first + round(w / module)):
            grid[row][column] = True
    return grid, module


def scanned(grid: list[list[bool]], quiet_zone: int = 4, pixels: int = 4) -> list[zxingcpp.Barcode]:
    """What a QR reader (zxing-cpp, not the encoder) finds in the modules drawn black on white."""
    side = (len(grid) + 2 * quiet_zone) * pixels
    image = Image.new("1", (side, side), 1)
    for row, line in enumerate(grid):
        for column, dark in enumerate(line):
            if dark:
                left, top = (column + quiet_zone) * pixels, (row + quiet_zone) * pixels
                image.paste(0, (left, top, left + pixels, top + pixels))
    return zxingcpp.read_barcodes(image)


@pytest.mark.parametrize(
    "url",
    [
        "https://c.example.org/c/crt_1",
        URL,
        URL.replace("verify", "verify-the-certificates-of-attendance-for-the-national-school-safety-conference"),
        "https://conference.example.org/verify/" + "crt_abcdefghijklmnop_1qrstuvwxyz234567_" * 5,
    ],
    ids=["short", "ours", "long", "very long"],
)
def test_the_qr_code_drawn_on_the_page_scans_as_the_url_at_level_m(url: str) -> None:
    # Given a certificate whose verification URL is short, ours, long or very long (QR versions 3 to 11)
    pdf = render_certificate(dataclasses.replace(CONTENT, verification_url=url))

    # When the QR code's rectangles are read off the page and shown to a QR reader
    grid, module = qr_grid(pdf)
    codes = scanned(grid)

    # Then it reads one QR code (not a Micro QR): the URL, with error correction level M
    assert [(code.format, code.text, code.ec_level) for code in codes] == [(zxingcpp.BarcodeFormat.QRCode, url, "M")]
    # And the code has the size of its version, and fills the square in the corner less a quiet zone of 4 modules
    extra = codes[0].extra
    assert isinstance(extra, dict)
    version = int(extra["Version"])
    assert len(grid) == 4 * version + 17
    x, y, side = QR_BOX
    exact = side / (len(grid) + 8)
    assert module == pytest.approx(exact, abs=0.01)
    rectangles = rectangles_in(pdf, QR_CORNER)
    assert min(left for left, _, _, _ in rectangles) == pytest.approx(x + 4 * exact, abs=0.01)
    assert min(bottom for _, bottom, _, _ in rectangles) == pytest.approx(y + 4 * exact, abs=0.01)
    assert max(left + w for left, _, w, _ in rectangles) == pytest.approx(x + side - 4 * exact, abs=0.01)
    assert max(bottom + h for _, bottom, _, h in rectangles) == pytest.approx(y + side - 4 * exact, abs=0.01)


def test_the_reader_finds_no_code_once_a_finder_pattern_is_broken() -> None:
    # Given the modules our page draws, which scan as they are
    grid, _ = qr_grid(render_certificate(CONTENT))
    assert [code.text for code in scanned(grid)] == [URL]

    # When a finder pattern loses its centre  Then the reader finds no code (so the test above can fail)
    broken = [list(line) for line in grid]
    for row in range(2, 5):
        broken[row][2:5] = [False] * 3
    assert scanned(broken) == []


def format_information(modules: list[list[bool]]) -> tuple[int, int]:
    """The 15 format bits, bit 14 first (before unmasking), as written beside the top-left finder and, again,
    beside the other two (ISO/IEC 18004, 7.9)."""
    size = len(modules)
    first = [modules[8][column] for column in (0, 1, 2, 3, 4, 5, 7, 8)] + [
        modules[row][8] for row in (7, 5, 4, 3, 2, 1, 0)
    ]
    second = [modules[size - 1 - row][8] for row in range(7)] + [modules[8][size - 8 + column] for column in range(8)]
    return as_number(first), as_number(second)


def as_number(bits: list[bool]) -> int:
    return int("".join("1" if bit else "0" for bit in bits), 2)


def bch_format(data: int) -> int:
    """The 15 format bits for 5 data bits (error correction level, mask), BCH(15,5) and the fixed mask."""
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return ((data << 10) | (remainder & 0x3FF)) ^ 0x5412


# A finder pattern (7 x 7: a dark ring, a light ring, a dark 3 x 3 centre) with its light separator on the
# code's side, as it sits in the top-left corner; the other two are its mirror images.
FINDER = [
    [
        row < 7 and column < 7 and (row in (0, 6) or column in (0, 6) or (2 <= row <= 4 and 2 <= column <= 4))
        for column in range(8)
    ]
    for row in range(8)
]


def corner(modules: list[list[bool]], flip_rows: bool, flip_columns: bool) -> list[list[bool]]:
    """The 8 x 8 modules of one corner, mirrored to read as the top-left one."""
    rows = modules[::-1] if flip_rows else modules
    return [(line[::-1] if flip_columns else line)[:8] for line in rows[:8]]


@pytest.mark.parametrize("url", ["https://c.example.org/c/crt_1", URL, URL * 3])
def test_qr_modules_have_the_structure_of_a_level_m_qr_code(url: str) -> None:
    # Given the modules for a URL
    modules = qr_modules(url)
    size = len(modules)

    # Then the code is square, of a regular QR code's size (21, 25, 29... for versions 1, 2, 3...)
    assert all(len(line) == size for line in modules)
    assert size >= 21 and (size - 17) % 4 == 0
    # And it has the three finder patterns, each with its light separator, and none in the fourth corner
    assert corner(modules, False, False) == corner(modules, False, True) == corner(modules, True, False) == FINDER
    assert corner(modules, True, True) != FINDER
    # And the timing patterns between them alternate, starting dark
    assert [modules[6][column] for column in range(8, size - 8)] == [column % 2 == 0 for column in range(8, size - 8)]
    assert [modules[row][6] for row in range(8, size - 8)] == [row % 2 == 0 for row in range(8, size - 8)]
    # And the format information, written twice, is valid and says error correction level M (bits 00)
    first, second = format_information(modules)
    assert first == second
    assert [data >> 3 for data in range(32) if bch_format(data) == first] == [0b00]
    assert modules[size - 8][8]  # the dark module beside the bottom-left finder


def test_different_urls_give_different_modules_and_the_same_url_the_same() -> None:
    assert qr_modules(URL) == qr_modules(URL[:])
    assert qr_modules(URL) != qr_modules(URL.replace("abcdefgh", "hgfedcba"))


def test_rendering_is_deterministic() -> None:
    # Given the same content twice  When rendered  Then the bytes are identical (no timestamp, no random id)
    assert render_certificate(CONTENT) == render_certificate(dataclasses.replace(CONTENT))
    # And other content gives other bytes
    assert render_certificate(CONTENT) != render_certificate(dataclasses.replace(CONTENT, hours=15.75))


def test_rendering_is_deterministic_across_processes() -> None:
    # Given this process's certificate, and two fresh interpreters with other hash seeds (set and dict orders)
    probe = (
        "import hashlib, tests.unit.test_certificate_pdf as t; "
        "print(hashlib.sha256(t.render_certificate(t.CONTENT)).hexdigest())"
    )
    # When each renders the same content  Then all three PDFs are the same bytes
    digests = {
        subprocess.run(
            [sys.executable, "-c", probe],
            env=dict(os.environ) | {"PYTHONHASHSEED": seed},
            cwd=Path(__file__).parents[2],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(render_certificate(CONTENT)).hexdigest()}


def test_the_naive_baseline_draws_the_same_page() -> None:
    # Given the benchmark's baseline, which loads the fonts again for each document
    # When both render the same content  Then the pages read the same
    naive = read(render_certificate_naively(CONTENT))
    ours = read(render_certificate(CONTENT))
    assert len(naive.pages) == 1
    assert naive.pages[0].extract_text() == ours.pages[0].extract_text()


@pytest.mark.parametrize(
    ("hours", "printed"),
    [(15.5, "15.5 hours"), (0.25, "0.25 hours"), (15.0, "15 hours"), (1.0, "1 hour"), (12.75, "12.75 hours")],
)
def test_hours_are_printed_as_quarter_hours_without_trailing_zeros(hours: float, printed: str) -> None:
    # Given a number of hours  When printed  Then no trailing zeros and "hour" for exactly one
    assert format_hours(hours) == printed
    text = words(read(render_certificate(dataclasses.replace(CONTENT, hours=hours))).pages[0].extract_text())
    assert f"for {printed}." in text


@pytest.mark.parametrize("hours", [-0.25, float("nan"), float("inf")])
def test_impossible_hours_are_refused(hours: float) -> None:
    # Given negative or non-finite hours  When the content is made  Then it is refused
    with pytest.raises(ValueError, match="hours"):
        dataclasses.replace(CONTENT, hours=hours)
