"""The attendance roster (shared/attendance/roster.py): per attendee, organization, licence id, minutes per session
and by evidence, eligibility, the certificate and its status; for the event or one registration (an agency's roster)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.attendance.roster import AttendanceRoster
from shared.certificates.models import Certificate, CertificateStatus
from shared.conference import load_conference
from shared.errors import InvalidRequest, NotFound
from shared.reactions.models import Attendee
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus
from tests.support.fakes_admin import InMemoryAdminTable
from tests.support.fakes_attendance import InMemoryAttendance
from tests.support.fakes_events import catalog_of
from tests.unit.test_privacy_service import paid, seat

CONFERENCE = load_conference()
KEYNOTE = "d1-implicit-bias"  # 75 minutes
AGENCY, OTHER = "reg_" + "a" * 24, "reg_" + "b" * 24
AT = datetime(2020, 8, 7, 20, tzinfo=UTC)


def group(registration_id: str, *people: tuple[str, str], status: RegistrationStatus = RegistrationStatus.PAID):
    seats = [seat(attendee_id, email) for attendee_id, email in people]
    registration = paid(registration_id, seats).model_copy(update={"kind": "group", "status": status})
    return registration


@pytest.fixture
def table() -> InMemoryAdminTable:
    agency = group(AGENCY, ("att_" + "c" * 24, "one@pd.example"), ("att_" + "d" * 24, "two@pd.example"))
    other = group(OTHER, ("att_" + "e" * 24, "three@other.example"))
    pending = group(
        "reg_" + "f" * 24, ("att_" + "g" * 24, "four@pd.example"), status=RegistrationStatus.PENDING_PAYMENT
    )
    table = InMemoryAdminTable(agency, other, pending)
    for registration in (agency, other):
        for s in registration.seats:
            table.attendees[s.attendee_id] = Attendee.of_seat(registration, s)
    first = agency.seats[0].attendee_id
    table.attendees[first] = table.attendees[first].model_copy(update={"license_id": "IL-12345"})
    return table


@pytest.fixture
def attendance(table) -> InMemoryAttendance:
    attendance = InMemoryAttendance()
    attendance.attendees = dict(table.attendees)
    return attendance


@pytest.fixture
def roster(table, attendance) -> AttendanceRoster:
    return AttendanceRoster(events=catalog_of(CONFERENCE), repository=table, attendance=attendance)


def rows_of(roster: AttendanceRoster, registration_id: str | None = None) -> dict[str, dict[str, object]]:
    header = roster.header(CONFERENCE.id)
    rows = roster.rows(CONFERENCE.id, roster.registrations(CONFERENCE.id, registration_id))
    return {str(row[0]): dict(zip(header, row, strict=True)) for row in rows}


def certify(table: InMemoryAdminTable, attendee_id: str, status: CertificateStatus) -> str:
    certificate_id = f"crt_for_{attendee_id[-4:]}"
    table.certificates[certificate_id] = Certificate(
        certificate_id=certificate_id, attendee_id=attendee_id, registration_id=AGENCY, attendee_name="Zanzibar Quux",
        conference=CONFERENCE.name, hours=1.25, issued_at=date(2020, 8, 7), created_at=AT, status=status,
    )  # fmt: skip
    table.pointers[attendee_id] = certificate_id
    return certificate_id


def test_each_attendee_s_row_has_the_agency_s_columns(roster, table, attendance) -> None:
    # Given an officer with heartbeats and a Zoom report for the keynote (overlapping), and a valid certificate
    first, second = ("att_" + "c" * 24), ("att_" + "d" * 24)
    attendance.credited[first] = {KEYNOTE: set(range(0, 50))}
    attendance.platform[first] = {KEYNOTE: set(range(40, 75))}
    attendance.platform_sessions[first] = {KEYNOTE}
    attendance.logins[first], attendance.days[first] = 1, {"2020-08-05"}
    certificate_id = certify(table, first, CertificateStatus.VALID)
    revoked = certify(table, second, CertificateStatus.REVOKED)

    rows = rows_of(roster)

    # Then the pending registration has no rows; the officer's shows organization, licence id, the union of minutes
    # and each evidence's share, and the certificate; the colleague's revoked certificate says so
    assert set(rows) == {first, second, "att_" + "e" * 24}
    row = rows[first]
    assert (row["registration_id"], row["organization"], row["license_id"]) == (AGENCY, "Quux PD", "IL-12345")
    assert (row[f"minutes:{KEYNOTE}"], row["minutes_total"]) == (75, 75)
    assert (row["minutes_from_page"], row["minutes_from_platform"]) == (50, 35)
    assert (row["certificate_id"], row["certificate_status"]) == (certificate_id, "valid")
    assert (rows[second]["certificate_id"], rows[second]["certificate_status"]) == (revoked, "revoked")
    assert rows["att_" + "e" * 24]["certificate_id"] == "" and rows[second]["license_id"] == ""


def test_a_registration_s_roster_has_its_seats_only(roster) -> None:
    assert set(rows_of(roster, AGENCY)) == {"att_" + "c" * 24, "att_" + "d" * 24}
    assert set(rows_of(roster, OTHER)) == {"att_" + "e" * 24}
    assert rows_of(roster, "reg_" + "f" * 24) == {}  # pending: no attendee has attended yet


def test_an_unknown_registration_is_not_found_and_a_malformed_id_is_refused(roster, table) -> None:
    with pytest.raises(NotFound):
        roster.registrations(CONFERENCE.id, "reg_" + "z" * 24)
    with pytest.raises(InvalidRequest) as refused:
        roster.registrations(CONFERENCE.id, "AGENCY")
    assert [e.field for e in refused.value.errors] == ["registration_id"]


def test_another_event_s_registration_is_not_found(roster, table) -> None:
    elsewhere: Registration = table.registrations[OTHER].model_copy(update={"event_id": "other-event"})
    table.registrations[OTHER] = elsewhere
    with pytest.raises(NotFound):
        roster.registrations(CONFERENCE.id, OTHER)


def test_disputed_and_refunded_seats_have_rows_minutes_never_exceed_a_session_and_signals_show(
    roster, table, attendance
) -> None:
    # Given the agency's registration disputed, the other refunded (its attendee revoked), and an officer credited
    # more heartbeat minutes than the keynote has, on one day, once from two places
    first = "att_" + "c" * 24
    table.registrations[AGENCY] = table.registrations[AGENCY].model_copy(update={"status": RegistrationStatus.DISPUTED})
    table.registrations[OTHER] = table.registrations[OTHER].model_copy(update={"status": RegistrationStatus.REFUNDED})
    attendance.credited[first] = {KEYNOTE: set(range(80))}
    attendance.logins[first], attendance.days[first] = 2, {"2020-08-05"}
    attendance.signal_records[(first, "login_from_another_place", "2020-08-05T11:40:00")] = "source"

    rows = rows_of(roster)

    # Then every seat has its row; the keynote counts its 75 minutes; disputed and refunded seats are not eligible
    assert set(rows) == {first, "att_" + "d" * 24, "att_" + "e" * 24}
    row = rows[first]
    assert (row[f"minutes:{KEYNOTE}"], row["minutes_total"], row["minutes_from_page"], row["days_logged_in"]) == (
        75, 75, 75, 1,
    )  # fmt: skip
    assert (row["eligible"], row["hours"], row["shared_login_signals"]) == ("no", 1.25, 1)
    assert rows["att_" + "e" * 24]["eligible"] == "no"


def test_a_seat_without_its_attendee_yet_has_no_row(roster, table) -> None:
    table.attendees.clear()  # paid, the stream not yet caught up
    assert rows_of(roster) == {}
