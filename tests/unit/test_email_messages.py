"""The conference's emails: what each kind says, to whom, and that it survives MIME (API.md "Emails")."""

from __future__ import annotations

import email
import re
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from shared.conference import load_conference
from shared.conference.models import Conference, Money
from shared.email import (
    Email,
    Mailbox,
    access_code,
    build_message,
    confirmation,
    receipt,
    refund_notice,
    reminder,
    to_bytes,
)
from shared.email.render import date_and_time, long_date, money
from shared.registration.models import Billing, Purchaser, Registration, Seat, SeatStatus, ShippingAddress
from shared.registration.status import RegistrationStatus

CONFERENCE = load_conference()
AT = datetime(2020, 7, 20, 15, 0, tzinfo=UTC)
SITE = "https://conference.example.org/"
CODE = "K7Q2-9XMP"
SENDER = Mailbox(CONFERENCE.name, CONFERENCE.sender)
ADDRESS = ShippingAddress(
    line1="1 Main St", line2="Apt 4", city="Springfield", state="IL", postal_code="62701", country="US"
)
PURCHASER = Purchaser(name="Chief Ray Park", email="chief@example.org", organization="Springfield PD")


def seat(number: int = 1, first_name: str = "Ana", last_name: str = "Lopez") -> Seat:
    return Seat(
        attendee_id=f"att_{number}",
        first_name=first_name,
        last_name=last_name,
        email=f"attendee{number}@example.org",
        organization="Springfield PD",
    )


def individual(attendee: Seat | None = None) -> Registration:
    return Registration(
        event_id="nasro-2020",
        registration_id="reg_" + "a" * 24,
        kind="individual",
        status=RegistrationStatus.PAID,
        seats=[attendee or seat()],
        shipping_address=ADDRESS,
        amount=CONFERENCE.fee,
        created_at=AT,
        checkout_attempt=1,
        checkout_expires_at=AT,
    )


def group(seats: list[Seat] | None = None, purchaser: Purchaser = PURCHASER) -> Registration:
    seats = seats or [seat(1, "Ana", "Lopez"), seat(2, "Ben", "Okafor"), seat(3, "Chloé", "Nguyễn")]
    return Registration(
        event_id="nasro-2020",
        registration_id="reg_" + "b" * 24,
        kind="group",
        status=RegistrationStatus.PAID,
        seats=seats,
        purchaser=purchaser,
        amount=CONFERENCE.fee.times(len(seats)),
        created_at=AT,
        checkout_attempt=1,
        checkout_expires_at=AT,
    )


def every_email(conference: Conference = CONFERENCE) -> list[Email]:
    """Each kind, for an individual registration and for a group's seats."""
    alone, team = individual(), group()
    return [
        confirmation(conference, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT),
        refund_notice(conference, alone, alone.seats[0]),
        *(confirmation(conference, team, member, CODE, site_url=SITE, sent_at=AT) for member in team.seats),
        *(refund_notice(conference, team, member) for member in team.seats),
        receipt(conference, team, paid_amount=team.amount, paid_at=AT),
        access_code(conference, alone, alone.seats[0], CODE, site_url=SITE),
        *(access_code(conference, team, member, CODE, site_url=SITE) for member in team.seats),
        *(
            reminder(conference, alone, alone.seats[0], CODE, which=which, site_url=SITE, sent_at=AT)
            for which in ("week", "day", "hour")
        ),
        *(reminder(conference, team, member, CODE, which="day", site_url=SITE, sent_at=AT) for member in team.seats),
    ]


def sent(message: Email) -> EmailMessage:
    """The email as its recipient's client parses it from the bytes handed to SES."""
    built = build_message(
        sender=SENDER,
        to=message.to,
        subject=message.subject,
        text=message.text,
        html=message.html,
        attachments=message.attachments,
        message_id_domain="example.org",
        date=AT,
        list_unsubscribe=message.list_unsubscribe,
    )
    parsed = email.message_from_bytes(to_bytes(built), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def plain_lines(parsed: EmailMessage) -> list[str]:
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).splitlines()


def squeezed(text: str) -> str:
    return " ".join(text.split())


# Subjects


