"""The certificate of attendance as a PDF (portrait US Letter, one page; two or more only when the table of sessions
needs them), drawn with reportlab.

What a training board asks for: the attendee, their organization and licence or officer id, the conference, its
organiser and dates, a table of the sessions attended (date, title, speakers, minutes credited), the total contact
hours, who signs, the issue date, the certificate id and the verification URL with its QR code. The text is drawn
in reading order (top to bottom, left to right; the QR code last) and the document's language is set, so a screen
reader or a text extractor reads it as a person would. reportlab writes no structure tree (tags), so the file does
not claim to be tagged.

Pure: content in, PDF bytes out; no AWS, no clock, no randomness. The same content gives the same bytes
(reportlab's invariant mode fixes the timestamps and the document id).

Fonts: DejaVu Sans and DejaVu Sans Bold ship with the code (`fonts/`, Bitstream Vera licence: the Lambda
has no system fonts). They cover every Latin script (Łukasz, Nguyễn, Øyvind, Şükrü...). They are parsed and
registered once per process: parsing a TrueType file is most of what a certificate would cost otherwise
(see `render_certificate_naively` and `make bench`). Each document embeds only the subset of glyphs it uses,
with a ToUnicode map, so the text is selectable and extractable and renders on any viewer.

The QR code of the verification URL: segno's (level M, its mask chosen faster: `qr.py`), drawn as one path.
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
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from shared.certificates.content import CertificateContent, SessionRow
from shared.certificates.formats import format_hours
from shared.certificates.qr import qr_matrix

FONTS_DIR = Path(__file__).parent / "fonts"
_REGULAR_FILE = FONTS_DIR / "DejaVuSans.ttf"
_BOLD_FILE = FONTS_DIR / "DejaVuSans-Bold.ttf"

# Names under which this module registers the fonts in reportlab's (process-wide) font registry.
REGULAR_FONT = "Certificate-DejaVuSans"
BOLD_FONT = "Certificate-DejaVuSans-Bold"

PAGE_WIDTH, PAGE_HEIGHT = letter  # 612 x 792 points, portrait: a table reads down the page
_CENTRE_X = PAGE_WIDTH / 2
_OUTER_INSET = 24.0  # the heavy border
_INNER_INSET = 32.0  # the fine border inside it; nothing is drawn outside it
_LEFT = 56.0  # the text block's edges
_RIGHT = PAGE_WIDTH - 56.0
_TEXT_WIDTH = _RIGHT - _LEFT
_QR_SIZE = 100.0  # points, quiet zone included (about 35 mm)
_QR_QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
_QR_X = PAGE_WIDTH - _INNER_INSET - 16.0 - _QR_SIZE
_QR_Y = _INNER_INSET + 16.0
_FOOTER_X = _LEFT
_FOOTER_WIDTH = _QR_X - 16.0 - _FOOTER_X  # the footer lines stop short of the QR code
_FOOTER_TOP = 182.0  # the table stops above this

# The table of sessions: the date, the session (title, then its speakers in smaller type) and the minutes.
_DATE_X = _LEFT
_SESSION_X = _LEFT + 72.0
_MINUTES_RIGHT = _RIGHT
_SESSION_WIDTH = _MINUTES_RIGHT - 56.0 - _SESSION_X
_TITLE_SIZE, _TITLE_LEADING = 8.5, 10.0
_SPEAKER_SIZE, _SPEAKER_LEADING = 7.0, 8.5
_ROW_PADDING = 2.5
_HEADER_ROW = 16.0
_TOTAL_ROW = 20.0

_INK = HexColor("#222222")
_ACCENT = HexColor("#1F3A5F")
_MUTED = HexColor("#555555")
_RULE = HexColor("#BBBBBB")

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


@functools.lru_cache(maxsize=2048)
def _wrapped(text: str, font: str, size: float, width: float, max_lines: int) -> tuple[str, ...]:
    """`text` broken at spaces into lines of `width`, at most `max_lines` (the last one shortened with an ellipsis).
    Cached: every attendee's table repeats the same agenda, and measuring text is pure Python."""
    lines = simpleSplit(text, font, size, width) or [""]
    if len(lines) <= max_lines:
        return tuple(lines)
    last = " ".join(lines[max_lines - 1 :])
    while last and pdfmetrics.stringWidth(last + "\u2026", font, size) > width:
        last = last[:-1]
    return (*lines[: max_lines - 1], last.rstrip() + "\u2026")


