"""Issuing, verifying and reissuing certificates, and the ids that verify themselves, with in-memory fakes.

The policy's thresholds and reasons are tests/unit/test_attendance_policy.py; the PDF is
tests/unit/test_certificate_pdf.py; the table's transactions are pinned against moto in
tests/integration/test_certificates.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from shared.attendance.policy import quarter_hours
from shared.certificates.ids import CertificateKeys
from shared.certificates.models import CertificateStatus
from shared.certificates.service import CertificateService
from shared.clock import FixedClock
from shared.errors import NotFound
from shared.reactions.models import Attendee, AttendeeStatus, EmailKind
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus
from tests.support.fakes_events import catalog_of
from tests.support.fakes_reactions import (
    CONFERENCE,
    InMemoryAttendance,
    InMemoryCertificates,
    InMemoryTable,
    individual,
)

KEYS = CertificateKeys(current="2", keys={"1": b"\x11" * 32, "2": b"\x22" * 32})
# The evening of the last day in Chicago, already the next day in UTC.
CONFERENCE_END = datetime(2020, 8, 8, 3, 30, tzinfo=UTC)
WALL = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.fixture
def table() -> InMemoryTable:
    return InMemoryTable()


@pytest.fixture
def repository(table) -> InMemoryCertificates:
    return InMemoryCertificates(table)


@pytest.fixture
def attendance() -> InMemoryAttendance:
    return InMemoryAttendance()


def certificate_service(repository, attendance) -> CertificateService:
    return CertificateService(
        events=catalog_of(CONFERENCE),
        repository=repository,
        attendance=attendance,
        keys=KEYS,
        conference_clock=FixedClock(CONFERENCE_END),
        wall_clock=FixedClock(WALL),
    )


@pytest.fixture
def service(repository, attendance) -> CertificateService:
    return certificate_service(repository, attendance)


def seated(table: InMemoryTable, registration: Registration) -> Attendee:
    """A registration stored with its attendee, as the paid reaction leaves them."""
    table.save(registration)
    (seat,) = registration.seats
    attendee = Attendee.of_seat(registration, seat)
    table.add_attendees([attendee])
    return attendee


def attended(
    table: InMemoryTable,
    attendance: InMemoryAttendance,
    share: float,
    logins: int = 1,
    status: RegistrationStatus = RegistrationStatus.PAID,
    **names: str,
) -> Attendee:
    """A paid (or `status`) individual who logged in `logins` times and attended `share` of every session."""
    attendee = seated(table, individual(status, **names))
    attendance.attend(attendee.attendee_id, share, CONFERENCE, logins=logins)
    return attendee


class TestIssuing:
    def test_each_eligible_attendee_gets_one_certificate_and_one_email_queued(
        self, service, table, repository, attendance
    ) -> None:
        # Given one attendee at every session, one at just under half, one who never logged in themselves
        full = attended(table, attendance, 1.0, first_name="Łukasz", last_name="Nguyễn")
        attended(table, attendance, 0.5)
        attended(table, attendance, 1.0, logins=0)

        # When
        result = service.issue_all("nasro-2020")

        # Then only the first: the certificate says who, how long, which conference, when (in conference time)
        assert (result.eligible, result.queued) == (1, 1)
        (certificate,) = repository.certificates.values()
        assert certificate.attendee_id == full.attendee_id and certificate.registration_id == full.registration_id
        assert certificate.attendee_name == "Łukasz Nguyễn"
        assert certificate.hours == 15.5 and certificate.conference == CONFERENCE.name
        assert certificate.issued_at == date(2020, 8, 7) and certificate.created_at == WALL
        assert certificate.status is CertificateStatus.VALID and KEYS.verifies(certificate.certificate_id)
        assert repository.pointers == {full.attendee_id: certificate.certificate_id}
        (entry,) = table.outbox.values()
        assert (entry.kind, entry.attendee_id, entry.certificate_id) == (
            EmailKind.CERTIFICATE,
            full.attendee_id,
            certificate.certificate_id,
        )

    def test_the_certificate_keeps_the_sessions_attended_the_organization_and_the_licence_id(
        self, service, table, repository, attendance
    ) -> None:
        # Given an attendee who gave a licence id, at the whole agenda but for two sessions missed and one part-watched
        attendee = seated(table, individual(RegistrationStatus.PAID))
        table.attendees[attendee.attendee_id] = attendee.model_copy(update={"license_id": "IL-12345"})
        minutes = {s.id: s.scheduled_minutes for s in CONFERENCE.sessions[2:]}
        minutes[CONFERENCE.sessions[2].id] = 20
        attendance.credited[attendee.attendee_id] = minutes | {"not-in-the-agenda": 99}
        attendance.logins[attendee.attendee_id] = (1, 1)

        # When certificates are issued
        service.issue_all("nasro-2020")

        # Then the certificate lists those sessions in agenda order with their minutes, titles, speakers and days
        (certificate,) = repository.certificates.values()
        assert [(s.session_id, s.minutes) for s in certificate.sessions] == [
            (s.id, 20 if s is CONFERENCE.sessions[2] else s.scheduled_minutes) for s in CONFERENCE.sessions[2:]
        ]
        first = certificate.sessions[0]
        assert (first.title, first.speakers, first.day) == (
            CONFERENCE.sessions[2].title, tuple(CONFERENCE.sessions[2].speakers), CONFERENCE.sessions[2].day,
        )  # fmt: skip
        assert certificate.hours == quarter_hours(sum(s.minutes for s in certificate.sessions))  # 755 min: 12.5 h
        assert (certificate.organization, certificate.license_id) == (attendee.organization, "IL-12345")

    def test_a_reissue_keeps_the_sessions_of_the_certificate_it_replaces(
        self, service, table, repository, attendance
    ) -> None:
        attendee = attended(table, attendance, 1.0)
        service.issue_all("nasro-2020")
        (old,) = repository.certificates.values()

        result = service.reissue(attendee.attendee_id, "Ana", "López")

        new = repository.certificates[result.certificate_id]
        assert new.sessions == old.sessions and new.hours == old.hours and new.attendee_name == "Ana López"

    def test_issuing_twice_issues_nothing_new(self, service, table, repository, attendance) -> None:
        # Given certificates issued
        attended(table, attendance, 1.0)
        service.issue_all("nasro-2020")

        # When issued again
        again = service.issue_all("nasro-2020")

        # Then the same attendee is eligible, and nothing is queued
        assert (again.eligible, again.queued) == (1, 0)
        assert len(repository.certificates) == 1 and len(table.outbox) == 1

    def test_an_attendee_another_run_issues_to_meanwhile_is_not_queued_twice(
        self, service, table, repository, attendance
    ) -> None:
        # Given another issuer (a retried schedule, the organiser's button) issuing between this run's read and write
        attendee = attended(table, attendance, 1.0)
        other = certificate_service(repository, attendance)
        repository.before("issue", lambda: other.issue_all("nasro-2020"))

        # When
        result = service.issue_all("nasro-2020")

        # Then the pointer, claimed in the other's transaction, refuses this one: one certificate, one email
        assert (result.eligible, result.queued) == (1, 0)
        assert len(repository.certificates) == 1 and len(table.outbox) == 1
        assert attendee.attendee_id in repository.pointers

    @pytest.mark.parametrize("status", [RegistrationStatus.DISPUTED, RegistrationStatus.REFUNDED])
    def test_only_paid_seats_are_candidates(self, service, table, repository, attendance, status) -> None:
        attended(table, attendance, 1.0, status=status)
        assert service.issue_all("nasro-2020").eligible == 0
        assert repository.certificates == {}

    def test_a_revoked_attendee_earns_no_certificate(self, service, table, repository, attendance) -> None:
        attendee = attended(table, attendance, 1.0)
        table.revoke_attendee(attendee.attendee_id)
        assert table.attendee(attendee.attendee_id).status is AttendeeStatus.REVOKED
        assert service.issue_all("nasro-2020").eligible == 0

    def test_a_paid_seat_whose_attendee_is_not_yet_created_is_passed_over(
        self, service, table, repository, attendance
    ) -> None:
        # Given a paid registration whose `-> paid` record has not been processed yet
        registration = table.save(individual())
        attendance.attend(registration.seats[0].attendee_id, 1.0, CONFERENCE)

        # When / Then
        assert service.issue_all("nasro-2020").eligible == 0
        assert repository.certificates == {}


class TestCountingWhatIsOwed:
    """The certificate issue's answer: counted before its job runs, read only, and bounded."""

    def test_it_counts_the_eligible_and_those_without_a_certificate_and_writes_nothing(
        self, service, table, repository, attendance
    ) -> None:
        # Given two eligible attendees (one already certified), one at half the sessions, one disputed
        certified = attended(table, attendance, 1.0)
        service.issue_all("nasro-2020")
        attended(table, attendance, 1.0)
        attended(table, attendance, 0.5)
        attended(table, attendance, 1.0, status=RegistrationStatus.DISPUTED)
        before = (dict(repository.certificates), dict(table.outbox))

        # When / Then
        owed = service.owed("nasro-2020", at_most=100)
        assert (owed.eligible, owed.queued, owed.complete) == (2, 1, True)
        assert (dict(repository.certificates), dict(table.outbox)) == before
        assert repository.pointers.keys() == {certified.attendee_id}

    def test_past_its_bound_it_stops_and_says_the_count_is_partial(self, service, table, attendance) -> None:
        for _ in range(3):
            attended(table, attendance, 1.0)
        assert service.owed("nasro-2020", at_most=3).complete
        partial = service.owed("nasro-2020", at_most=2)
        assert (partial.eligible, partial.queued, partial.complete) == (2, 2, False)

    def test_an_unknown_event_is_not_found_before_anything_is_read(self, service) -> None:
        with pytest.raises(NotFound):
            service.owed("no-such-event", at_most=100)


