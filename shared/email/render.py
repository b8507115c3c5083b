"""How the emails say things: money, dates and times, and one body written once as text and as HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from shared.conference.models import Money

# Written out rather than strftime("%A %B"), which follows the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Stripe's minor units: these currencies have none (an amount of 200 yen is 200, not 2.00).
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_SYMBOLS = {"usd": "$"}


def money(value: Money) -> str:
    """$200.00, $10,000.00; other currencies as 200.00 EUR."""
    if value.currency in _ZERO_DECIMAL:
        number = f"{value.amount:,}"
    else:
        number = f"{value.amount // 100:,}.{value.amount % 100:02d}"
    symbol = _SYMBOLS.get(value.currency)
    return f"{symbol}{number}" if symbol else f"{number} {value.currency.upper()}"


def long_date(day: date) -> str:
    """Wednesday 5 August 2020."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a moment shown to people needs a time zone")
    return moment.astimezone(zone)


def clock(moment: datetime) -> str:
    """9:00 AM, 12:45 PM: the wall-clock time of an already local moment."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def time_range(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """9:00 AM - 9:30 AM CDT."""
    start, end = local(starts_at, zone), local(ends_at, zone)
    return f"{clock(start)} - {clock(end)} {end.tzname()}"


def date_and_time(moment: datetime, zone: ZoneInfo) -> str:
    """Wednesday 5 August 2020, 9:00 AM CDT."""
    at = local(moment, zone)
    return f"{long_date(at.date())}, {clock(at)} {at.tzname()}"


# A body is a sequence of blocks, rendered once as text/plain and once as text/html, so the two
# parts say the same thing. Every value is escaped where HTML is written, never before.


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Field:
    """A line of its own, "Label: value", which a reader or a program can find."""

    label: str
    value: str
    # "code" for what is typed or quoted back (access code, ids); "link" for a URL.
    style: Literal["text", "code", "link"] = "text"


@dataclass(frozen=True)
class Lines:
    """Lines kept as they are: a postal address."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Rows:
    """A small table: aligned columns in text, a table in HTML."""

    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Field | Lines | Rows


def plain_text(blocks: Sequence[Block]) -> str:
    return "\n\n".join(_text(block) for block in blocks) + "\n"


def _text(block: Block) -> str:
    match block:
        case Heading(text=text, level=2):
            return f"{text}\n{'=' * len(text)}"
        case Heading(text=text):
            return f"{text}\n{'-' * len(text)}"
        case Paragraph(text=text):
            return text
        case Field(label=label, value=value):
            return f"{label}: {value}"
        case Lines(lines=lines):
            return "\n".join(f"    {line}" for line in lines)
        case Rows(rows=rows):
            widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
            return "\n".join(
                "  " + "  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]])
                for row in rows
            )


_FONT = "font-family:Arial,Helvetica,sans-serif;color:#1a1a1a"


def html_document(title: str, blocks: Sequence[Block]) -> str:
    body = "\n".join(_html(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        f'<body style="margin:0;padding:24px;{_FONT};font-size:15px;line-height:1.5">\n{body}\n</body>\n</html>\n'
    )


def _html(block: Block) -> str:
    match block:
        case Heading(text=text, level=level):
            size = "20px" if level == 2 else "16px"
            return f'<h{level} style="margin:24px 0 8px;font-size:{size}">{html.escape(text)}</h{level}>'
        case Paragraph(text=text):
            return f'<p style="margin:0 0 12px">{html.escape(text)}</p>'
        case Field(label=label, value=value, style=style):
            shown = html.escape(value)
            if style == "link":
                shown = f'<a href="{shown}">{shown}</a>'
            elif style == "code":
                shown = f'<span style="font-family:Consolas,Menlo,monospace;font-size:17px">{shown}</span>'
            return f'<p style="margin:0 0 12px"><strong>{html.escape(label)}:</strong> {shown}</p>'
        case Lines(lines=lines):
            return f'<p style="margin:0 0 12px 16px">{"<br>".join(html.escape(line) for line in lines)}</p>'
        case Rows(rows=rows):
            # The first column (a time range, a seat number) never wraps.
            first = '<td style="padding:2px 16px 2px 0;vertical-align:top;white-space:nowrap">'
            other = '<td style="padding:2px 16px 2px 0;vertical-align:top">'
            rendered = "\n".join(
                "<tr>"
                + "".join(
                    f"{first if column == 0 else other}{html.escape(value)}</td>" for column, value in enumerate(row)
                )
                + "</tr>"
                for row in rows
            )
            return f'<table style="border-collapse:collapse;margin:0 0 12px">\n{rendered}\n</table>'