def _centred_lines(canvas: Canvas, lines: list[str], font: str, size: float, top: float, leading: float) -> None:
    canvas.setFont(font, size)
    for index, line in enumerate(lines):
        canvas.drawCentredString(_CENTRE_X, top - index * leading, line)


def _left_line(canvas: Canvas, text: str, font: str, largest: float, y: float, colour: Color) -> None:
    size, _ = _fit(text, font, largest=largest, width=_FOOTER_WIDTH, max_lines=1, wrap_below=0)
    canvas.setFillColor(colour)
    canvas.setFont(font, size)
    canvas.drawString(_FOOTER_X, y, text)


@dataclass(frozen=True)
class _Row:
    date: str
    title: tuple[str, ...]
    speakers: tuple[str, ...]
    minutes: str

    @property
    def height(self) -> float:
        return 2 * _ROW_PADDING + len(self.title) * _TITLE_LEADING + len(self.speakers) * _SPEAKER_LEADING


def _rows(sessions: tuple[SessionRow, ...], regular: str) -> list[_Row]:
    return [
        _Row(
            date=_nfc(session.date),
            title=_wrapped(_nfc(session.title), regular, _TITLE_SIZE, _SESSION_WIDTH, 2),
            speakers=_wrapped(_nfc(session.speakers), regular, _SPEAKER_SIZE, _SESSION_WIDTH, 2)
            if session.speakers
            else (),
            minutes=str(session.minutes),
        )
        for session in sessions
    ]


def _paginate(rows: list[_Row], first_top: float, next_top: float) -> list[list[_Row]]:
    """The rows page by page, each page's rows above the footer; the total row after the last row, on the same page
    when it fits. Always at least one page."""
    pages: list[list[_Row]] = [[]]
    room = first_top - _HEADER_ROW - _FOOTER_TOP
    for row in rows:
        if row.height > room and pages[-1]:
            pages.append([])
            room = next_top - _HEADER_ROW - _FOOTER_TOP
        pages[-1].append(row)
        room -= row.height
    if rows and room < _TOTAL_ROW:
        pages.append([])  # the total alone on a last page, under the table's header
    return pages