def test_only_confirmation_subjects_say_confirmed() -> None:
    # Given every kind of email, for individuals and for a group
    emails = every_email()
    # When their subjects are read  Then "confirmed" appears exactly in the confirmations' subjects
    for message in emails:
        assert ("confirmed" in message.subject.lower()) == (message.kind == "confirmation"), message.subject
        # And no subject reads as a certificate's
        assert "certificate" not in message.subject.lower()
    assert {message.kind for message in emails} == {
        "confirmation",
        "receipt",
        "refund_notice",
        "access_code",
        "reminder",
    }


def test_each_subject_names_the_conference_and_the_refund_notice_mentions_the_refund() -> None:
    # Given one email of each kind
    alone = individual()
    notice = refund_notice(CONFERENCE, alone, alone.seats[0])
    # When the subjects are read  Then each names the conference and the notice says "refunded"
    for message in every_email():
        assert CONFERENCE.name in message.subject
    assert "refunded" in notice.subject.lower()


# Confirmation


def test_the_access_code_line_appears_exactly_once_also_after_mime() -> None:
    # Given a paid individual registration
    alone = individual()
    # When its confirmation is written and sent
    message = confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT)
    lines = plain_lines(sent(message))
    # Then the text part has exactly one line "Access code: <code>", as POST /logins takes it
    assert lines.count(f"Access code: {CODE}") == 1
    assert sum(1 for line in lines if line.startswith("Access code:")) == 1
    # And it goes to the attendee, by name
    assert message.to == Mailbox("Ana Lopez", "attendee1@example.org")


def test_the_confirmation_says_who_when_and_how_to_log_in() -> None:
    # Given a paid individual registration
    alone = individual()
    # When its confirmation is written
    text = squeezed(confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT).text)
    # Then it names the attendee, the dates and the time zone
    assert "Ana Lopez" in text
    assert "Wednesday 5 August 2020" in text
    assert "Friday 7 August 2020" in text
    assert "America/Chicago (CDT)" in text
    # And how to log in: where, with which email address and code, and the session and certificate rules
    assert SITE in text
    assert "attendee1@example.org" in text
    assert "one active session at a time" in text
    assert "logging in again, on any device, ends the previous session" in text
    assert "Only those who log in individually receive a certificate of attendance" in text


def sign_in_line(parsed: EmailMessage) -> str:
    (line,) = [line for line in plain_lines(parsed) if line.startswith("Sign in: ")]
    return line.removeprefix("Sign in: ")


@pytest.mark.parametrize("kind", ["confirmation", "access code"])
def test_the_sign_in_line_opens_the_attend_page_with_email_and_code_in_the_fragment_only(kind: str) -> None:
    # Given an attendee whose address has characters a URL must encode
    alone = individual(seat(1).model_copy(update={"email": "ana+conf@example.org"}))
    # When the email is written and sent
    if kind == "confirmation":
        message = confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT)
    else:
        message = access_code(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE)
    parsed = sent(message)
    # Then one "Sign in:" line: the attend page, nothing personal before the fragment, the email encoded in it
    url = urlsplit(sign_in_line(parsed))
    assert (url.scheme, url.netloc, url.path, url.query) == ("https", "conference.example.org", "/attend", "")
    assert url.fragment == f"email=ana%2Bconf%40example.org&code={CODE}"
    assert parse_qs(url.fragment) == {"email": ["ana+conf@example.org"], "code": [CODE]}
    # and beside it the same "Access code:" line as ever, and the link in the HTML part
    assert plain_lines(parsed).count(f"Access code: {CODE}") == 1
    assert (
        f'href="https://conference.example.org/attend#email=ana%2Bconf%40example.org&amp;code={CODE}"' in message.html
    )


def test_an_access_code_email_says_access_code_not_confirmed() -> None:
    alone = individual()
    message = access_code(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE)
    assert "access code" in message.subject and "confirmed" not in message.subject.lower()
    assert CONFERENCE.name in message.subject
    assert (message.kind, message.to, message.attachments) == (
        "access_code",
        Mailbox("Ana Lopez", "attendee1@example.org"),
        (),
    )


