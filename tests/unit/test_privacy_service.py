"""Personal data: everything held about one person, and erasure that keeps the money trail; on in-memory fakes
of the table (tests/support/fakes_admin.py) and of attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.access import hash_access_code
from shared.admin.privacy import ERASE_ATTEMPTS, ERASED, PrivacyService
from shared.certificates.models import Certificate, CertificateStatus
from shared.clock import FixedClock
from shared.conference.models import Money
from shared.errors import NotFound, TemporarilyUnavailable
from shared.payments.models import HistoryAction, HistoryEntry, PaymentFacts
from shared.reactions.models import (
    Attendee,
    AttendeeStatus,
    EmailKind,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    Shipment,
    ShipmentState,
)
from shared.registration.models import Billing, Checkout, Purchaser, Registration, Seat, ShippingAddress
from shared.registration.status import RegistrationStatus
from shared.registration.status import RegistrationStatus as Status
from tests.support.fakes_admin import InMemoryAdminTable
from tests.support.fakes_attendance import InMemoryAttendance

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
EMAIL = "private.person@example.org"
PAID = HistoryEntry(
    at=AT - timedelta(days=1),
    actor="stripe",
    action=HistoryAction.STATUS_CHANGED,
    from_status=RegistrationStatus.PENDING_PAYMENT,
    to_status=RegistrationStatus.PAID,
)
PERSONAL = ("Zanzibar", "Quux", "private.person", "1 Main St", "Springfield", "+1 555 0100", "Quux PD")


def seat(attendee_id: str, email: str, first_name: str = "Zanzibar") -> Seat:
    return Seat(
        attendee_id=attendee_id, first_name=first_name, last_name="Quux", email=email, organization="Quux PD",
        job_title="SRO", phone="+1 555 0100",
    )  # fmt: skip


def paid(registration_id: str, seats: list[Seat], *, purchaser: Purchaser | None = None) -> Registration:
    return Registration(
        event_id="nasro-2020",
        registration_id=registration_id,
        kind="group" if purchaser else "individual",
        status=RegistrationStatus.PAID,
        seats=seats,
        purchaser=purchaser,
        shipping_address=None
        if purchaser
        else ShippingAddress(line1="1 Main St", line2="Apt 2", city="Springfield", state="IL", postal_code="62701", country="US"),
        amount=Money(amount=20000 * len(seats), currency="usd"),
        created_at=AT - timedelta(days=2),
        checkout_attempt=1,
        checkout_expires_at=AT,
        checkout=Checkout(session_id="cs_test_1", url="https://checkout.test/cs", expires_at=AT),
        payment=PaymentFacts(paid=True, payment_intent_id="pi_1", amount_paid=20000 * len(seats)),
        history=[PAID],
        version=2,
    )  # fmt: skip


def attendee(r: Registration, s: Seat) -> Attendee:
    signed_in = {
        "access_code_hash": hash_access_code("ABCD-EFGH"),
        "requested_codes": (RequestedCode(code_hash=hash_access_code("WXYZ-WXYZ"), issued_at=AT),),
        "current_session": "digest-of-the-token",
        "session_expires_at": AT + timedelta(hours=1),
    }
    return Attendee.of_seat(r, s).model_copy(update=signed_in)


@pytest.fixture
def table() -> InMemoryAdminTable:
    return InMemoryAdminTable()


@pytest.fixture
def attendance() -> InMemoryAttendance:
    return InMemoryAttendance()


@pytest.fixture
def privacy(table, attendance) -> PrivacyService:
    return PrivacyService(repository=table, attendance=attendance, pdfs=table, wall_clock=FixedClock(AT))


@pytest.fixture
def individual(table, attendance) -> Registration:
    """A paid individual, confirmed, with a coin on the list, a certificate, and some attendance."""
    r = paid("reg_ind", [seat("att_ind", EMAIL)])
    table.registrations[r.registration_id] = r
    table.guards["nasro-2020", EMAIL] = r.registration_id
    table.attendees["att_ind"] = attendee(r, r.seats[0])
    table.outbox[(r.registration_id, "confirmation#att_ind")] = OutboxEmail(
        registration_id=r.registration_id, kind=EmailKind.CONFIRMATION, attendee_id="att_ind",
        status=OutboxStatus.SENT, sent_at=AT - timedelta(days=1), message_id="ses-1",
    )  # fmt: skip
    table.shipments[r.registration_id] = Shipment(
        event_id="nasro-2020",
        registration_id=r.registration_id, attendee_id="att_ind", name="Zanzibar Quux", organization="Quux PD",
        line1="1 Main St", line2="Apt 2", city="Springfield", state="IL", postal_code="62701", country="US",
        created_at=AT - timedelta(days=1),
    )  # fmt: skip
    table.certificates["crt_1"] = Certificate(
        certificate_id="crt_1", attendee_id="att_ind", registration_id=r.registration_id,
        attendee_name="Zanzibar Quux", conference="NASRO 2020", hours=15.5, issued_at=date(2020, 8, 7),
        created_at=AT,
    )  # fmt: skip
    table.pointers["att_ind"] = "crt_1"
    attendance.credited["att_ind"] = {"d1-implicit-bias": {0, 1, 2}}
    attendance.logins["att_ind"], attendance.days["att_ind"] = 2, {"2020-08-05"}
    return r


@pytest.fixture
def team(table) -> Registration:
    """A paid group of two whose purchaser is also its first attendee; not yet confirmed (no attendees)."""
    r = paid(
        "reg_grp",
        [seat("att_g0", "chief@example.org", "Ray"), seat("att_g1", "officer@example.org", "Lee")],
        purchaser=Purchaser(name="Chief Ray", email="Chief@Example.org", organization="Quux PD"),
    )
    table.registrations[r.registration_id] = r
    table.guards |= {
        ("nasro-2020", "chief@example.org"): r.registration_id,
        ("nasro-2020", "officer@example.org"): r.registration_id,
    }
    return r


class TestErasureFindsEveryRecord:
    """Issue 17's finding 5: the person is found in every registration naming them, not only where their email holds
    a paid seat; every certificate ever issued to them goes, with every stored version of its PDF."""

    def test_registrations_that_expired_or_were_cancelled_or_await_payment_are_erased_too(
        self, privacy, table, individual
    ) -> None:
        # Given, besides the paid seat, registrations for the same person that hold no seat (no guard)
        for number, status in enumerate((Status.EXPIRED, Status.CANCELLED, Status.PENDING_PAYMENT)):
            other = paid(f"reg_old{number}", [seat(f"att_old{number}", EMAIL)]).model_copy(update={"status": status})
            table.registrations[other.registration_id] = other
            table.people.add((EMAIL, other.registration_id))

        # When
        answer = privacy.erase(EMAIL, actor="admin@example.org")

        # Then every one of them is erased, and nothing is found any more
        assert sorted(s["registration_id"] for s in answer["seats"]) == ["reg_ind", "reg_old0", "reg_old1", "reg_old2"]
        for registration in table.registrations.values():
            assert EMAIL not in str(registration) and "Zanzibar" not in str(registration)
        assert table.people == set()
        with pytest.raises(NotFound):
            privacy.export(EMAIL)

    def test_a_purchaser_without_a_seat_is_found_exported_and_erased_and_the_attendees_kept(
        self, privacy, table
    ) -> None:
        # Given a group bought by someone who attends none of it
        buyer = "buyer@example.org"
        r = paid(
            "reg_bought", [seat("att_b0", "officer@example.org", "Lee")],
            purchaser=Purchaser(name="Pat Buyer", email="Buyer@Example.org", organization="Quux PD"),
        )  # fmt: skip
        table.registrations[r.registration_id] = r
        table.people.add((buyer, r.registration_id))

        # When
        exported = privacy.export(buyer)
        answer = privacy.erase(buyer, actor="admin@example.org")

        # Then the export shows the purchase, and the erasure removes the purchaser only
        assert exported["seats"] == [] and [p["registration_id"] for p in exported["purchases"]] == ["reg_bought"]
        assert answer["purchases"] == ["reg_bought"] and answer["seats"] == []
        after = table.registrations["reg_bought"]
        assert after.purchaser is not None and "Pat Buyer" not in str(after) and buyer not in str(after).lower()
        assert after.seats[0].email == "officer@example.org"

    def test_every_certificate_ever_issued_and_every_version_of_its_pdf_is_erased(
        self, privacy, table, individual
    ) -> None:
        # Given a certificate that a reissue revoked (still verifiable, with the old name) beside the current one
        old = table.certificates["crt_1"].model_copy(
            update={"certificate_id": "crt_0", "status": CertificateStatus.REVOKED}
        )
        table.certificates["crt_0"] = old
        for certificate_id in ("crt_0", "crt_1"):
            table.outbox[("reg_ind", f"certificate#{certificate_id}")] = OutboxEmail(
                registration_id="reg_ind", kind=EmailKind.CERTIFICATE, attendee_id="att_ind",
                certificate_id=certificate_id,
            )  # fmt: skip
        table.pdf_versions |= {"crt_0": 1, "crt_1": 3}

        # When
        privacy.erase(EMAIL, actor="admin@example.org")

        # Then neither shows the name any more, and no version of either PDF is left
        assert all(c.attendee_name == ERASED for c in table.certificates.values())
        assert table.pdf_versions == {}

    def test_an_officer_a_substitution_replaced_is_found_exported_and_erased_with_their_certificate(
        self, privacy, table, team
    ) -> None:
        # Given the officer's seat passed to a newcomer: no seat names them, their revoked attendee item remains
        # (with a certificate issued before the substitution) and the person index still lists the registration
        former = "officer@example.org"
        newcomer = seat("att_g2", "newcomer@example.org", "Dana")
        substituted = team.model_copy(
            update={
                "seats": [team.seats[0], newcomer],
                "history": [
                    *team.history,
                    HistoryEntry(
                        at=AT, actor="support@example.org", action=HistoryAction.ATTENDEE_SUBSTITUTED,
                        from_attendee_id="att_g1", to_attendee_id="att_g2",
                    ),
                ],
            }
        )  # fmt: skip
        table.registrations["reg_grp"] = substituted
        table.attendees["att_g1"] = attendee(team, team.seats[1]).model_copy(update={"status": AttendeeStatus.REVOKED})
        table.attendees["att_g2"] = attendee(substituted, newcomer)
        table.people |= {(former, "reg_grp")}
        table.certificates["crt_g1"] = Certificate(
            certificate_id="crt_g1", attendee_id="att_g1", registration_id="reg_grp", attendee_name="Lee Quux",
            conference="NASRO 2020", hours=3.0, issued_at=date(2020, 8, 7), created_at=AT,
        )  # fmt: skip
        table.pointers["att_g1"] = "crt_g1"
        table.pdf_versions["crt_g1"] = 1

        # When
        exported = privacy.export(former)
        answer = privacy.erase(former, actor="admin@example.org")

        # Then the export shows the seat they held, and the erasure takes their attendee item and certificate only
        assert exported["seats"] == []
        (held,) = exported["replaced_seats"]
        assert held["attendee"]["attendee_id"] == "att_g1" and held["attendee"]["email"] == former
        assert [s["attendee_id"] for s in answer["seats"]] == ["att_g1"]
        assert former not in str(table.attendees["att_g1"]) and "Lee" not in str(table.attendees["att_g1"])
        assert table.certificates["crt_g1"].attendee_name == ERASED and "crt_g1" not in table.pdf_versions
        after = table.registrations["reg_grp"]
        assert after.seats == substituted.seats and after.purchaser == team.purchaser
        assert table.attendees["att_g2"] == attendee(substituted, newcomer)
        assert (former, "reg_grp") not in table.people
        with pytest.raises(NotFound):
            privacy.export(former)


class TestExport:
    def test_everything_held_about_the_person_without_the_code_or_the_session(self, privacy, individual) -> None:
        # When, the address in another case
        exported = privacy.export("Private.Person@EXAMPLE.org")

        # Then one seat, in one event
        assert exported["exported_at"] == AT.isoformat()
        (document,) = exported["seats"]
        assert document["event_id"] == "nasro-2020"
        held = document["registration"]
        assert held["registration_id"] == "reg_ind" and held["status"] == RegistrationStatus.PAID
        assert held["seat"]["first_name"] == "Zanzibar" and held["seat"]["phone"] == "+1 555 0100"
        assert held["shipping_address"]["line1"] == "1 Main St"
        assert held["amount"] == {"amount": 20000, "currency": "usd"}
        assert [entry["action"] for entry in held["history"]] == ["registration.status_changed"]
        assert document["attendee"]["email"] == EMAIL
        assert not {"access_code_hash", "requested_codes", "current_session", "session_expires_at"} & set(
            document["attendee"]
        )
        assert document["attendance"] == {
            "minutes_by_session": {"d1-implicit-bias": 3},
            "logins": 2,
            "days_logged_in": 1,
            "shared_login_signals": 0,
        }
        assert document["emails"] == [
            {"kind": "confirmation", "status": "sent", "sent_at": (AT - timedelta(days=1)).isoformat().replace("+00:00", "Z")}
        ]  # fmt: skip
        assert document["coin_shipment"]["shipment_state"] == "pending"
        assert document["certificate"]["certificate_id"] == "crt_1"

    def test_a_group_member_s_export_holds_their_seat_only(self, privacy, table, team) -> None:
        # Given emails for both seats
        for attendee_id in ("att_g0", "att_g1"):
            email = OutboxEmail(registration_id="reg_grp", kind=EmailKind.CONFIRMATION, attendee_id=attendee_id)
            table.outbox[("reg_grp", email.key)] = email

        # When
        (document,) = privacy.export("officer@example.org")["seats"]

        # Then
        assert document["registration"]["seat"]["attendee_id"] == "att_g1"
        assert "Ray" not in str(document["registration"])
        assert len(document["emails"]) == 1
        assert document["attendee"] is None and document["coin_shipment"] is None and document["certificate"] is None
        assert document["registration"]["shipping_address"] is None

    def test_nothing_held_is_not_found(self, privacy, table, individual) -> None:
        with pytest.raises(NotFound):
            privacy.export("nobody@example.org")
        # and a guard whose registration lost the seat (a stale guard) holds nothing about the person either
        table.guards["nasro-2020", "ghost@example.org"] = "reg_ind"
        with pytest.raises(NotFound):
            privacy.export("ghost@example.org")


class TestErasure:
    def test_an_individual_is_erased_everywhere_and_the_money_trail_stays(self, privacy, table, individual) -> None:
        # When
        answer = privacy.erase(EMAIL, actor="admin@example.org")

        # Then nothing personal is left, wherever it was kept
        seat = {"attendee_id": "att_ind", "registration_id": "reg_ind", "event_id": "nasro-2020"}
        assert answer == {**seat, "erased": True, "seats": [seat], "purchases": []}
        after = table.registrations["reg_ind"]
        kept = str(after) + str(table.attendees) + str(table.shipments) + str(table.certificates)
        for personal in PERSONAL:
            assert personal not in kept, personal
        assert after.seats[0].email == f"{ERASED}+att_ind@invalid"
        assert after.seats[0].job_title is None and after.seats[0].phone is None
        assert after.shipping_address is not None and after.shipping_address.country == "ZZ"
        assert table.attendees["att_ind"].access_code_hash is None
        assert table.attendees["att_ind"].requested_codes == ()
        assert table.attendees["att_ind"].current_session is None
        assert table.shipments["reg_ind"].shipment_state is ShipmentState.CANCELLED
        assert table.certificates["crt_1"].status is CertificateStatus.REVOKED
        # and the email is free, so nothing is found any more
        assert ("nasro-2020", EMAIL) not in table.guards
        with pytest.raises(NotFound):
            privacy.export(EMAIL)
        # while the amounts, the payment, the status and the history stay, with who erased whom
        assert (after.status, after.amount, after.payment) == (individual.status, individual.amount, individual.payment)
        assert after.history[:-1] == [PAID]
        (erased,) = after.history[-1:]
        assert (erased.at, erased.actor, erased.action, erased.attendee_id) == (
            AT,
            "admin@example.org",
            HistoryAction.PERSONAL_DATA_ERASED,
            "att_ind",
        )
        assert after.version == individual.version + 1

    def test_a_group_member_is_erased_and_the_others_kept(self, privacy, table, team) -> None:
        # When the second attendee (not the purchaser) is erased
        privacy.erase("officer@example.org", actor="admin@example.org")

        # Then their seat only; the purchaser and the other seat stay, and no address is invented
        after = table.registrations["reg_grp"]
        assert [s.first_name for s in after.seats] == ["Ray", ERASED]
        assert after.purchaser == team.purchaser
        assert after.shipping_address is None
        assert set(table.guards) == {("nasro-2020", "chief@example.org")}

    def test_the_purchaser_who_is_also_an_attendee_is_erased_as_both(self, privacy, table, team) -> None:
        # When
        privacy.erase("chief@example.org", actor="admin@example.org")

        # Then both are erased, and the registration still reads back as a registration (its purchaser's
        # email is validated as an address on every read)
        after = Registration.model_validate(table.registrations["reg_grp"].model_dump(mode="json"))
        assert after.purchaser is not None and after.purchaser.name == ERASED
        assert "chief" not in after.purchaser.email.lower()
        assert [s.first_name for s in after.seats] == [ERASED, "Lee"]

    def test_a_change_between_the_read_and_the_write_is_kept_and_the_erasure_done_on_the_new_version(
        self, privacy, table, individual
    ) -> None:
        # Given another writer changing the registration just before the erasure writes
        def concurrent_change() -> None:
            current = table.registrations["reg_ind"]
            note = HistoryEntry(at=AT, actor="admin:other", action=HistoryAction.CONFIRMATION_RESENT, resend=1)
            table.registrations["reg_ind"] = current.model_copy(
                update={"history": [*current.history, note], "version": current.version + 1}
            )

        table.race("replace_personal_data", concurrent_change)

        # When
        privacy.erase(EMAIL, actor="admin@example.org")

        # Then the erasure lost once, re-read and won: the concurrent change stays
        after = table.registrations["reg_ind"]
        assert [h.action for h in after.history] == [
            HistoryAction.STATUS_CHANGED,
            HistoryAction.CONFIRMATION_RESENT,
            HistoryAction.PERSONAL_DATA_ERASED,
        ]
        assert after.seats[0].first_name == ERASED
        assert after.version == individual.version + 2

    def test_a_registration_that_keeps_changing_is_a_retryable_refusal(self, privacy, table, individual) -> None:
        # Given a change before every write attempt
        def bump() -> None:
            current = table.registrations["reg_ind"]
            table.registrations["reg_ind"] = current.model_copy(update={"version": current.version + 1})

        for _ in range(ERASE_ATTEMPTS):
            table.race("replace_personal_data", bump)

        # When / Then nothing is erased, and the organiser is told to try again
        with pytest.raises(TemporarilyUnavailable):
            privacy.erase(EMAIL, actor="admin@example.org")
        assert table.registrations["reg_ind"].seats[0].first_name == "Zanzibar"
        assert ("nasro-2020", EMAIL) in table.guards

    def test_an_unknown_person_is_not_found(self, privacy) -> None:
        with pytest.raises(NotFound):
            privacy.erase("nobody@example.org", actor="admin@example.org")


def test_an_invoice_s_billing_contact_is_found_exported_and_erased_and_the_po_number_kept(privacy, table) -> None:
    # Given an invoiced group whose invoice went to a person in accounts payable
    contact = "ap.clerk@example.org"
    r = paid("reg_billed", [seat("att_i0", "officer@example.org", "Lee")]).model_copy(
        update={"billing": Billing(billing_email="AP.Clerk@example.org", billing_name="Pat Clerk", po_number="PO-9")}
    )
    table.registrations[r.registration_id] = r
    table.people.add((contact, r.registration_id))

    # When
    exported = privacy.export(contact)
    answer = privacy.erase(contact, actor="admin@example.org")

    # Then the export shows the billing contact; the erasure removes their name and address, the seats stay
    assert [p["billing"]["billing_name"] for p in exported["purchases"]] == ["Pat Clerk"]
    assert answer["purchases"] == ["reg_billed"] and answer["seats"] == []
    after = table.registrations["reg_billed"]
    assert after.billing is not None and after.billing.po_number == "PO-9"
    assert "Pat Clerk" not in str(after) and contact not in str(after).lower()
    assert after.seats[0].email == "officer@example.org"
