"""The conference's emails as data: a registration in, what to send out (API.md, "Emails").

Only confirmation subjects say "confirmed"; receipts and refund notices never do, so a reader (or a
test) can tell the kinds apart by subject alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from itertools import groupby
from urllib.parse import quote

from shared.conference.models import Conference, Money
from shared.email.calendar import attend_url, conference_invite
from shared.email.mime import Attachment, Mailbox
from shared.email.render import (
    Block,
    Field,
    Heading,
    Lines,
    Paragraph,
    Rows,
    date_and_time,
    html_document,
    long_date,
    money,
    plain_text,
    time_range,
)
from shared.registration.models import Purchaser, Registration, Seat, SeatStatus, ShippingAddress

# SES tag values allow ASCII letters, digits, '_', '-', '.' and '@'; '@' is left out here so that
# no email address (personal data) can ever become a tag.
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_COIN = "30th-anniversary conference coin"
_INVITE = "invite.ics"


@dataclass(frozen=True, kw_only=True)
class Email:
    to: Mailbox
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    kind: str  # confirmation | access_code | receipt | refund_notice | certificate: the outbox's and SES tags' name
    tags: dict[str, str]
    # The event's own name and address; None: the mailer's default sender.
    sender: Mailbox | None = None
    # Only on mail that is not transactional (reminders): where the recipient asks to stop receiving it.
    list_unsubscribe: str | None = None


def sign_in_url(site_url: str, email: str, access_code: str) -> str:
    """The attend page that signs this attendee in with one click: the email and code travel in the fragment,
    which a browser never sends to a server (so no access log or proxy sees them)."""
    return f"{attend_url(site_url)}#email={quote(email, safe='')}&code={quote(access_code, safe='')}"


def confirmation(
    conference: Conference,
    registration: Registration,
    seat: Seat,
    access_code: str,
    *,
    site_url: str,
    sent_at: datetime,
) -> Email:
    """To each attendee once the seat is paid: the access code, a one-click sign-in link, the agenda, and the
    conference days as a calendar attachment."""
    _require_seat(registration, seat)
    name = _full_name(seat)
    blocks: list[Block] = [
        Paragraph(f"Hello {name},"),
        Paragraph(f"Your registration for the {conference.name} is confirmed."),
        Paragraph(
            f"The conference runs from {long_date(conference.starts_on)} to {long_date(conference.ends_on)}, "
            f"online. All times are in the conference's time zone, {conference.timezone} ({_zone_name(conference)})."
        ),
        *_how_to_sign_in(site_url, seat, access_code),
    ]
    if registration.kind == "individual":
        blocks += [
            Heading("Your conference coin"),
            Paragraph(f"The {_COIN} will be mailed to you at this address:"),
            Lines((name, *_address_lines(_shipping_address(registration)))),
        ]
    else:
        purchaser = _purchaser(registration)
        blocks.append(Paragraph(f"Your seat was registered for you by {purchaser.organization} ({purchaser.name})."))
    blocks += [
        *_agenda(conference),
        Paragraph(f"The attached {_INVITE} puts each conference day in your calendar."),
        Paragraph("See you online."),
        *_footer(conference),
    ]
    subject = f"Registration confirmed: {conference.name}"
    email = _email("confirmation", registration, Mailbox(name, seat.email), subject, blocks, seat)
    invite = conference_invite(conference, attendee_id=seat.attendee_id, site_url=site_url, sent_at=sent_at)
    return replace(email, attachments=(invite,))


def access_code(conference: Conference, registration: Registration, seat: Seat, code: str, *, site_url: str) -> Email:
    """A new access code, asked for by the attendee (POST /access-codes) or sent by an organiser. Its subject says
    "access code" and never "confirmed" (only a confirmation's does)."""
    _require_seat(registration, seat)
    name = _full_name(seat)
    blocks: list[Block] = [
        Paragraph(f"Hello {name},"),
        Paragraph(f"Here is a new access code for the {conference.name}."),
        *_how_to_sign_in(site_url, seat, code),
        Paragraph("If you did not ask for a new code, you can ignore this email."),
        *_footer(conference),
    ]
    subject = f"Your new access code for the {conference.name}"
    return _email("access_code", registration, Mailbox(name, seat.email), subject, blocks, seat)


REMINDER_SUBJECTS = {
    "week": "Reminder: the {name} starts in a week",
    "day": "Reminder: the {name} starts tomorrow",
    "hour": "Reminder: the {name} starts in an hour",
}


def reminder(
    conference: Conference,
    registration: Registration,
    seat: Seat,
    code: str,
    *,
    which: str,
    site_url: str,
    sent_at: datetime,
) -> Email:
    """Before the conference (a week, a day, an hour before the first session): when it starts, a one-click sign-in
    with a code of its own (the earlier ones keep working), the first day's agenda and the calendar attachment.
    Not transactional, so it carries List-Unsubscribe; its subject says "Reminder" and never "confirmed"."""
    _require_seat(registration, seat)
    if which not in REMINDER_SUBJECTS:
        raise ValueError(f"unknown reminder {which!r}")
    name = _full_name(seat)
    first_day = conference.sessions[0].day
    starts_at = min(session.starts_at for session in conference.sessions)
    blocks: list[Block] = [
        Paragraph(f"Hello {name},"),
        Paragraph(
            f"The {conference.name} starts on {date_and_time(starts_at, conference.zone)}, online. "
            f"All times are in the conference's time zone, {conference.timezone} ({_zone_name(conference)})."
        ),
        *_how_to_sign_in(site_url, seat, code),
        Paragraph("This access code works alongside the one in your confirmation; either one signs you in."),
        *_agenda(conference, days={first_day}, title="The first day"),
        Paragraph(f"The attached {_INVITE} puts each conference day in your calendar."),
        *_footer(conference),
        Paragraph(
            "You receive this reminder because you hold a seat at this conference. To receive no more reminders, "
            f"reply to {conference.sender} with the word unsubscribe; your confirmation and certificate still come."
        ),
    ]
    subject = REMINDER_SUBJECTS[which].format(name=conference.name)
    email = _email("reminder", registration, Mailbox(name, seat.email), subject, blocks, seat)
    invite = conference_invite(conference, attendee_id=seat.attendee_id, site_url=site_url, sent_at=sent_at)
    unsubscribe = f"<mailto:{conference.sender}?subject={quote('unsubscribe reminders ' + seat.attendee_id)}>"
    return replace(email, attachments=(invite,), list_unsubscribe=unsubscribe)


def _how_to_sign_in(site_url: str, seat: Seat, access_code: str) -> list[Block]:
    if not access_code or any(char.isspace() for char in access_code):
        raise ValueError("an access code is one word: the email's line must read back exactly")
    return [
        Heading("How to log in"),
        Paragraph("Sign in with one click:"),
        Field("Sign in", sign_in_url(site_url, seat.email, access_code), style="link"),
        Paragraph("Or log in at the conference site with this email address and your personal access code:"),
        Field("Conference site", attend_url(site_url), style="link"),
        Field("Email", seat.email, style="code"),
        Field("Access code", access_code, style="code"),
        Paragraph(
            "The access code is yours alone. Each person can have one active session at a time: logging in "
            "again, on any device, ends the previous session. Only those who log in individually receive a "
            "certificate of attendance."
        ),
    ]


def receipt(conference: Conference, registration: Registration, *, paid_amount: Money, paid_at: datetime) -> Email:
    """To every payer once paid (an individual registrant, a group's purchaser, or the billing contact an invoice
    went to): the seats, the amount and date paid, and the organiser's name, address and tax id, as a reimbursement
    claim needs them. The subject says "Receipt", never "confirmed"."""
    payer = _payer(registration)
    billed = [seat for seat in registration.seats if seat.status is not SeatStatus.NOT_BILLED]
    count, fee = len(billed), registration.seat_fee
    blocks: list[Block] = [
        Paragraph(f"Hello {payer.display_name},"),
        Paragraph(f"Thank you: we have received the payment for your registration for the {conference.name}."),
        Field("Registration ID", registration.registration_id, style="code"),
    ]
    if registration.purchaser is not None:
        blocks.append(Field("Organization", registration.purchaser.organization))
    if registration.billing is not None and registration.billing.po_number:
        blocks.append(Field("PO number", registration.billing.po_number))
    if registration.payment.invoice_id:
        blocks.append(Field("Invoice", registration.payment.invoice_id, style="code"))
    blocks += [
        Field("Paid on", date_and_time(paid_at, conference.zone)),
        Heading("Seats"),
        Rows(tuple((f"{position}.", _full_name(seat), seat.email) for position, seat in enumerate(billed, start=1))),
        Paragraph(f"{count} {'seat' if count == 1 else 'seats'} x {money(fee)} = {money(fee.times(count))}"),
        Field("Total paid", money(paid_amount)),
        *_issuer(conference),
    ]
    if registration.kind == "group":
        blocks.append(
            Paragraph(
                "Each attendee receives their own confirmation email with a personal access code, and logs in "
                "individually: only those who log in individually receive a certificate of attendance."
            )
        )
    blocks += _footer(conference)
    subject = f"Receipt for your registration: {conference.name}"
    return _email("receipt", registration, payer, subject, blocks)


def _payer(registration: Registration) -> Mailbox:
    if registration.billing is not None:
        return Mailbox(registration.billing.billing_name, registration.billing.billing_email)
    if registration.purchaser is not None:
        return Mailbox(registration.purchaser.name, registration.purchaser.email)
    seat = registration.seats[0]
    return Mailbox(_full_name(seat), seat.email)


def _issuer(conference: Conference) -> list[Block]:
    """Who received the payment, as a reimbursement claim names them."""
    lines = (conference.organizer, *((conference.organizer_address,) if conference.organizer_address else ()))
    blocks: list[Block] = [Heading("Paid to"), Lines(lines)]
    if conference.organizer_tax_id:
        blocks.append(Field("Tax ID", conference.organizer_tax_id))
    return blocks


def refund_notice(conference: Conference, registration: Registration, seat: Seat) -> Email:
    """To each attendee of a refunded registration: access is revoked."""
    _require_seat(registration, seat)
    name = _full_name(seat)
    blocks: list[Block] = [
        Paragraph(f"Hello {name},"),
        Paragraph(
            f"Your registration for the {conference.name} has been refunded, and your access to the "
            "conference has been revoked: your access code no longer lets you log in."
        ),
        Field("Registration ID", registration.registration_id, style="code"),
    ]
    if registration.kind == "individual":
        blocks += [
            Paragraph("The refund goes back to the payment method used to pay."),
            Paragraph(f"If your {_COIN} had not shipped yet, it will not be mailed."),
        ]
    else:
        purchaser = _purchaser(registration)
        blocks.append(
            Paragraph(
                f"Your seat was registered for you by {purchaser.organization} ({purchaser.name}); "
                "the refund goes back to them."
            )
        )
    blocks += _footer(conference)
    subject = f"Your registration has been refunded: {conference.name}"
    return _email("refund_notice", registration, Mailbox(name, seat.email), subject, blocks, seat)


def duplicate_seat_refund(conference: Conference, registration: Registration, seat: Seat) -> Email:
    """To the payer of a seat whose person already held a paid seat when this one was paid: that seat's fee goes
    back, and the person keeps the seat (and the access code) they already had."""
    _require_seat(registration, seat)
    name = _full_name(seat)
    payer = (
        Mailbox(_purchaser(registration).name, _purchaser(registration).email)
        if registration.kind == "group"
        else Mailbox(name, seat.email)
    )
    held = "You already held" if registration.kind == "individual" else f"{name} already held"
    blocks: list[Block] = [
        Paragraph(f"Hello {payer.display_name},"),
        Paragraph(
            f"{held} a paid seat at the {conference.name} through another registration when this payment arrived. "
            "One person holds one seat, so this registration's seat for them has been refunded; their earlier "
            "seat and its access code are unchanged."
        ),
        Field("Registration ID", registration.registration_id, style="code"),
        Field("Refunded", money(registration.seat_fee)),
        Paragraph("The refund goes back to the payment method used to pay."),
        *_footer(conference),
    ]
    subject = f"A seat has been refunded: {conference.name}"
    return _email("duplicate_seat_refund", registration, payer, subject, blocks, seat)


def certificate(
    conference: Conference,
    registration: Registration,
    seat: Seat,
    *,
    attendee_name: str,
    certificate_id: str,
    hours: float,
    verification_url: str,
    pdf: bytes,
) -> Email:
    """To an eligible attendee: the certificate of attendance as one PDF, and where anyone can verify it.
    The only email whose subject says "Certificate"."""
    _require_seat(registration, seat)
    if any(char.isspace() for char in certificate_id):
        raise ValueError("a certificate id is one word: the email's line must read back exactly")
    blocks: list[Block] = [
        Paragraph(f"Hello {attendee_name},"),
        Paragraph(
            f"Thank you for attending the {conference.name}. Your certificate of attendance for "
            f"{hours:g} hours is attached as a PDF."
        ),
        Field("Certificate ID", certificate_id, style="code"),
        Field("Verify it at", verification_url, style="link"),
        Paragraph("Anyone you show it to can check it at that address, or by scanning the QR code on the PDF."),
        *_footer(conference),
    ]
    subject = f"Your Certificate of Attendance: {conference.name}"
    email = _email("certificate", registration, Mailbox(attendee_name, seat.email), subject, blocks, seat)
    attachment = Attachment("certificate-of-attendance.pdf", pdf, "application", "pdf")
    return Email(
        to=email.to,
        subject=email.subject,
        text=email.text,
        html=email.html,
        attachments=(attachment,),
        kind=email.kind,
        tags=email.tags,
    )


def _email(
    kind: str, registration: Registration, to: Mailbox, subject: str, blocks: list[Block], seat: Seat | None = None
) -> Email:
    # SES's bounce and complaint events carry these back: they say whose address it was (the seat's, else the
    # purchaser's).
    tags = {"kind": kind, "registration_id": registration.registration_id}
    if seat is not None:
        tags["attendee_id"] = seat.attendee_id
    for name, value in tags.items():
        if not _TAG_VALUE.fullmatch(value):
            raise ValueError(f"SES tag {name} must be letters, digits, '_', '-' or '.'")
    return Email(
        to=to,
        subject=subject,
        text=plain_text(blocks),
        html=html_document(subject, blocks),
        kind=kind,
        tags=tags,
    )


def _footer(conference: Conference) -> list[Block]:
    """Every email ends with who the organiser is and how to reach them."""
    lines = (conference.organizer, *((conference.organizer_address,) if conference.organizer_address else ()))
    return [Lines(lines), Field("Questions", conference.sender)]


def _agenda(conference: Conference, *, days: set[date] | None = None, title: str = "Agenda") -> list[Block]:
    blocks: list[Block] = [Heading(title)]
    for day, sessions in groupby(conference.sessions, key=lambda session: session.day):
        if days is not None and day not in days:
            continue
        blocks += [
            Heading(long_date(day), level=3),
            Rows(
                tuple(
                    (time_range(session.starts_at, session.ends_at, conference.zone), session.title)
                    for session in sessions
                )
            ),
        ]
    return blocks


def _zone_name(conference: Conference) -> str:
    # The abbreviation in force on the first day (CDT in August, not CST).
    return datetime.combine(conference.starts_on, time(12), conference.zone).tzname() or conference.timezone


def _full_name(seat: Seat) -> str:
    return f"{seat.first_name} {seat.last_name}"


def _address_lines(address: ShippingAddress) -> tuple[str, ...]:
    street = (address.line1,) if address.line2 is None else (address.line1, address.line2)
    return (*street, f"{address.city}, {address.state} {address.postal_code}", address.country)


def _require_seat(registration: Registration, seat: Seat) -> None:
    if seat not in registration.seats:
        raise ValueError("the seat is not one of this registration's seats")


def _shipping_address(registration: Registration) -> ShippingAddress:
    if registration.shipping_address is None:
        raise ValueError("an individual registration has a shipping address for the coin")
    return registration.shipping_address


def _purchaser(registration: Registration) -> Purchaser:
    if registration.kind != "group" or registration.purchaser is None:
        raise ValueError("only a group registration has a purchaser")
    return registration.purchaser
