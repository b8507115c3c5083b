"""The certificate PDF: one landscape page, selectable text in any Latin script, embedded fonts, the QR code."""

from __future__ import annotations

import dataclasses
import io
import random
import string
import unicodedata
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream, DictionaryObject
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel

from shared.certificates.pdf import (
    BOLD_FONT,
    REGULAR_FONT,
    CertificateContent,
    format_hours,
    qr_modules,
    render_certificate,
    render_certificate_naively,
)

NAME = "Łukasz Nguyễn-Żółć"
URL = "https://conference.example.org/certificates/crt_abcdefghijklmnop_1qrstuvwxyz234567"
CONTENT = CertificateContent(
    attendee_name=NAME,
    conference_name="2020 NASRO Virtual National School Safety Conference",
    organizer="National Association of School Resource Officers",
    dates="5–7 August 2020",
    hours=15.5,
    issued_on="7 August 2020",
    certificate_id="crt_abcdefghijklmnop_1qrstuvwxyz234567",
    verification_url=URL,
)
INNER_BORDER = 32.0  # points from each page edge; the layout draws nothing outside it
QR_CORNER = (792 - 200, 0, 792, 200)  # the bottom-right corner of the page where the QR code sits


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


def test_one_landscape_letter_page_with_every_field_as_text() -> None:
    # Given a certificate for a name with Polish and Vietnamese letters
    # When it is rendered
    reader = read(render_certificate(CONTENT))

    # Then it is one landscape US-Letter page
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (792, 612)
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
    assert all(INNER_BORDER < x < 792 / 2 for _, x, _, _ in chunks)


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


def test_the_qr_code_is_the_one_reportlab_makes_with_the_mask_its_rules_choose() -> None:
    # Given 80 verification URLs of many lengths (several QR versions; the masks chosen vary)
    draw = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "_-"
    urls = [
        "https://conference.example.org/certificates/" + "".join(draw.choices(alphabet, k=draw.randint(1, 150)))
        for _ in range(80)
    ]
    masks = set()
    for url in urls:
        # When our encoder and reportlab's own make() (which builds and scores all 8 masks) encode each
        reference = QRCode(None, QRErrorCorrectLevel.M)
        reference.addData(url)
        reference.make()
        # Then the modules are the same, so the PDF draws exactly what reportlab alone would
        assert qr_modules(url) == reference.modules
        masks.add(reference.getBestMaskPattern())  # (builds the test matrices again: after the comparison)
    assert len(masks) == 8  # every mask was the best somewhere, so every mask's scoring was compared


def test_rendering_is_deterministic() -> None:
    # Given the same content twice  When rendered  Then the bytes are identical (no timestamp, no random id)
    assert render_certificate(CONTENT) == render_certificate(dataclasses.replace(CONTENT))
    # And other content gives other bytes
    assert render_certificate(CONTENT) != render_certificate(dataclasses.replace(CONTENT, hours=15.75))


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
