"""The licence or officer id through the stack: given at registration, refused at its field when malformed, then in
the registrations export, the attendance roster and on the certificate's PDF (the seat, the attendee item and the
certificate item carry it). The rules are pinned in tests/unit/test_license_id.py."""

from __future__ import annotations

import csv
import io
import secrets

from infra.samples import JSON, encoded, individual
from tests.integration.conftest import drain
from tests.integration.test_certificates import attend, certificate_emails, paid_attendee, pdf_text


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_malformed_licence_id_is_refused_at_its_field(api) -> None:
    body = individual(email=f"lic.{secrets.token_hex(4)}@example.org", license_id="<b>IL</b>")
    refused = api.request("POST", "/registrations", headers=JSON, body=encoded(body))
    assert refused.status == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["attendee.license_id"]


def test_the_licence_id_reaches_the_exports_and_the_certificate(
    api, stripe_standin, stream, aws, stack, organiser
) -> None:
    # Given an officer who registered with their licence id, paid and attended everything
    email = f"lic.{secrets.token_hex(4)}@example.org"
    person = paid_attendee(api, stripe_standin, stream, email, license_id="IL-POST 12345")
    attendee_id = attend(api, aws, stack, person, 1.0)

    # Then the registrations export and the roster show it
    registrations = api.request("GET", "/admin/exports/registrations.csv", headers=organiser("viewer"))
    (seat,) = [r for r in rows(registrations.body) if r["email"] == email]
    assert seat["license_id"] == "IL-POST 12345"
    roster = api.request(
        "GET", "/admin/exports/attendance.csv", query=f"registration_id={person['registration_id']}",
        headers=organiser("viewer"),
    )  # fmt: skip
    (row,) = rows(roster.body)
    assert (row["attendee_id"], row["license_id"]) == (attendee_id, "IL-POST 12345")

    # And the certificate prints it
    api.request("POST", "/admin/certificates/issue", headers=organiser("support"))
    drain(stripe_standin, stream)
    (message,) = certificate_emails(email)
    text, _ = pdf_text(message)
    assert "Springfield PD · License or officer ID: IL-POST 12345" in text
