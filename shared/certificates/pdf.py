"""The certificate of attendance as a one-page PDF (landscape US Letter), drawn with reportlab.

Pure: content in, PDF bytes out; no AWS, no clock, no randomness. The same content gives the same bytes
(reportlab's invariant mode fixes the timestamps and the document id).

Fonts: DejaVu Sans and DejaVu Sans Bold ship with the code (`fonts/`, Bitstream Vera licence: the Lambda
has no system fonts). They cover every Latin script (Łukasz, Nguyễn, Øyvind, Şükrü...). They are parsed and
registered once per process: parsing a TrueType file is most of what a certificate would cost otherwise
(see `render_certificate_naively` and `make bench`). Each document embeds only the subset of glyphs it uses,
with a ToUnicode map, so the text is selectable and extractable and renders on any viewer.

The QR code of the verification URL: segno's (level M), drawn as one path.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import re
import threading
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor, black
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONTS_DIR = Path(__file__).parent / "fonts"
_REGULAR_FILE = FONTS_DIR / "DejaVuSans.ttf"
_BOLD_FILE = FONTS_DIR / "DejaVuSans-Bold.ttf"

# Names under which this module registers the fonts in reportlab's (process-wide) font registry.
REGULAR_FONT = "Certificate-DejaVuSans"
BOLD_FONT = "Certificate-DejaVuSans-Bold"

PAGE_WIDTH, PAGE_HEIGHT = landscape(letter)  # 792 x 612 points
_CENTRE_X = PAGE_WIDTH / 2
_OUTER_INSET = 24.0  # the heavy border
_INNER_INSET = 32.0  # the fine border inside it; nothing is drawn outside it
_TEXT_WIDTH = PAGE_WIDTH - 2 * 88.0  # the centred text block
_QR_SIZE = 100.0  # points, quiet zone included (about 35 mm)
_QR_QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
_QR_X = PAGE_WIDTH - _INNER_INSET - 16.0 - _QR_SIZE
_QR_Y = _INNER_INSET + 16.0
_FOOTER_X = 88.0
_FOOTER_WIDTH = _QR_X - 24.0 - _FOOTER_X  # the footer lines stop short of the QR code

_INK = HexColor("#222222")
_ACCENT = HexColor("#1F3A5F")
_MUTED = HexColor("#555555")

TITLE = "Certificate of Attendance"

# Two process-wide reportlab settings, both read when a document is saved (nothing else in the process draws
# PDFs). The same content still gives the same bytes.
#
# The page's content stream is Flate-compressed binary, as the embedded fonts always are. reportlab's default
# also wraps it in ASCII85, a 7-bit transport encoding that no PDF reader needs: a quarter more bytes and a
# pure-Python encoder, about 0.4 ms of every certificate.
rl_config.useA85 = 0


class _FastFlate(pdfdoc.PDFStreamFilterZCompress):  # type: ignore[misc]  # reportlab has no type hints
    """reportlab's Flate filter at zlib level 1 instead of the default 6. Compressing the two font subsets
    (mostly their glyphs and the fonts' name tables, about 50 kB) took about 1 ms of every certificate; level 1
    takes half as long for a PDF 2 kB (7 %) larger. reportlab has no setting for the level; it looks this object
    up (`pdfdoc.PDFZCompress`) each time it makes a stream."""

    def encode(self, text: str | bytes) -> bytes:
        return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, 1)


pdfdoc.PDFZCompress = _FastFlate()


@dataclass(frozen=True)
class CertificateContent:
    attendee_name: str  # any Latin script
    conference_name: str
    organizer: str
    dates: str  # e.g. "5\u20137 August 2020" (an en dash)
    hours: float  # quarter hours, e.g. 15.5 -> "15.5 hours", 0.25 -> "0.25 hours"
    issued_on: str  # e.g. "7 August 2020"
    certificate_id: str
    verification_url: str  # printed and encoded in the QR code

    def __post_init__(self) -> None:
        if not math.isfinite(self.hours) or self.hours < 0:
            raise ValueError("hours must be a finite, non-negative number")


def format_hours(hours: float) -> str:
    """15.5 -> "15.5 hours", 0.25 -> "0.25 hours", 15.0 -> "15 hours", 1.0 -> "1 hour"."""
    number = f"{hours:.2f}".rstrip("0").rstrip(".")
    return f"{number} hour" if number == "1" else f"{number} hours"


_font_lock = threading.Lock()
_fonts_registered = False


def _register_fonts() -> None:
    """Parses and registers the two TrueType fonts once per process (thread-safe, lazy)."""
    global _fonts_registered
    if _fonts_registered:
        return
    with _font_lock:
        if not _fonts_registered:
            _load_font(REGULAR_FONT, _REGULAR_FILE)
            _load_font(BOLD_FONT, _BOLD_FILE)
            _fonts_registered = True


def _load_font(name: str, file: Path) -> None:
    """Parses `file` and registers it under `name`.

    asciiReadable=False: each document's subset holds only the glyphs its text uses. reportlab's default
    (True) puts every printable ASCII glyph in every subset, so that the content stream shows ASCII text
    as itself; nobody reads our content streams, and those unused glyphs were about a third of each PDF
    (46.5 kB -> 30.5 kB) and 1.5 ms of every certificate (subsetting, checksums, compression, the widths).
    The text stays selectable and extractable: that is the ToUnicode map's job, not the codes'."""
    pdfmetrics.registerFont(TTFont(name, str(file), asciiReadable=False))


def render_certificate(content: CertificateContent) -> bytes:
    """One landscape US-Letter page, the fonts embedded as subsets. Deterministic for the same content."""
    _register_fonts()
    return _render(content, REGULAR_FONT, BOLD_FONT)


# --- Benchmark baseline only -------------------------------------------------------------------------------
_naive_serial = itertools.count()


def render_certificate_naively(content: CertificateContent) -> bytes:
    """BENCHMARK BASELINE, never use in production: the same page, but loading and registering the TrueType
    fonts afresh for every document under new names, as a naive implementation would. `bench/certificates.py`
    compares it with `render_certificate`."""
    serial = next(_naive_serial)
    regular, bold = f"Naive-DejaVuSans-{serial}", f"Naive-DejaVuSans-Bold-{serial}"
    _load_font(regular, _REGULAR_FILE)
    _load_font(bold, _BOLD_FILE)
    return _render(content, regular, bold)


# --- Drawing -----------------------------------------------------------------------------------------------


def _nfc(text: str) -> str:
    # A name typed as base letter + combining mark (NFD) is drawn and extracted as the composed letter.
    return unicodedata.normalize("NFC", text)


def _fit(
    text: str, font: str, *, largest: float, width: float, max_lines: int, wrap_below: float
) -> tuple[float, list[str]]:
    """The largest font size (in half points, down to 4 pt) at which `text` fits `width`: on one line while
    the size is at least `wrap_below`, then on up to `max_lines` lines broken at spaces."""
    size = largest
    while True:
        allowed = 1 if size >= wrap_below else max_lines
        lines = simpleSplit(text, font, size, width) if allowed > 1 else [text]
        fits = len(lines) <= allowed and all(pdfmetrics.stringWidth(line, font, size) <= width for line in lines)
        if fits or size <= 4:
            return size, lines
        size -= 0.5


def _centred_lines(canvas: Canvas, lines: list[str], font: str, size: float, top: float, leading: float) -> None:
    canvas.setFont(font, size)
    for index, line in enumerate(lines):
        canvas.drawCentredString(_CENTRE_X, top - index * leading, line)


def _left_line(canvas: Canvas, text: str, font: str, largest: float, y: float, colour: Color) -> None:
    size, _ = _fit(text, font, largest=largest, width=_FOOTER_WIDTH, max_lines=1, wrap_below=0)
    canvas.setFillColor(colour)
    canvas.setFont(font, size)
    canvas.drawString(_FOOTER_X, y, text)


def _render(content: CertificateContent, regular: str, bold: str) -> bytes:
    name = _nfc(content.attendee_name.strip())
    sentence = _nfc(
        f"attended {content.conference_name} organised by {content.organizer}, {content.dates}, "
        f"for {format_hours(content.hours)}."
    )
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=1,
        pageCompression=1,
        lang="en",
        initialFontName=regular,  # otherwise reportlab adds an unused, unembedded Helvetica
        initialFontSize=12,
    )
    # Metadata: what the certificate is, never who it is for.
    canvas.setTitle(f"{TITLE}: {_nfc(content.conference_name)}")
    canvas.setAuthor(_nfc(content.organizer))
    canvas.setSubject(f"{TITLE} {content.certificate_id}")
    canvas.setCreator("conference-backend")

    # Borders: a heavy one and a fine one inside it.
    canvas.setStrokeColor(_ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(_OUTER_INSET, _OUTER_INSET, PAGE_WIDTH - 2 * _OUTER_INSET, PAGE_HEIGHT - 2 * _OUTER_INSET)
    canvas.setLineWidth(0.75)
    canvas.rect(_INNER_INSET, _INNER_INSET, PAGE_WIDTH - 2 * _INNER_INSET, PAGE_HEIGHT - 2 * _INNER_INSET)

    # Title and a short rule under it.
    canvas.setFillColor(_ACCENT)
    canvas.setFont(bold, 36)
    canvas.drawCentredString(_CENTRE_X, 466, TITLE)
    canvas.setLineWidth(1.5)
    canvas.line(_CENTRE_X - 70, 448, _CENTRE_X + 70, 448)

    canvas.setFillColor(_MUTED)
    canvas.setFont(regular, 15)
    canvas.drawCentredString(_CENTRE_X, 400, "This certifies that")

    # The name: large and centred; smaller for a long name, on two lines only when one would be too small.
    size, lines = _fit(name, bold, largest=34, width=_TEXT_WIDTH, max_lines=2, wrap_below=20)
    leading = size * 1.2
    name_top = 346 + (len(lines) - 1) * leading / 2
    canvas.setFillColor(_INK)
    _centred_lines(canvas, lines, bold, size, name_top, leading)
    canvas.setStrokeColor(_MUTED)
    canvas.setLineWidth(0.5)
    canvas.line(_CENTRE_X - 220, 318, _CENTRE_X + 220, 318)

    # What they attended, wrapped into at most four lines.
    size, lines = _fit(sentence, regular, largest=15, width=_TEXT_WIDTH, max_lines=4, wrap_below=math.inf)
    canvas.setFillColor(_INK)
    _centred_lines(canvas, lines, regular, size, 284, size * 1.4)

    # Footer, left: issue date, id and the verification URL, each on one line.
    _left_line(canvas, f"Issued on {_nfc(content.issued_on)}", regular, 11, _QR_Y + 66, _INK)
    _left_line(canvas, f"Certificate ID: {content.certificate_id}", regular, 11, _QR_Y + 46, _INK)
    _left_line(canvas, "Verify this certificate at:", regular, 9, _QR_Y + 24, _MUTED)
    _left_line(canvas, content.verification_url, regular, 10, _QR_Y + 10, _ACCENT)

    # Footer, right: the URL as a QR code (quiet zone included in its size).
    _draw_qr(canvas, content.verification_url)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_qr(canvas: Canvas, value: str) -> None:
    """The QR code drawn as one filled path of one rectangle per run of dark modules in a row, written directly
    (`addLiteral`) with each coordinate formatted once: drawing each module as a shape object of its own would
    cost more than the whole rest of the page."""
    matrix = _qr_matrix(value)
    xs, ys, widths, height = _qr_coordinates(len(matrix))
    rectangles = [
        f"{xs[run.start()]} {ys[row]} {widths[run.end() - run.start()]} {height} re"
        for row, line in enumerate(matrix)
        for run in _DARK_RUN.finditer(line)
    ]
    canvas.setFillColor(black)
    canvas.addLiteral("\n".join(rectangles) + "\nf")


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code's modules (True: dark), row by row, without the quiet zone."""
    return [[module == 1 for module in row] for row in _qr_matrix(value)]


_DARK_RUN = re.compile(b"\x01+")  # in a row of segno's matrix: one byte per module, 1 dark, 0 light


def _qr_matrix(value: str) -> tuple[bytearray, ...]:
    """segno's matrix for `value`: a regular QR code (never a Micro QR), error correction level M exactly
    (boost_error=False: segno would otherwise raise the level when the data fits the same version), in byte
    mode whatever the characters (a URL is bytes; no mode guessing). The version is the smallest that holds
    the data at level M and the mask the one the standard's penalty rules choose: both follow from the value
    alone, so the same value gives the same modules.

    segno is imported with the first certificate, as the fonts are parsed: its package imports its image
    writers (urllib, xml...), about 30 ms that the stream dispatcher's cold start would pay for nothing."""
    import segno

    return segno.make(value, error="m", mode="byte", boost_error=False, micro=False).matrix


@functools.cache
def _qr_coordinates(count: int) -> tuple[list[str], list[str], list[str], str]:
    """For a code of `count` modules a side: each column's x, each row's bottom y, each run length's width and
    the module's height, in points, formatted once."""
    module = _QR_SIZE / (count + 2 * _QR_QUIET_ZONE)
    xs = [_points(_QR_X + (_QR_QUIET_ZONE + column) * module) for column in range(count)]
    ys = [_points(_QR_Y + _QR_SIZE - (_QR_QUIET_ZONE + row + 1) * module) for row in range(count)]
    widths = [_points(length * module) for length in range(count + 1)]
    return xs, ys, widths, _points(module)


def _points(value: float) -> str:
    return f"{value:.4f}"