def invite_of(parsed: EmailMessage) -> tuple[EmailMessage, bytes]:
    (part,) = [part for part in parsed.iter_attachments() if part.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(part, EmailMessage) and isinstance(payload, bytes)
    return part, payload


def test_the_confirmation_carries_one_calendar_event_per_conference_day_in_the_event_s_zone() -> None:
    # Given a confirmation, as the attendee's client receives it
    alone = individual()
    parsed = sent(confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT))

    # When its calendar attachment is read back with icalendar
    part, payload = invite_of(parsed)
    calendar = Calendar.from_ical(payload)

    # Then it is invite.ics, text/calendar; method=PUBLISH, with the event's zone as a VTIMEZONE
    assert part.get_filename() == "invite.ics" and part.get_param("method") == "PUBLISH"
    assert calendar["METHOD"] == "PUBLISH" and calendar["VERSION"] == "2.0"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    # and one event per day, from its first session's start to its last session's end, in Chicago time
    events = calendar.walk("VEVENT")
    chicago = ZoneInfo("America/Chicago")
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == [
        (datetime(2020, 8, 5, 9, 0, tzinfo=chicago), datetime(2020, 8, 5, 16, 30, tzinfo=chicago)),
        (datetime(2020, 8, 6, 9, 0, tzinfo=chicago), datetime(2020, 8, 6, 15, 45, tzinfo=chicago)),
        (datetime(2020, 8, 7, 9, 0, tzinfo=chicago), datetime(2020, 8, 7, 15, 0, tzinfo=chicago)),
    ]
    for event in events:
        assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "America/Chicago"
        # the attend page (no email or code: calendars get shared and synced), and a UID per attendee and day
        assert str(event["LOCATION"]) == str(event["URL"]) == "https://conference.example.org/attend"
        assert CODE not in event.to_ical().decode() and "attendee1" not in event.to_ical().decode()
    assert [str(e["UID"]) for e in events] == [
        f"nasro-2020-2020-08-0{day}-att_1@conference.example.org" for day in (5, 6, 7)
    ]
    assert [str(e["SUMMARY"]) for e in events] == [f"{CONFERENCE.name}, day {n}" for n in (1, 2, 3)]


def test_the_calendar_s_uids_stay_the_same_when_the_confirmation_is_sent_again() -> None:
    alone = individual()

    def uids(code: str, at: datetime) -> list[str]:
        _, payload = invite_of(sent(confirmation(CONFERENCE, alone, alone.seats[0], code, site_url=SITE, sent_at=at)))
        return [str(e["UID"]) for e in Calendar.from_ical(payload).walk("VEVENT")]

    assert uids(CODE, AT) == uids("ZZZZ-YYYY", datetime(2020, 7, 30, tzinfo=UTC))


def _session_bounds() -> dict[date, tuple[datetime, datetime]]:
    days: dict[date, tuple[datetime, datetime]] = {}
    for session in CONFERENCE.sessions:
        first, last = days.get(session.day, (session.starts_at, session.ends_at))
        days[session.day] = (min(first, session.starts_at), max(last, session.ends_at))
    return days


def test_the_calendar_follows_the_agenda_whatever_the_event() -> None:
    # Given an event in another zone, with a day whose sessions are far apart
    moved = CONFERENCE.model_copy(update={"timezone": "Europe/Berlin", "id": "berlin-2020"})
    alone = individual()
    _, payload = invite_of(sent(confirmation(moved, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT)))
    events = Calendar.from_ical(payload).walk("VEVENT")
    # Then the events are the agenda's days, their times as placed (the sessions keep their instants)
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == list(_session_bounds().values())
    assert {e["DTSTART"].params["TZID"] for e in events} == {"Europe/Berlin"}


def test_an_individual_confirmation_promises_the_coin_at_the_shipping_address() -> None:
    # Given a paid individual registration with a shipping address
    alone = individual()
    # When its confirmation is written
    message = confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT)
    # Then it says the 30th-anniversary coin will be mailed, and to which address
    text = message.text
    assert "30th-anniversary conference coin will be mailed" in text
    for line in ["1 Main St", "Apt 4", "Springfield, IL 62701", "US"]:
        assert f"    {line}\n" in text
        assert line in message.html


