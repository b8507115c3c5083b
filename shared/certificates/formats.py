"""How certificates write hours and dates, for the PDF and the verification page alike. No reportlab here: the
certificate API function (the verification page) must not load the PDF's libraries at its cold start."""

from __future__ import annotations

from datetime import date

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


def format_hours(hours: float) -> str:
    """15.5 -> "15.5 hours", 0.25 -> "0.25 hours", 15.0 -> "15 hours", 1.0 -> "1 hour"."""
    number = f"{hours:.2f}".rstrip("0").rstrip(".")
    return f"{number} hour" if number == "1" else f"{number} hours"


def day_month_year(day: date) -> str:
    """7 August 2020: no weekday, unambiguous in every English-speaking country."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """7 Aug 2020, for the table's date column."""
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def date_range(starts_on: date, ends_on: date) -> str:
    """5\u20137 August 2020, 31 July \u2013 2 August 2020, 30 December 2020 \u2013 1 January 2021, 5 August 2020."""
    if starts_on == ends_on:
        return day_month_year(starts_on)
    if (starts_on.year, starts_on.month) == (ends_on.year, ends_on.month):
        return f"{starts_on.day}\u2013{day_month_year(ends_on)}"
    if starts_on.year == ends_on.year:
        return f"{starts_on.day} {_MONTHS[starts_on.month - 1]} \u2013 {day_month_year(ends_on)}"
    return f"{day_month_year(starts_on)} \u2013 {day_month_year(ends_on)}"