def _render(content: CertificateContent, regular: str, bold: str) -> bytes:
    name = _nfc(content.attendee_name.strip())
    sentence = _nfc(
        f"attended {content.conference_name}, organised by {content.organizer}, {content.dates}, "
        f"for {format_hours(content.hours)}."
    )
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=1,
        pageCompression=1,
        lang="en",  # the document's language, for screen readers
        initialFontName=regular,  # otherwise reportlab adds an unused, unembedded Helvetica
        initialFontSize=12,
    )
    # Metadata: what the certificate is, never who it is for; viewers show the title rather than the file name.
    canvas.setTitle(f"{TITLE}: {_nfc(content.conference_name)}")
    canvas.setAuthor(_nfc(content.organizer))
    canvas.setSubject(f"{TITLE} {content.certificate_id}")
    canvas.setCreator("conference-backend")
    canvas.setViewerPreference("DisplayDocTitle", "true")

    # Everything above the table on the first page, measured before anything is drawn.
    name_size, name_lines = _fit(name, bold, largest=24, width=_TEXT_WIDTH, max_lines=2, wrap_below=16)
    name_leading = name_size * 1.2
    name_bottom = 652 - (len(name_lines) - 1) * name_leading
    held = [_nfc(content.organization.strip())] if content.organization.strip() else []
    if content.license_id:
        held.append(f"License or officer ID: {_nfc(content.license_id)}")
    detail_y = name_bottom - 32
    sentence_top = detail_y - (22 if held else 0)
    sentence_size, sentence_lines = _fit(
        sentence, regular, largest=11, width=_TEXT_WIDTH, max_lines=3, wrap_below=math.inf
    )
    sentence_leading = sentence_size * 1.4
    table_top = sentence_top - (len(sentence_lines) - 1) * sentence_leading - 26

    rows = _rows(content.sessions, regular)
    pages = _paginate(rows, table_top, 700.0) if rows else [[]]
    qr = _qr_path(content.verification_url)

    for number, page_rows in enumerate(pages, start=1):
        _draw_borders(canvas)
        if number == 1:
            canvas.setFillColor(_MUTED)
            canvas.setFont(regular, 10)
            canvas.drawCentredString(_CENTRE_X, 744, _nfc(content.organizer))
            canvas.setFillColor(_ACCENT)
            canvas.setFont(bold, 26)
            canvas.drawCentredString(_CENTRE_X, 712, TITLE)
            canvas.setStrokeColor(_ACCENT)
            canvas.setLineWidth(1.5)
            canvas.line(_CENTRE_X - 60, 700, _CENTRE_X + 60, 700)
            canvas.setFillColor(_MUTED)
            canvas.setFont(regular, 11)
            canvas.drawCentredString(_CENTRE_X, 680, "This certifies that")
            canvas.setFillColor(_INK)
            _centred_lines(canvas, name_lines, bold, name_size, 652, name_leading)
            canvas.setStrokeColor(_MUTED)
            canvas.setLineWidth(0.5)
            canvas.line(_CENTRE_X - 200, name_bottom - 12, _CENTRE_X + 200, name_bottom - 12)
            if held:
                text = "  \u00b7  ".join(held)
                size, _ = _fit(text, regular, largest=10, width=_TEXT_WIDTH, max_lines=1, wrap_below=0)
                canvas.setFillColor(_INK)
                canvas.setFont(regular, size)
                canvas.drawCentredString(_CENTRE_X, detail_y, text)
            canvas.setFillColor(_INK)
            _centred_lines(canvas, sentence_lines, regular, sentence_size, sentence_top, sentence_leading)
            top = table_top
        else:
            canvas.setFillColor(_ACCENT)
            canvas.setFont(bold, 14)
            canvas.drawString(_LEFT, 728, f"{TITLE} (continued)")
            size, _ = _fit(name, regular, largest=10, width=_TEXT_WIDTH, max_lines=1, wrap_below=0)
            canvas.setFillColor(_INK)
            canvas.setFont(regular, size)
            canvas.drawString(_LEFT, 712, name)
            top = 700.0
        if rows:
            last = number == len(pages)
            _draw_table(canvas, page_rows, top, regular, bold, total=_total_row(content) if last else None)
        _draw_footer(canvas, content, regular, bold, qr, page=(number, len(pages)))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _total_row(content: CertificateContent) -> str:
    minutes = sum(session.minutes for session in content.sessions)
    return f"{format_hours(content.hours)} ({minutes} minutes)"


