"""The organiser's routes: registrations page by page, the CSV exports, refunds and resent confirmations."""

from __future__ import annotations

import csv
import io
import re

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, group, individual
from infra.template import http_api_routes
from tests.integration.conftest import ADMIN, drain


def register(api: LocalHttpApi, body: dict) -> dict:
    return api.request("POST", "/registrations", headers=JSON, body=encoded(body)).json()


def pay(api, stripe_standin, body: dict) -> dict:
    created = register(api, body)
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    return created


def rows(response) -> list[dict[str, str]]:
    assert response.status == 200 and response.body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))


def test_every_admin_route_needs_the_token(api) -> None:
    # Given every /admin route the template declares (which tokens are refused is tests/unit/test_admin_auth.py)
    routes = [route for route in http_api_routes() if route.path.startswith("/admin/")]
    assert len(routes) >= 10

    for route in routes:
        path = re.sub(r"\{[a-z_]+\}", "reg_x", route.path)
        for headers in ({}, {"authorization": "Bearer not-it"}):
            # When it is called without the organiser's token
            response = api.request(route.method, path, headers=headers | JSON, body=b"{}")

            # Then it is refused before it does anything
            assert response.status == 401, (route, headers)
            assert response.json()["code"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_registrations_come_page_by_page_from_the_status_index_with_an_opaque_cursor(
    api, stripe_standin, monkeypatch
) -> None:
    from shared.admin import service

    # Given 5 pending and 2 paid registrations, and pages of 2 (the other statuses' turns: the unit tests)
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    pending = [register(api, individual(email=f"p{n}@example.org"))["registration_id"] for n in range(5)]
    for n in range(2):
        pay(api, stripe_standin, individual(email=f"paid{n}@example.org"))

    # When every page of one status is read, with another registration arriving in between
    pages, cursor = [], None
    while True:
        query = "status=pending_payment" + (f"&cursor={cursor}" if cursor else "")
        response = api.request("GET", "/admin/registrations", query=query, headers=ADMIN)
        assert response.status == 200
        pages.append(response.json()["items"])
        if len(pages) == 1:
            pending.append(register(api, individual(email="late@example.org"))["registration_id"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    # Then DynamoDB's keys carried the cursor: each shows once, oldest first, with its attendees from the index
    assert [item["registration_id"] for page in pages for item in page] == pending
    assert [len(page) for page in pages] == [2, 2, 2]
    (first_attendee,) = pages[0][0]["attendees"]
    assert first_attendee["email"] == "p0@example.org" and first_attendee["attendee_id"].startswith("att_")


def test_a_bad_status_or_cursor_is_a_422_naming_it(api) -> None:
    # (which cursors and statuses are refused: tests/unit/test_admin_service.py)
    for query, field in (("status=shipped", "status"), ("cursor=not-ours", "cursor")):
        response = api.request("GET", "/admin/registrations", query=query, headers=ADMIN)
        assert response.status == 422, query
        assert response.content_type == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_registrations_csv_has_a_row_per_seat_and_defuses_formulas(api, stripe_standin) -> None:
    pay(api, stripe_standin, group(["g1@example.org", "g2@example.org"]))
    register(api, individual(email="formula@example.org", first_name="=1+1", organization="@SUM(A1)"))
    table = rows(api.request("GET", "/admin/exports/registrations.csv", headers=ADMIN))
    assert len(table) == 3
    assert {row["email"] for row in table} == {"g1@example.org", "g2@example.org", "formula@example.org"}
    formula = next(row for row in table if row["email"] == "formula@example.org")
    assert formula["first_name"] == "'=1+1" and formula["organization"] == "'@SUM(A1)"
    assert all(row["attendee_id"].startswith("att_") for row in table)


def test_the_attendance_csv_has_minutes_per_session_and_eligibility(api, stripe_standin, stream) -> None:
    pay(api, stripe_standin, individual(email="seat@example.org"))
    drain(stripe_standin, stream)
    (row,) = rows(api.request("GET", "/admin/exports/attendance.csv", headers=ADMIN))
    assert row["email"] == "seat@example.org"
    assert row["minutes:d1-implicit-bias"] == "0" and row["eligible"] == "no" and row["shared_login_signals"] == "0"


def test_a_refund_through_the_admin_route_finishes_like_a_dashboard_refund(api, stripe_standin, stream, stack) -> None:
    from shared.adapters.dynamodb_reactions import DynamoReactionRepository

    # Given a paid individual, confirmed
    created = pay(api, stripe_standin, individual(email="refund.me@example.org"))
    drain(stripe_standin, stream)

    # When the organiser refunds, twice (a double click)
    first = api.request("POST", f"/admin/registrations/{created['registration_id']}/refund", headers=ADMIN)
    second = api.request("POST", f"/admin/registrations/{created['registration_id']}/refund", headers=ADMIN)
    drain(stripe_standin, stream)

    # Then one refund, the registration refunded, access revoked, the coin cancelled, one notice
    assert first.status == 202 and second.status in {202, 409}
    assert api.request("GET", f"/registrations/{created['registration_id']}").json()["status"] == "refunded"
    repository = DynamoReactionRepository(stack.resources["MainTable"])
    registration = repository.registration(created["registration_id"])
    assert repository.attendee(registration.seats[0].attendee_id).status == "revoked"
    assert repository.shipment(created["registration_id"]).shipment_state == "cancelled"
    notices = [m for m in LocalMailbox().emails() if "refund.me@example.org" in m.to and "refunded" in m.subject]
    assert len(notices) == 1
    again = api.request("POST", f"/admin/registrations/{created['registration_id']}/refund", headers=ADMIN)
    assert again.status == 409 and again.json()["code"] == "not_refundable"
    # and the audit history says who asked, then what Stripe did
    history = repository.registration(created["registration_id"]).history
    actions = [(h.actor, h.action, h.to_status) for h in history]
    requested = actions.index(("admin@example.org", "refund.requested", None))
    assert history[requested].refund_id.startswith("re_")
    assert actions.index(("stripe", "registration.status_changed", "refunded")) > requested


def test_resending_a_confirmation_replaces_the_access_code(api, stripe_standin, stream) -> None:
    # Given a paid attendee whose first code works
    email = "resend.me@example.org"
    created = pay(api, stripe_standin, individual(email=email))
    drain(stripe_standin, stream)

    def codes(subject: str) -> list[str]:
        mails = [m for m in LocalMailbox().emails() if email in m.to and subject in m.subject]
        return [re.findall(rb"Access code: (\S+)\r\n", m.raw)[0].decode() for m in mails]

    (old,) = codes("confirmed")

    # When the organiser resends
    response = api.request(
        "POST", f"/admin/registrations/{created['registration_id']}/resend-confirmation", headers=ADMIN
    )
    drain(stripe_standin, stream)

    # Then an access-code email (not a second confirmation) with a new code; only the new one logs in
    assert response.status == 202
    assert codes("confirmed") == [old]
    (new,) = codes("access code")

    def login(code):
        return api.request("POST", "/logins", headers=JSON, body=encoded({"email": email, "access_code": code}))

    assert login(old).status == 401
    assert login(new).status == 200


def test_unknown_registrations_are_not_found(api) -> None:
    for action in ("refund", "resend-confirmation"):
        response = api.request("POST", f"/admin/registrations/reg_{'a' * 24}/{action}", headers=ADMIN)
        assert response.status == 404


def test_a_person_s_data_can_be_exported_then_erased_keeping_the_money_trail(
    api, stripe_standin, stream, stack, aws
) -> None:
    from tests.support.tables import scan_all

    # Given a paid individual with a confirmation and a coin on the list
    email = "private.person@example.org"
    created = pay(api, stripe_standin, individual(email=email, first_name="Zanzibar", last_name="Quux"))
    drain(stripe_standin, stream)

    # When their data is exported
    exported = api.request("POST", "/admin/people/export", headers=ADMIN | JSON, body=encoded({"email": email}))

    # Then it holds the seat, the address, the emails and the attendance
    assert exported.status == 200
    (document,) = exported.json()["seats"]
    assert document["event_id"] == "nasro-2020"
    assert document["registration"]["seat"]["first_name"] == "Zanzibar"
    assert document["registration"]["shipping_address"]["line1"] == "1 Main St"
    assert document["coin_shipment"]["shipment_state"] == "pending"
    assert [e["kind"] for e in document["emails"]] == ["confirmation"]
    assert "access_code_hash" not in str(document)

    # When they are erased
    erased = api.request("POST", "/admin/people/erase", headers=ADMIN | JSON, body=encoded({"email": email}))

    # Then nothing personal is left in the table, the money trail is, and the email is free again
    assert erased.status == 200
    rows_after = scan_all(aws.client("dynamodb"), stack.resources["MainTable"])
    text = str(rows_after)
    for personal in ("Zanzibar", "Quux", "private.person", "1 Main St", "Springfield", "+1 555 0100"):
        assert personal not in text, personal
    (registration,) = [r for r in rows_after if r["sk"] == "META" and r["pk"] == f"REG#{created['registration_id']}"]
    assert registration["status"] == "paid" and registration["amount"]["amount"] == 20000
    assert registration["payment"]["payment_intent_id"].startswith("pi_")
    assert registration["history"][-1]["action"] == "personal_data.erased"
    assert registration["history"][-1]["attendee_id"] == registration["seats"][0]["attendee_id"]
    assert (
        api.request("POST", "/admin/people/export", headers=ADMIN | JSON, body=encoded({"email": email})).status == 404
    )
    assert (
        api.request(
            "POST", "/admin/people/export", headers=ADMIN | JSON, body=encoded({"email": "not-an-email"})
        ).status
        == 422
    )
    shipments = api.request("GET", "/admin/exports/shipments.csv", headers=ADMIN)
    assert created["registration_id"] not in shipments.body.decode()


def test_a_large_export_is_a_303_to_a_short_lived_download(api, stripe_standin, monkeypatch) -> None:
    import requests

    from functions.admin_api import handler

    # Given exports counted as large from a few bytes on
    monkeypatch.setattr(handler, "LARGE_EXPORT_BYTES", 10)
    register(api, individual(email="big@example.org"))

    # When
    response = api.request("GET", "/admin/exports/registrations.csv", headers=ADMIN)

    # Then a redirect to a presigned S3 link that serves the same CSV
    assert response.status == 303
    link = response.headers["location"]
    import time
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(link).query)
    assert "exports/" in link
    assert 0 < int(query["Expires"][0]) - time.time() <= 900
    download = requests.get(link, timeout=5)
    assert download.status_code == 200
    assert download.content.startswith(b"\xef\xbb\xbf") and b"big@example.org" in download.content


def test_erasing_while_the_registration_changes_re_reads_and_erases(api, stripe_standin, stack) -> None:
    from shared.adapters.dynamodb_admin import DynamoAdminRepository
    from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
    from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
    from shared.adapters.s3_certificates import S3CertificateFiles
    from shared.admin.privacy import PrivacyService
    from shared.clock import wall_clock
    from shared.payments.models import HistoryEntry

    # Given a registration that another writer changes between the erasure's read and its write
    email = "racing.person@example.org"
    created = pay(api, stripe_standin, individual(email=email, first_name="Racy"))
    table = stack.resources["MainTable"]

    class ChangedUnderfoot(DynamoAdminRepository):
        raced = False

        def replace_personal_data(self, registration, changes, entry) -> None:
            if not self.raced:
                self.raced = True
                note = HistoryEntry(at=entry.at, actor="admin:other", action="confirmation.resent", resend=1)
                super().replace_personal_data(registration, {}, note)  # the registration moves on a version
            super().replace_personal_data(registration, changes, entry)

    repository = ChangedUnderfoot(table)
    pdfs = S3CertificateFiles(stack.resources["CertificatesBucket"], DynamoCertificateRepository(table))
    privacy = PrivacyService(
        repository=repository, attendance=DynamoAttendanceRepository(table), pdfs=pdfs, wall_clock=wall_clock
    )

    # When
    erased = privacy.erase(email, actor="admin@example.org")

    # Then the erasure lost once, re-read and won: the seat is erased and the concurrent change is kept
    assert repository.raced and erased["registration_id"] == created["registration_id"]
    answer = api.request("GET", "/admin/registrations", query="status=paid", headers=ADMIN).json()
    (listed,) = [r for r in answer["items"] if r["registration_id"] == created["registration_id"]]
    assert "Racy" not in str(listed)
    assert (
        api.request("POST", "/admin/people/export", headers=ADMIN | JSON, body=encoded({"email": email})).status == 404
    )


def test_an_audit_entry_moves_the_version_so_an_erasure_that_read_before_it_re_reads(
    api, stripe_standin, stack
) -> None:
    from shared.adapters.dynamodb_admin import DynamoAdminRepository
    from shared.clock import wall_clock
    from shared.payments.models import HistoryAction, HistoryEntry
    from shared.registration.ports import StaleWrite

    # Given a registration read by an erasure, then audited by an organiser's resend
    created = pay(api, stripe_standin, individual(email="audited@example.org"))
    repository = DynamoAdminRepository(stack.resources["MainTable"])
    read = repository.registration(created["registration_id"])
    assert read is not None
    audit = HistoryEntry(at=wall_clock.now(), actor="admin:other", action=HistoryAction.CONFIRMATION_RESENT, resend=1)
    repository.append_history(created["registration_id"], audit)

    # When the erasure writes what it read
    erased = HistoryEntry(
        at=wall_clock.now(), actor="admin@example.org", action=HistoryAction.PERSONAL_DATA_ERASED, attendee_id="att_x"
    )
    try:
        repository.replace_personal_data(read, {}, erased)
    except StaleWrite:
        refused = True
    else:
        refused = False

    # Then it is refused (so it re-reads), and the audit entry is still there
    assert refused
    assert repository.registration(created["registration_id"]).history[-1] == audit