class TestVerifying:
    def test_a_valid_id_shows_the_name_hours_conference_and_date_only(
        self, service, table, repository, attendance
    ) -> None:
        # Given
        attended(table, attendance, 1.0, first_name="Ana", last_name="Lopez")
        service.issue_all("nasro-2020")
        (certificate_id,) = repository.certificates

        # When
        view = service.verify(certificate_id)

        # Then
        assert view.model_dump(mode="json") == {
            "certificate_id": certificate_id,
            "status": "valid",
            "attendee_name": "Ana Lopez",
            "conference": CONFERENCE.name,
            "issued_at": "2020-08-07",
            "hours": 15.5,
        }

    def test_a_forged_or_altered_id_is_not_found_without_reading_the_table(
        self, service, table, repository, attendance
    ) -> None:
        # Given a real certificate
        attended(table, attendance, 1.0)
        service.issue_all("nasro-2020")
        (real,) = repository.certificates
        repository.reads.clear()
        flipped = real[:-1] + ("a" if real[-1] != "a" else "b")
        forged = [
            flipped,
            real.replace("_2", "_1", 1),  # signed by the other key version
            real.replace("_2", "_3", 1),  # a version that does not exist
            "crt_aaaaaaaaaaaaaaaa_2aaaaaaaaaaaaaaaa",
            real.upper(),
            "nope",
        ]

        # When / Then
        for certificate_id in forged:
            with pytest.raises(NotFound):
                service.verify(certificate_id)
        assert repository.reads == []

    def test_a_well_signed_id_that_was_never_issued_is_not_found(self, service, repository) -> None:
        unissued = KEYS.new_id()
        with pytest.raises(NotFound):
            service.verify(unissued)
        assert repository.reads == [unissued]