def test_a_group_confirmation_names_who_registered_them_and_promises_no_coin() -> None:
    # Given a paid group registration
    team = group()
    # When each attendee's confirmation is written
    for member in team.seats:
        message = confirmation(CONFERENCE, team, member, CODE, site_url=SITE, sent_at=AT)
        # Then it goes to that attendee, says who registered them, and says nothing about a coin
        assert message.to.address == member.email
        assert "registered for you by Springfield PD (Chief Ray Park)" in message.text
        assert "coin" not in message.text.lower()
        assert "coin" not in message.html.lower()
        assert "1 Main St" not in message.text


def test_the_agenda_lists_all_13_sessions_by_day_with_local_times() -> None:
    # Given the default conference and its 13 sessions
    assert len(CONFERENCE.sessions) == 13
    alone = individual()
    # When a confirmation is written
    message = confirmation(CONFERENCE, alone, alone.seats[0], CODE, site_url=SITE, sent_at=AT)
    lines = message.text.splitlines()
    # Then each session is listed once, on one line with its local start and end time, in both parts
    for session in CONFERENCE.sessions:
        listed = [line for line in lines if line.endswith(session.title)]
        assert len(listed) == 1, session.title
        assert message.html.count(session.title) == 1
    assert "9:00 AM - 9:30 AM CDT Welcome and State of SRO Programs" in [squeezed(line) for line in lines]
    assert "1:45 PM - 3:00 PM CDT" in message.text
    # And the sessions are grouped under their day's heading, the days in order
    headings = [index for index, line in enumerate(lines) if line in {long_date(day) for day in _days()}]
    assert [lines[index] for index in headings] == [long_date(day) for day in _days()]
    for session in CONFERENCE.sessions:
        position = next(index for index, line in enumerate(lines) if line.endswith(session.title))
        under = max(index for index in headings if index < position)
        assert lines[under] == long_date(session.day)


def _days() -> list[date]:
    return sorted({session.day for session in CONFERENCE.sessions})


def test_a_confirmation_refuses_a_code_with_whitespace_or_a_seat_from_elsewhere() -> None:
    # Given a registration  When the code has whitespace, or the seat is not the registration's
    alone = individual()
    # Then no confirmation is written: the code line would not read back, or would reach a stranger
    with pytest.raises(ValueError, match="access code"):
        confirmation(CONFERENCE, alone, alone.seats[0], "K7Q2 9XMP", site_url=SITE, sent_at=AT)
    with pytest.raises(ValueError, match="access code"):
        access_code(CONFERENCE, alone, alone.seats[0], "K7Q2 9XMP", site_url=SITE)
    with pytest.raises(ValueError, match="seat"):
        access_code(CONFERENCE, alone, seat(9, "Eve", "Stranger"), CODE, site_url=SITE)
    with pytest.raises(ValueError, match="seat"):
        confirmation(CONFERENCE, alone, seat(9, "Eve", "Stranger"), CODE, site_url=SITE, sent_at=AT)
    with pytest.raises(ValueError, match="seat"):
        refund_notice(CONFERENCE, alone, seat(9, "Eve", "Stranger"))


# Receipt


def test_the_receipt_lists_every_seat_the_fee_and_the_total_paid() -> None:
    # Given a paid group of three
    team = group()
    # When the purchaser's receipt is written
    message = receipt(CONFERENCE, team, paid_amount=Money(amount=60000, currency="usd"), paid_at=AT)
    lines = message.text.splitlines()
    # Then it goes to the purchaser
    assert message.to == Mailbox("Chief Ray Park", "chief@example.org")
    # And lists each seat with its position, name and email, in order
    for position, member in enumerate(team.seats, start=1):
        row = f"  {position}.  "
        assert [line.split() for line in lines if line.startswith(row)] == [
            [f"{position}.", member.first_name, member.last_name, member.email]
        ]
        assert member.email in message.html
    # And the seats times the fee, the total paid, the registration id and when it was paid
    assert "3 seats x $200.00 = $600.00" in lines
    assert "Total paid: $600.00" in lines
    assert f"Registration ID: {team.registration_id}" in lines
    assert "Paid on: Monday 20 July 2020, 10:00 AM CDT" in lines
    # And that each attendee gets their own confirmation and access code
    assert "Each attendee receives their own confirmation email with a personal access code" in message.text


