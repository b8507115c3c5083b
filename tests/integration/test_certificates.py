"""Certificates of attendance: issued to the eligible, emailed as a verifiable PDF, reissued on request."""

from __future__ import annotations

import io
import re
import secrets
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from shared.adapters.dynamodb import to_item
from shared.conference import load_conference
from tests.integration.conftest import ADMIN_TOKEN, drain
from tests.support.stripe_events import refund_at_stripe

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def paid_attendee(api: LocalHttpApi, stripe_standin, stream, email: str, **names: str) -> dict:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=email, **names))).json()
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    stripe_standin.pay(session_id)
    drain(stripe_standin, stream)
    (raw,) = [m.raw for m in LocalMailbox().emails() if email in m.to and b"confirmed" in m.raw]
    (code,) = re.findall(rb"Access code: (\S+)\r\n", raw)
    return {
        "email": email,
        "code": code.decode(),
        "registration_id": created["registration_id"],
        "session_id": session_id,
    }


def attend(api: LocalHttpApi, aws, stack, person: dict, share: float) -> str:
    """Log in (as the attendee would) and credit `share` of every session's minutes, as heartbeats would."""
    login = api.request(
        "POST", "/logins", headers=JSON, body=encoded({"email": person["email"], "access_code": person["code"]})
    )
    attendee_id = login.json()["attendee_id"]
    for session in load_conference().sessions:
        minutes = set(range(int(session.scheduled_minutes * share)))
        if minutes:
            aws.client("dynamodb").update_item(
                TableName=stack.resources["MainTable"],
                Key=to_item({"pk": f"ATTENDEE#{attendee_id}", "sk": "META"}),
                UpdateExpression="ADD #minutes :m",
                ExpressionAttributeNames={"#minutes": f"minutes#{session.id}"},
                ExpressionAttributeValues=to_item({":m": minutes}),
            )
    return str(attendee_id)


def certificate_emails(to: str) -> list[EmailMessage]:
    return [m.parsed() for m in LocalMailbox().emails() if to in m.to and "Certificate" in m.subject]


def pdf_text(message: EmailMessage) -> tuple[str, int]:
    (pdf,) = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    payload = pdf.get_payload(decode=True)
    assert isinstance(payload, bytes)
    reader = PdfReader(io.BytesIO(payload))
    return " ".join(page.extract_text() for page in reader.pages), len(reader.pages)


def certificate_id_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    (certificate_id,) = re.findall(r"^Certificate ID: (\S+)\r?$", str(body.get_content()), flags=re.MULTILINE)
    return certificate_id


@pytest.fixture
def eligible_and_not(api, stripe_standin, stream, aws, stack) -> dict:
    # Addresses of their own per test: the local mailbox keeps every test's emails.
    tag = secrets.token_hex(4)
    full = paid_attendee(
        api, stripe_standin, stream, f"full.{tag}@example.org", first_name="Łukasz", last_name="Nguyễn"
    )
    half = paid_attendee(api, stripe_standin, stream, f"half.{tag}@example.org")
    short = paid_attendee(api, stripe_standin, stream, f"short.{tag}@example.org")
    full["attendee_id"] = attend(api, aws, stack, full, 1.0)
    attend(api, aws, stack, half, 0.5)  # floor of each session's half: just under 465 minutes in all
    attend(api, aws, stack, short, 0.2)
    return {"full": full, "half": half, "short": short}


def test_issuing_emails_one_verifiable_pdf_per_eligible_attendee(api, stripe_standin, stream, eligible_and_not) -> None:
    # When the organiser issues certificates
    response = api.request("POST", "/admin/certificates/issue", headers=ADMIN)

    # Then only the eligible one is queued, and gets one email with one PDF
    assert response.status == 202
    assert response.json() == {"eligible": 1, "queued": 1}
    drain(stripe_standin, stream)
    (email,) = certificate_emails(eligible_and_not["full"]["email"])
    assert certificate_emails(eligible_and_not["half"]["email"]) == []
    assert certificate_emails(eligible_and_not["short"]["email"]) == []
    text, pages = pdf_text(email)
    assert pages == 1
    assert "Łukasz Nguyễn" in text and "15.5" in text
    certificate_id = certificate_id_in(email)
    assert certificate_id in text and f"/certificates/{certificate_id}" in text

    # And the id verifies as valid, with no personal data beyond the name
    verified = api.request("GET", f"/certificates/{certificate_id}")
    assert verified.status == 200
    assert verified.json() == {
        "certificate_id": certificate_id,
        "status": "valid",
        "attendee_name": "Łukasz Nguyễn",
        "conference": "2020 NASRO Virtual National School Safety Conference",
        "issued_at": verified.json()["issued_at"],
        "hours": 15.5,
    }


def test_issuing_twice_sends_nothing_new(api, stripe_standin, stream, eligible_and_not) -> None:
    api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)
    again = api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)
    assert again.json() == {"eligible": 1, "queued": 0}
    assert len(certificate_emails(eligible_and_not["full"]["email"])) == 1


def test_forged_or_altered_ids_are_not_found(api, stripe_standin, stream, eligible_and_not) -> None:
    api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)
    real = certificate_id_in(certificate_emails(eligible_and_not["full"]["email"])[0])
    flipped = real[:-1] + ("a" if real[-1] != "a" else "b")
    other_version = real.replace("_2", "_1", 1)
    for certificate_id in (flipped, other_version, "crt_aaaaaaaaaaaaaaaa_2aaaaaaaaaaaaaaaa", "nope", real.upper()):
        response = api.request("GET", f"/certificates/{certificate_id}")
        assert response.status == 404 and response.json()["code"] == "not_found"


def test_a_reissue_with_a_corrected_name_revokes_the_old_certificate(
    api, stripe_standin, stream, eligible_and_not
) -> None:
    api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)
    old = certificate_id_in(certificate_emails(eligible_and_not["full"]["email"])[0])

    # When the organiser corrects the name
    response = api.request(
        "POST",
        f"/admin/attendees/{eligible_and_not['full']['attendee_id']}/certificate/reissue",
        headers=ADMIN | JSON,
        body=encoded({"first_name": "Łukasz", "last_name": "Nguyễn-Żółć"}),
    )
    drain(stripe_standin, stream)

    # Then
    assert response.status == 202
    new = response.json()["certificate_id"]
    assert response.json()["revoked"] == old
    assert api.request("GET", f"/certificates/{old}").json()["status"] == "revoked"
    assert api.request("GET", f"/certificates/{new}").json()["attendee_name"] == "Łukasz Nguyễn-Żółć"
    emails = certificate_emails(eligible_and_not["full"]["email"])
    assert len(emails) == 2 and certificate_id_in(emails[1]) == new


def test_certificate_routes_need_the_admin_token(api) -> None:
    assert api.request("POST", "/admin/certificates/issue").status == 401
    assert (
        api.request("POST", "/admin/attendees/att_x/certificate/reissue", headers={"authorization": "Bearer x"}).status
        == 401
    )


def test_a_refund_after_issuing_revokes_the_certificate(api, stripe_standin, stream, eligible_and_not) -> None:
    # Given an issued certificate
    api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)
    certificate_id = certificate_id_in(certificate_emails(eligible_and_not["full"]["email"])[0])

    # When the seat is refunded (from Stripe's dashboard, say)
    refund_at_stripe(stripe_standin, eligible_and_not["full"]["session_id"])
    drain(stripe_standin, stream)

    # Then anyone verifying it sees it revoked
    assert api.request("GET", f"/certificates/{certificate_id}").json()["status"] == "revoked"