class TestIds:
    def test_new_ids_are_random_signed_with_the_current_version_and_verify(self) -> None:
        ids = {KEYS.new_id() for _ in range(50)}
        assert len(ids) == 50
        assert all(re.fullmatch(r"crt_[a-z2-7]{16}_2[a-z2-7]{16}", i) and KEYS.verifies(i) for i in ids)

    def test_ids_signed_with_an_older_key_still_verify_after_a_rotation_but_not_without_it(self) -> None:
        # Given an id signed with version 2
        old = KEYS.new_id()

        # When the key is rotated to version 3, keeping 2; or 2 is dropped
        rotated = CertificateKeys(current="3", keys={**KEYS.keys, "3": b"\x33" * 32})
        dropped = CertificateKeys(current="3", keys={"3": b"\x33" * 32})

        # Then
        assert rotated.verifies(old) and rotated.new_id().split("_")[2].startswith("3")
        assert not dropped.verifies(old)

    @pytest.mark.parametrize("versions", [("9", "10"), ("99", "100"), ("1", "123456789")])
    def test_key_versions_of_any_length_sign_and_verify_and_keep_verifying_after_rotation(self, versions) -> None:
        before, after = versions
        old = CertificateKeys(current=before, keys={before: b"\x11" * 32}).new_id()
        rotated = CertificateKeys(current=after, keys={before: b"\x11" * 32, after: b"\x22" * 32})
        new = rotated.new_id()
        assert rotated.verifies(old) and rotated.verifies(new) and new.split("_")[2].startswith(after)
        assert not CertificateKeys(current=after, keys={after: b"\x22" * 32}).verifies(old)

    @pytest.mark.parametrize(("current", "keys"), [("0", {"0": b"k"}), ("v2", {"v2": b"k"}), ("3", {"1": b"k"})])
    def test_a_key_set_that_could_not_sign_or_verify_is_refused_when_loaded(self, current, keys) -> None:
        with pytest.raises(ValueError):
            CertificateKeys(current=current, keys=keys)

    def test_the_same_random_part_under_another_key_does_not_verify(self) -> None:
        other = CertificateKeys(current="2", keys={"2": b"\x99" * 32})
        assert not KEYS.verifies(other.new_id())