def test_an_individual_s_receipt_goes_to_them_and_names_the_organiser_for_a_reimbursement_claim() -> None:
    # Given an event whose organiser has an address and a tax id
    organiser = CONFERENCE.model_copy(
        update={"organizer_address": "2020 Valleydale Road, Hoover, AL 35244", "organizer_tax_id": "EIN 00-0000000"}
    )
    alone = individual()

    # When the receipt is written and mailed
    parsed = sent(receipt(organiser, alone, paid_amount=Money(amount=20000, currency="usd"), paid_at=AT))
    lines = plain_lines(parsed)

    # Then the registrant gets it, with the seat, the amount and date paid, and who was paid
    assert "Receipt" in parsed["Subject"] and "confirmed" not in parsed["Subject"]
    assert parsed["To"].addresses[0].addr_spec == alone.seats[0].email
    assert "1 seat x $200.00 = $200.00" in lines and "Total paid: $200.00" in lines
    assert "Paid on: Monday 20 July 2020, 10:00 AM CDT" in lines
    paid_to = [line.strip() for line in lines[lines.index("Paid to") + 1 :] if line.strip()]
    assert paid_to[1:4] == [CONFERENCE.organizer, "2020 Valleydale Road, Hoover, AL 35244", "Tax ID: EIN 00-0000000"]
    assert "Each attendee receives" not in "\n".join(lines)  # that is the group's


def test_an_invoice_s_receipt_goes_to_the_billing_contact_with_the_po_number_and_only_the_seats_billed() -> None:
    # Given a group paid by invoice, one seat left off it (its person held a paid seat)
    team = group()
    billed = team.model_copy(
        update={
            "billing": Billing(billing_email="ap@agency.gov", billing_name="Springfield PD AP", po_number="PO-1234"),
            "seats": team.with_seats({team.seats[2].attendee_id: SeatStatus.NOT_BILLED}),
            "payment": team.payment.model_copy(update={"invoice_id": "in_123", "amount_paid": 40000}),
        }
    )

    # When
    parsed = sent(receipt(CONFERENCE, billed, paid_amount=billed.amount_due, paid_at=AT))
    lines = plain_lines(parsed)

    # Then
    assert parsed["To"].addresses[0].addr_spec == "ap@agency.gov"
    assert {"PO number: PO-1234", "Invoice: in_123", "2 seats x $200.00 = $400.00", "Total paid: $400.00"} <= set(lines)
    assert team.seats[2].email not in "\n".join(lines)


# Refund notice


def test_a_refund_notice_says_access_is_revoked_and_the_coin_will_not_be_mailed() -> None:
    # Given a refunded individual registration
    alone = individual()
    # When the notice is written
    message = refund_notice(CONFERENCE, alone, alone.seats[0])
    text = squeezed(message.text)
    # Then it goes to the attendee, says access is revoked, and that an unshipped coin stays
    assert message.to.address == "attendee1@example.org"
    assert "access to the conference has been revoked" in text
    assert "your access code no longer lets you log in" in text
    assert "If your 30th-anniversary conference coin had not shipped yet, it will not be mailed." in text


def test_a_group_refund_notice_goes_to_each_attendee_and_mentions_no_coin() -> None:
    # Given a refunded group
    team = group()
    # When each seat's notice is written
    notices = [refund_notice(CONFERENCE, team, member) for member in team.seats]
    # Then there is one per seat, to that seat's attendee, without a coin
    assert [notice.to.address for notice in notices] == [member.email for member in team.seats]
    for notice in notices:
        assert "revoked" in notice.text
        assert "coin" not in notice.text.lower()
        assert "Springfield PD (Chief Ray Park)" in notice.text


# HTML, MIME and tags


SCRIPT = "<script>alert('x')</script>"


