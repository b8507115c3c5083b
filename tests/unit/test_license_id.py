"""The optional licence or officer id: validated at registration, carried from the seat to the attendee and onto the
certificate, and erased with the rest of the person."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.admin.privacy import ERASED, PrivacyService
from shared.certificates.models import Certificate
from shared.clock import FixedClock
from shared.reactions.models import Attendee
from shared.registration.models import registration_request_adapter
from tests.support.fakes_admin import InMemoryAdminTable
from tests.support.fakes_attendance import InMemoryAttendance
from tests.unit.test_privacy_service import EMAIL, paid, seat

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def group_with(license_id: object) -> dict[str, object]:
    person = {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org", "organization": "Springfield PD"}
    return {
        "kind": "group",
        "purchaser": {"name": "Chief Ray Park", "email": "chief@example.org", "organization": "Springfield PD"},
        "attendees": [person | {"license_id": license_id}],
    }


@pytest.mark.parametrize("license_id", ["IL-12345", "123456", "PSID 0012/7", "A.123#4", "x", "A" * 40])
def test_a_licence_or_officer_id_is_taken_as_given(license_id: str) -> None:
    request = registration_request_adapter.validate_python(group_with(license_id))
    assert request.seats[0].license_id == license_id


@pytest.mark.parametrize(
    "license_id", ["", " IL-1", "IL-1 ", "IL\n12", "IL\u200b12", "<b>1</b>", "A" * 41, "-12", 12345],
    ids=["empty", "leading space", "trailing space", "newline", "zero width", "markup", "41 characters",
         "leading dash", "a number"],
)  # fmt: skip
def test_anything_else_is_refused_at_its_field(license_id: object) -> None:
    with pytest.raises(ValidationError) as refused:
        registration_request_adapter.validate_python(group_with(license_id))
    assert [error["loc"][-1] for error in refused.value.errors()] == ["license_id"]


def test_it_is_optional() -> None:
    request = registration_request_adapter.validate_python(group_with(None))
    assert request.seats[0].license_id is None


def test_it_goes_from_the_seat_to_the_attendee() -> None:
    person = seat("att_ind", EMAIL).model_copy(update={"license_id": "IL-12345"})
    registration = paid("reg_ind", [person])
    assert Attendee.of_seat(registration, person).license_id == "IL-12345"


def test_erasure_removes_it_from_the_seat_the_attendee_and_the_certificate() -> None:
    # Given a person with a licence id on their seat, their attendee and their certificate
    person = seat("att_ind", EMAIL).model_copy(update={"license_id": "IL-12345"})
    registration = paid("reg_ind", [person])
    table = InMemoryAdminTable(registration)
    table.guards["nasro-2020", EMAIL] = registration.registration_id
    table.attendees["att_ind"] = Attendee.of_seat(registration, person)
    table.certificates["crt_1"] = Certificate(
        certificate_id="crt_1", attendee_id="att_ind", registration_id="reg_ind", attendee_name="Zanzibar Quux",
        conference="NASRO", hours=15.5, issued_at=date(2020, 8, 7), created_at=AT, organization="Quux PD",
        license_id="IL-12345",
    )  # fmt: skip
    table.pointers["att_ind"] = "crt_1"

    # When the person is erased
    PrivacyService(repository=table, attendance=InMemoryAttendance(), pdfs=table, wall_clock=FixedClock(AT)).erase(
        EMAIL, actor="admin@example.org"
    )

    # Then the id is gone everywhere, and the certificate's organization with it
    assert table.registrations["reg_ind"].seats[0].license_id is None
    assert table.attendees["att_ind"].license_id is None
    certificate = table.certificates["crt_1"]
    assert (certificate.license_id, certificate.organization, certificate.attendee_name) == (None, ERASED, ERASED)