class TestReissuing:
    def test_a_reissue_with_a_corrected_name_revokes_the_old_certificate_and_queues_the_new_one(
        self, service, table, repository, attendance
    ) -> None:
        # Given an issued certificate
        attendee = attended(table, attendance, 1.0, first_name="Lukasz", last_name="Nguyen")
        service.issue_all("nasro-2020")
        (old_id,) = repository.certificates

        # When the organiser corrects the name
        result = service.reissue(attendee.attendee_id, "Łukasz", "Nguyễn-Żółć")

        # Then the old one is revoked and points at the new one, which has the name and the same hours
        assert result.attendee_id == attendee.attendee_id and result.revoked == old_id
        old, new = repository.certificates[old_id], repository.certificates[result.certificate_id]
        assert old.status is CertificateStatus.REVOKED and old.replaced_by == new.certificate_id
        assert old.revoked_at == new.created_at == WALL  # since when, for the verification page
        assert new.status is CertificateStatus.VALID and new.attendee_name == "Łukasz Nguyễn-Żółć"
        assert new.hours == old.hours and KEYS.verifies(new.certificate_id)
        assert repository.pointers[attendee.attendee_id] == new.certificate_id
        assert service.verify(old_id).status == "revoked"
        renamed = table.attendee(attendee.attendee_id)
        assert renamed is not None and (renamed.first_name, renamed.last_name) == ("Łukasz", "Nguyễn-Żółć")
        certificate_emails = sorted(e.certificate_id or "" for e in table.outbox.values())
        assert certificate_emails == sorted([old_id, new.certificate_id])

    def test_a_correction_of_one_name_keeps_the_other(self, service, table, repository, attendance) -> None:
        attendee = attended(table, attendance, 1.0, first_name="Ana", last_name="Lopes")
        service.issue_all("nasro-2020")
        result = service.reissue(attendee.attendee_id, None, "Lopez")
        assert repository.certificates[result.certificate_id].attendee_name == "Ana Lopez"

    def test_a_reissue_without_a_correction_issues_the_same_name_anew(
        self, service, table, repository, attendance
    ) -> None:
        attendee = attended(table, attendance, 1.0, first_name="Ana", last_name="Lopez")
        service.issue_all("nasro-2020")
        result = service.reissue(attendee.attendee_id, None, None)
        assert repository.certificates[result.certificate_id].attendee_name == "Ana Lopez"
        assert result.certificate_id != result.revoked

    def test_an_attendee_without_a_certificate_has_none_to_reissue(
        self, service, table, repository, attendance
    ) -> None:
        attendee = attended(table, attendance, 0.1)
        for attendee_id in (attendee.attendee_id, "att_unknown"):
            with pytest.raises(NotFound):
                service.reissue(attendee_id, "Ana", None)
        assert repository.certificates == {}

    def test_a_reissue_racing_another_is_refused_and_changes_nothing_of_its_own(
        self, service, table, repository, attendance
    ) -> None:
        # Given an issued certificate, and another reissue landing between this one's read and its write
        attendee = attended(table, attendance, 1.0)
        service.issue_all("nasro-2020")
        winner: list[str] = []
        repository.before(
            "replace", lambda: winner.append(service.reissue(attendee.attendee_id, None, None).certificate_id)
        )

        # When
        with pytest.raises(NotFound, match="changed meanwhile"):
            service.reissue(attendee.attendee_id, None, None)

        # Then only the winner's certificate was added
        assert len(repository.certificates) == 2
        assert repository.pointers[attendee.attendee_id] == winner[0]
