"""The certificate of attendance as a one-page PDF (landscape US Letter), drawn with reportlab.

Pure: content in, PDF bytes out; no AWS, no clock, no randomness. The same content gives the same bytes
(reportlab's invariant mode fixes the timestamps and the document id).

Fonts: DejaVu Sans and DejaVu Sans Bold ship with the code (`fonts/`, Bitstream Vera licence: the Lambda
has no system fonts). They cover every Latin script (Łukasz, Nguyễn, Øyvind, Şükrü...). They are parsed and
registered once per process: parsing a TrueType file is most of what a certificate would cost otherwise
(see `render_certificate_naively` and `make bench`). Each document embeds only the subset of glyphs it uses,
with a ToUnicode map, so the text is selectable and extractable and renders on any viewer.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import itertools
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from reportlab.lib.colors import Color, HexColor, black
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas


def _load_qr_encoder() -> ModuleType:
    """reportlab's QR encoder module (pure Python: re and itertools), loaded from its file under a private name.
    Importing it by its name would first run the `reportlab.graphics.barcode` package, which imports and
    registers every barcode widget (shapes, platypus...): about 65 ms of the stream dispatcher's cold start
    for code it never uses. A private copy also keeps this module's speed-ups (below) out of reportlab's."""
    package = importlib.util.find_spec("reportlab.graphics.barcode")  # imports reportlab.graphics, not barcode
    assert package is not None and package.submodule_search_locations
    path = Path(next(iter(package.submodule_search_locations))) / "qrencoder.py"
    spec = importlib.util.spec_from_file_location("shared.certificates._reportlab_qrencoder", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_qrencoder = _load_qr_encoder()
QRCode: Any = _qrencoder.QRCode
QRErrorCorrectLevel: Any = _qrencoder.QRErrorCorrectLevel
QRUtil: Any = _qrencoder.QRUtil

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
            pdfmetrics.registerFont(TTFont(REGULAR_FONT, str(_REGULAR_FILE)))
            pdfmetrics.registerFont(TTFont(BOLD_FONT, str(_BOLD_FILE)))
            _fonts_registered = True


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
    pdfmetrics.registerFont(TTFont(regular, str(_REGULAR_FILE)))
    pdfmetrics.registerFont(TTFont(bold, str(_BOLD_FILE)))
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
    """The QR code (reportlab's encoder, level M, the mask reportlab's penalty rules choose, found faster by
    `_best_mask`) drawn as one filled path of one rectangle per run of dark modules in a row. reportlab's
    QrCodeWidget draws the same modules as one validated shape object each, which costs more than the whole
    rest of the page; the path is written directly (`addLiteral`) with each coordinate formatted once."""
    modules = qr_modules(value)
    xs, ys, widths, height = _qr_coordinates(len(modules))
    rectangles = [
        f"{xs[run.start()]} {ys[row]} {widths[run.end() - run.start()]} {height} re"
        for row, line in enumerate(modules)
        for run in _DARK_RUN.finditer("".join("1" if dark else "0" for dark in line))
    ]
    canvas.setFillColor(black)
    canvas.addLiteral("\n".join(rectangles) + "\nf")


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code's modules (True: dark), row by row: what reportlab's `QRCode.make()` gives, faster."""
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(value)
    code.version = code.calculate_version()
    code.makeImpl(False, _best_mask(code))
    modules: list[list[bool]] = code.modules
    return modules


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


# --- The QR mask: reportlab's choice, computed on bit rows ------------------------------------------------
# reportlab's QRCode.make() builds the whole matrix once per mask (8 times) and scores each with list-based
# penalty rules: most of a certificate's time. `_best_mask` scores the same matrices, built by XOR on one
# integer per row, with reportlab's exact rules (its quirks included: the finder-like pattern only in rows,
# only as 1011101 0000, found left to right without overlaps, never in the last position), so it picks the
# same mask and the PDF is byte for byte what reportlab alone would make (a unit test compares the two).

# reportlab also derives the Reed-Solomon generator polynomial afresh for every code, though it depends only on
# the number of error correction codewords (a handful of values): kept once per process (in this module's
# private copy of the encoder). The polynomials are never modified (multiply and mod make new ones), so
# sharing them changes no output.
QRUtil.getErrorCorrectPolynomial = staticmethod(functools.cache(QRUtil.getErrorCorrectPolynomial))

_FINDER_LIKE = "10111010000"
_DARK_RUN = re.compile("1+")
_RUN_OF_FIVE = re.compile(r"0{5,}|1{5,}")


def _best_mask(code: Any) -> int:
    """The mask `QRCode.getBestMaskPattern()` returns, for a code whose version is set."""
    code.makeImpl(True, 0)  # the test matrix (format areas light) with mask 0; creates the data codewords
    count = code.getModuleCount()
    masks = _data_masks.get(code.version) or _data_masks.setdefault(code.version, _masks_of(code, count))
    rows = [int("".join("1" if dark else "0" for dark in row), 2) for row in code.modules]
    unmasked = [row ^ mask for row, mask in zip(rows, masks[0], strict=True)]
    best, lowest = 0, -1
    for pattern, mask_rows in enumerate(masks):
        penalty = _penalty([row ^ mask for row, mask in zip(unmasked, mask_rows, strict=True)], count)
        if lowest < 0 or penalty < lowest:
            best, lowest = pattern, penalty
    return best


_data_masks: dict[int, list[list[int]]] = {}  # per version (the data modules' positions depend on it alone)


def _masks_of(code: Any, count: int) -> list[list[int]]:
    """Per mask pattern, per row: the bits the mask flips (data modules only), column 0 the highest bit."""
    masks = []
    positions = code.dataPosIterator()
    for pattern in range(8):
        flips = QRUtil.getMask(pattern)
        rows = [0] * count
        for column, row in positions:
            if flips(row, column):
                rows[row] |= 1 << (count - 1 - column)
        masks.append(rows)
    return masks


def _penalty(rows: list[int], count: int) -> int:
    """reportlab's QRUtil.getLostPoint for the matrix given as one integer per row."""
    lines = [format(row, f"0{count}b") for row in rows]
    columns = ["".join(column) for column in zip(*lines, strict=True)]
    penalty = 0
    for line in itertools.chain(lines, columns):
        # Runs of five or more modules of one colour: 3 + (length - 5) each.
        penalty += sum(len(run) - 2 for run in _RUN_OF_FIVE.findall(line))
    for line in lines:
        # The finder-like pattern, scanned as reportlab scans it (in rows only: its column scan compares
        # tuples with a list, which never match).
        last, start = count - len(_FINDER_LIKE), 0
        while (found := line.find(_FINDER_LIKE, start)) != -1 and found < last:
            penalty += 40
            start = found + len(_FINDER_LIKE)
    # 2x2 blocks of one colour: 3 each.
    full = (1 << count) - 1
    for upper, lower in itertools.pairwise(rows):
        same_column = ~(upper ^ lower) & full
        same_neighbour = ~(upper ^ (upper >> 1)) & (full >> 1)
        penalty += 3 * (same_column & (same_column >> 1) & same_neighbour).bit_count()
    # The share of dark modules away from half.
    dark = sum(row.bit_count() for row in rows)
    return penalty + 10 * (abs(100 * dark // (count * count) - 50) // 5)