def test_every_value_is_escaped_in_html_and_verbatim_in_text() -> None:
    # Given names and an organization that carry markup
    marked = seat(1, "Ana", f"Lopez {SCRIPT}")
    team = group(
        seats=[marked, seat(2, 'Ben "B" & Co', "Okafor")],
        purchaser=Purchaser(name=f"Ray {SCRIPT}", email="chief@example.org", organization="Police & <b>Fire</b>"),
    )
    alone = individual(marked)
    messages = [
        confirmation(CONFERENCE, alone, marked, CODE, site_url=SITE, sent_at=AT),
        confirmation(CONFERENCE, team, marked, CODE, site_url=SITE, sent_at=AT),
        refund_notice(CONFERENCE, alone, marked),
        refund_notice(CONFERENCE, team, marked),
        receipt(CONFERENCE, team, paid_amount=team.amount, paid_at=AT),
    ]
    # When each is written
    for message in messages:
        # Then the markup appears escaped in the HTML part, never as markup, and verbatim in the text part
        assert "<script>" not in message.html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in message.html
        assert SCRIPT in message.text
    assert "Police &amp; &lt;b&gt;Fire&lt;/b&gt;" in messages[1].html
    assert "Ben &quot;B&quot; &amp; Co Okafor" in messages[4].html


@pytest.mark.parametrize("message", every_email(), ids=lambda message: f"{message.kind}-{message.to.address}")
def test_each_email_survives_mime_with_one_recipient_and_both_parts(message: Email) -> None:
    # Given one of the conference's emails (individual and group, every kind)
    # When it is built into MIME and parsed back
    parsed = sent(message)
    # Then it has one To (its recipient), the same subject, a text part and an HTML part
    (address,) = parsed["To"].addresses
    assert (address.display_name, address.addr_spec) == (message.to.display_name, message.to.address)
    # (a subject longer than one line is folded whole onto the next; Python's parser keeps that fold's space)
    assert str(parsed["Subject"]).lstrip() == message.subject
    assert plain_lines(parsed) == message.text.splitlines()
    html_part = parsed.get_body(preferencelist=("html",))
    assert html_part is not None
    assert str(html_part.get_content()).splitlines() == message.html.splitlines()


def test_tags_name_the_kind_and_registration_only_in_ses_characters() -> None:
    # Given every email  When its SES tags are read
    for message in every_email():
        # Then they are the kind, the registration id and (to a seat) the attendee id, in SES's characters, with no
        # personal data: SES's bounce and complaint events carry them back to say whose address it was
        expected = {"kind", "registration_id"} | ({"attendee_id"} if message.kind != "receipt" else set())
        assert set(message.tags) == expected
        assert message.tags["kind"] == message.kind
        assert message.tags["registration_id"] in {"reg_" + "a" * 24, "reg_" + "b" * 24}
        assert message.tags.get("attendee_id", "att_1") in {"att_1", "att_2", "att_3"}
        for value in message.tags.values():
            assert re.fullmatch(r"[A-Za-z0-9_.-]+", value)
            assert "@" not in value


# Formatting


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (20000, "usd", "$200.00"),
        (5, "usd", "$0.05"),
        (1000000, "usd", "$10,000.00"),
        (20000, "eur", "200.00 EUR"),
        (20000, "jpy", "20,000 JPY"),
    ],
)
def test_money_is_shown_from_minor_units(amount: int, currency: str, shown: str) -> None:
    # Given an amount in minor units  When it is shown  Then it reads as people write it
    assert money(Money(amount=amount, currency=currency)) == shown


def test_dates_and_times_read_in_the_conference_time_zone() -> None:
    # Given moments in UTC  When they are shown for the conference (Central time)
    zone = CONFERENCE.zone
    # Then they read as local dates and 12-hour times with the zone's abbreviation
    assert long_date(date(2020, 8, 5)) == "Wednesday 5 August 2020"
    assert date_and_time(datetime(2020, 8, 5, 14, 0, tzinfo=UTC), zone) == "Wednesday 5 August 2020, 9:00 AM CDT"
    assert date_and_time(datetime(2020, 8, 5, 5, 0, tzinfo=UTC), zone) == "Wednesday 5 August 2020, 12:00 AM CDT"
    assert date_and_time(datetime(2020, 8, 5, 17, 30, tzinfo=UTC), zone) == "Wednesday 5 August 2020, 12:30 PM CDT"
    assert date_and_time(datetime(2020, 12, 1, 15, 0, tzinfo=UTC), zone) == "Tuesday 1 December 2020, 9:00 AM CST"
    with pytest.raises(ValueError, match="time zone"):
        date_and_time(datetime(2020, 8, 5, 9, 0), zone)