def _draw_borders(canvas: Canvas) -> None:
    canvas.setStrokeColor(_ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(_OUTER_INSET, _OUTER_INSET, PAGE_WIDTH - 2 * _OUTER_INSET, PAGE_HEIGHT - 2 * _OUTER_INSET)
    canvas.setLineWidth(0.75)
    canvas.rect(_INNER_INSET, _INNER_INSET, PAGE_WIDTH - 2 * _INNER_INSET, PAGE_HEIGHT - 2 * _INNER_INSET)


def _draw_table(canvas: Canvas, rows: list[_Row], top: float, regular: str, bold: str, *, total: str | None) -> None:
    """The column headings, the rows (date, title over speakers, minutes right-aligned), a hairline under each, and
    on the last page the total contact hours."""
    canvas.setFillColor(_ACCENT)
    canvas.setFont(bold, 8.5)
    baseline = top - 11
    canvas.drawString(_DATE_X, baseline, "Date")
    canvas.drawString(_SESSION_X, baseline, "Session attended and speakers")
    canvas.drawRightString(_MINUTES_RIGHT, baseline, "Minutes")
    canvas.setStrokeColor(_ACCENT)
    canvas.setLineWidth(0.75)
    y = top - _HEADER_ROW
    canvas.line(_LEFT, y, _RIGHT, y)
    canvas.setLineWidth(0.25)
    for row in rows:
        baseline = y - _ROW_PADDING - _TITLE_SIZE
        canvas.setFillColor(_INK)
        canvas.setFont(regular, _TITLE_SIZE)
        canvas.drawString(_DATE_X, baseline, row.date)
        for index, line in enumerate(row.title):
            canvas.drawString(_SESSION_X, baseline - index * _TITLE_LEADING, line)
        if row.speakers:
            canvas.setFillColor(_MUTED)
            canvas.setFont(regular, _SPEAKER_SIZE)
            speaker_top = baseline - len(row.title) * _TITLE_LEADING + (_TITLE_LEADING - _SPEAKER_LEADING)
            for index, line in enumerate(row.speakers):
                canvas.drawString(_SESSION_X, speaker_top - index * _SPEAKER_LEADING, line)
            canvas.setFillColor(_INK)
            canvas.setFont(regular, _TITLE_SIZE)
        # Drawn last in its row: a reader reads the date, the session and its speakers, then the minutes.
        canvas.drawRightString(_MINUTES_RIGHT, baseline, row.minutes)
        y -= row.height
        canvas.setStrokeColor(_RULE)
        canvas.line(_LEFT, y, _RIGHT, y)
    if total is not None:
        canvas.setFillColor(_INK)
        canvas.setFont(bold, 9.5)
        canvas.drawString(_SESSION_X, y - 14, "Total contact hours")
        canvas.drawRightString(_MINUTES_RIGHT, y - 14, total)


def _draw_footer(
    canvas: Canvas, content: CertificateContent, regular: str, bold: str, qr: str, *, page: tuple[int, int]
) -> None:
    """Left: who signs, the issue date, the id and the verification URL; right: the URL's QR code. On every page, so
    each page of a two-page certificate can be verified on its own."""
    canvas.setStrokeColor(_INK)
    canvas.setLineWidth(0.5)
    canvas.line(_FOOTER_X, _QR_Y + 112, _FOOTER_X + 200, _QR_Y + 112)
    signed_by = _nfc(content.signatory_name) if content.signatory_name else _nfc(content.organizer)
    _left_line(canvas, signed_by, bold, 9.5, _QR_Y + 101, _INK)
    if content.signatory_name and content.signatory_title:
        _left_line(
            canvas, f"{_nfc(content.signatory_title)}, {_nfc(content.organizer)}", regular, 8.5, _QR_Y + 90, _MUTED
        )
    _left_line(canvas, f"Issued on {_nfc(content.issued_on)}", regular, 9, _QR_Y + 62, _INK)
    _left_line(canvas, f"Certificate ID: {content.certificate_id}", regular, 9, _QR_Y + 48, _INK)
    _left_line(canvas, "Verify this certificate at:", regular, 8, _QR_Y + 28, _MUTED)
    _left_line(canvas, content.verification_url, regular, 9, _QR_Y + 16, _ACCENT)
    number, pages = page
    if pages > 1:
        canvas.setFillColor(_MUTED)
        canvas.setFont(regular, 8)
        canvas.drawRightString(_QR_X + _QR_SIZE, _QR_Y + _QR_SIZE + 8, f"Page {number} of {pages}")
    canvas.setFillColor(black)
    canvas.addLiteral(qr)


def _qr_path(value: str) -> str:
    """The QR code as one filled path of one rectangle per run of dark modules in a row, for `addLiteral`, with each
    coordinate formatted once: drawing each module as a shape object of its own would cost more than the whole rest
    of the page."""
    matrix = qr_matrix(value)
    xs, ys, widths, height = _qr_coordinates(len(matrix))
    rectangles = [
        f"{xs[run.start()]} {ys[row]} {widths[run.end() - run.start()]} {height} re"
        for row, line in enumerate(matrix)
        for run in _DARK_RUN.finditer(line)
    ]
    return "\n".join(rectangles) + "\nf"


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code's modules (True: dark), row by row, without the quiet zone."""
    return [[module == 1 for module in row] for row in qr_matrix(value)]


_DARK_RUN = re.compile(b"\x01+")  # in a row of segno's matrix: one byte per module, 1 dark, 0 light


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