# Reminders, footers, List-Unsubscribe


@pytest.mark.parametrize(("which", "when"), [("week", "in a week"), ("day", "tomorrow"), ("hour", "in an hour")])
def test_a_reminder_says_when_the_conference_starts_and_signs_in_with_one_click(which: str, when: str) -> None:
    # Given a paid individual seat  When its reminder is built
    alone = individual()
    message = reminder(CONFERENCE, alone, alone.seats[0], CODE, which=which, site_url=SITE, sent_at=AT)
    parsed = sent(message)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    # Then its subject says Reminder (never "confirmed"), and when, in the conference's zone
    assert "Reminder" in message.subject and when in message.subject
    assert "confirmed" not in message.subject.lower()
    assert "Wednesday 5 August 2020, 9:00 AM CDT" in text
    # the Sign in line logs this attendee in with the code it carries
    (line,) = [line for line in text.splitlines() if line.startswith("Sign in: ")]
    fragment = parse_qs(urlsplit(line.removeprefix("Sign in: ")).fragment)
    assert fragment == {"email": ["attendee1@example.org"], "code": [CODE]}
    assert f"Access code: {CODE}" in text.splitlines()
    # only the first day's agenda
    first_day = [s for s in CONFERENCE.sessions if s.day == CONFERENCE.starts_on]
    later = [s for s in CONFERENCE.sessions if s.day != CONFERENCE.starts_on]
    assert all(s.title in text for s in first_day)
    assert not any(s.title in text for s in later if s.title not in {f.title for f in first_day})
    # the calendar attachment, and List-Unsubscribe: a reminder is not transactional
    (invite,) = list(parsed.iter_attachments())
    assert invite.get_content_type() == "text/calendar" and invite.get_filename() == "invite.ics"
    payload = invite.get_payload(decode=True)
    assert isinstance(payload, bytes) and Calendar.from_ical(payload).walk("VEVENT")
    assert (
        str(parsed["List-Unsubscribe"]).strip()
        == f"<mailto:{CONFERENCE.sender}?subject=unsubscribe%20reminders%20att_1>"
    )


def test_only_reminders_carry_list_unsubscribe() -> None:
    for message in every_email():
        parsed = sent(message)
        assert ("List-Unsubscribe" in parsed) is (message.kind == "reminder"), message.kind


def test_every_email_has_plain_and_html_parts_and_the_organisers_contact_in_its_footer() -> None:
    for message in every_email():
        parsed = sent(message)
        plain = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        assert plain is not None and html is not None, message.kind
        assert f"Questions: {CONFERENCE.sender}" in plain.get_content(), message.kind
        assert CONFERENCE.organizer in plain.get_content().split("Questions:")[0], message.kind
        assert CONFERENCE.sender in html.get_content(), message.kind


def test_an_unknown_reminder_is_refused() -> None:
    alone = individual()
    with pytest.raises(ValueError, match="unknown reminder"):
        reminder(CONFERENCE, alone, alone.seats[0], CODE, which="month", site_url=SITE, sent_at=AT)


def test_a_list_unsubscribe_that_could_add_a_header_is_refused() -> None:
    alone = individual()
    message = reminder(CONFERENCE, alone, alone.seats[0], CODE, which="day", site_url=SITE, sent_at=AT)
    for bad in ("<mailto:a@example.org>\r\nBcc: x@example.org", "<mailto:a@example.org>, <https://x>", "mailto:a"):
        with pytest.raises(ValueError, match="List-Unsubscribe"):
            build_message(
                sender=SENDER, to=message.to, subject=message.subject, text=message.text, html=message.html,
                message_id_domain="example.org", date=AT, list_unsubscribe=bad,
            )  # fmt: skip
