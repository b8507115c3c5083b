"""Certificates against moto: the organiser's routes and the scheduled issuer, the PDF kept in S3 and sent
through SES, the public verification route, and the table's transactions, once each.

Who is eligible, issuing twice, forged ids, reissuing and its races, and a refund revoking the certificate are
pinned with fakes in tests/unit/test_certificate_service.py and tests/unit/test_reaction_service.py; the policy
in tests/unit/test_attendance_policy.py; the PDF in tests/unit/test_certificate_pdf.py.
"""

from __future__ import annotations

import io
import re
import secrets
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from infra.apigw import LambdaContext, LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from shared.adapters.dynamodb import to_item
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.adapters.s3_certificates import S3CertificateFiles
from shared.certificates.models import Certificate
from shared.conference import load_conference
from shared.errors import TemporarilyUnavailable
from shared.reactions.models import EmailKind, OutboxEmail
from tests.integration.conftest import ADMIN, drain


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


def pdf_in(message: EmailMessage) -> bytes:
    (pdf,) = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    payload = pdf.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def pdf_text(message: EmailMessage) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf_in(message)))
    # Any run of whitespace (the line breaks between drawn lines included) as one space.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split()), len(reader.pages)


def certificate_id_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    (certificate_id,) = re.findall(r"^Certificate ID: (\S+)\r?$", str(body.get_content()), flags=re.MULTILINE)
    return certificate_id


@pytest.fixture
def eligible(api, stripe_standin, stream, aws, stack) -> dict:
    """One paid attendee who logged in with their code and attended every session."""
    person = paid_attendee(
        api, stripe_standin, stream, f"full.{secrets.token_hex(4)}@example.org", first_name="Łukasz", last_name="Nguyễn"
    )
    person["attendee_id"] = attend(api, aws, stack, person, 1.0)
    return person


def test_the_organiser_s_route_emails_a_verifiable_pdf_and_keeps_the_copy_sent(
    api, stripe_standin, stream, aws, stack, eligible
) -> None:
    # When the organiser issues certificates
    response = api.request("POST", "/admin/certificates/issue", headers=ADMIN)
    drain(stripe_standin, stream)

    # Then one email with one PDF naming the attendee, the hours, each session attended and the id
    assert response.status == 202
    # And the route counted the one eligible attendee and started the job (its workers did everything), which the
    # organisers can follow to its end
    started = response.json()
    assert (started["eligible"], started["queued"], started["complete"]) == (1, 1, True)
    job = api.request("GET", f"/admin/jobs/{started['job_id']}", headers=ADMIN)
    assert job.status == 200
    assert job.json() == {
        "job_id": started["job_id"], "kind": "certificates", "event_id": "nasro-2020",
        "queued": 1, "done": 1, "failed": 0, "sent": 1, "state": "done",
    }  # fmt: skip
    (email,) = certificate_emails(eligible["email"])
    text, pages = pdf_text(email)
    assert pages == 1
    assert "Łukasz Nguyễn" in text and "15.5 hours" in text
    for session in load_conference().sessions:
        assert f"{session.title} {', '.join(session.speakers)}".strip() + f" {session.scheduled_minutes}" in text
    assert "Total contact hours 15.5 hours (930 minutes)" in text
    assert "National Association of School Resource Officers (NASRO)" in text and "Springfield PD" in text
    certificate_id = certificate_id_in(email)
    # And the URL on the PDF and in the email is the page people open: /verify, not the JSON
    assert certificate_id in text and f"/verify/{certificate_id}" in text
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None and f"/verify/{certificate_id}" in str(plain.get_content())

    # And the bucket keeps the copy sent, encrypted
    kept = aws.client("s3").get_object(
        Bucket=stack.resources["CertificatesBucket"], Key=f"certificates/{certificate_id}.pdf"
    )
    assert kept["Body"].read() == pdf_in(email)
    assert kept["ContentType"] == "application/pdf" and kept["ServerSideEncryption"] == "AES256"

    # And the public route verifies the id with no personal data beyond the name; an altered one is a 404
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
    altered = api.request("GET", f"/certificates/{certificate_id[:-1]}{'a' if certificate_id[-1] != 'a' else 'b'}")
    assert altered.status == 404 and altered.json()["code"] == "not_found"

    # And the verification page shows the same facts as HTML, under the pages' strict headers
    page = api.request("GET", f"/verify/{certificate_id}")
    html = page.body.decode()
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache"
    etag = page.headers["etag"]
    again = api.request("GET", f"/verify/{certificate_id}", headers={"if-none-match": etag})
    assert again.status == 304 and again.body == b""
    assert "Valid: issued on" in html and "Łukasz Nguyễn" in html and "15.5 hours" in html
    assert eligible["email"] not in html and "Springfield" not in html
    unknown = api.request("GET", f"/verify/{certificate_id[:-1]}{'a' if certificate_id[-1] != 'a' else 'b'}")
    assert unknown.status == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "No certificate has this id." in unknown.body.decode()


def test_a_certificate_from_the_scheduled_issuer_is_reissued_with_a_corrected_name_through_the_route(
    api, stripe_standin, stream, stack, eligible
) -> None:
    from functions.certificate_issuer.handler import lambda_handler

    # Given the certificate the scheduled issuer sent at the conference's end
    started = lambda_handler({}, LambdaContext("CertificateIssuer"))
    assert started == {"event_id": "nasro-2020", "job_id": started["job_id"]}
    drain(stripe_standin, stream)
    old = certificate_id_in(certificate_emails(eligible["email"])[0])

    # When the organiser corrects the name
    response = api.request(
        "POST",
        f"/admin/attendees/{eligible['attendee_id']}/certificate/reissue",
        headers=ADMIN | JSON,
        body=encoded({"first_name": "Łukasz", "last_name": "Nguyễn-Żółć"}),
    )
    drain(stripe_standin, stream)

    # Then the old one verifies as revoked, the new one carries the name, and was emailed
    assert response.status == 202
    new = response.json()["certificate_id"]
    assert response.json()["revoked"] == old
    assert api.request("GET", f"/certificates/{old}").json()["status"] == "revoked"
    assert "Revoked on" in api.request("GET", f"/verify/{old}").body.decode()
    assert api.request("GET", f"/certificates/{new}").json()["attendee_name"] == "Łukasz Nguyễn-Żółć"
    emails = certificate_emails(eligible["email"])
    assert len(emails) == 2 and certificate_id_in(emails[1]) == new
    attendee = DynamoReactionRepository(stack.resources["MainTable"]).attendee(eligible["attendee_id"])
    assert attendee is not None and attendee.last_name == "Nguyễn-Żółć"


def certificate(certificate_id: str, attendee_id: str = "att_1") -> Certificate:
    return Certificate(
        certificate_id=certificate_id,
        attendee_id=attendee_id,
        registration_id="reg_1",
        attendee_name="Ana Lopez",
        conference="NASRO 2020",
        hours=15.5,
        issued_at=date(2020, 8, 7),
        created_at=datetime(2020, 8, 8, tzinfo=UTC),
    )


def email_for(certificate_id: str) -> OutboxEmail:
    return OutboxEmail(
        registration_id="reg_1", kind=EmailKind.CERTIFICATE, attendee_id="att_1", certificate_id=certificate_id
    )


class TestTheCertificateTable:
    """DynamoCertificateRepository's transactions and conditions, as DynamoDB (moto) evaluates them."""

    def test_issuing_claims_the_attendee_s_one_pointer_with_the_certificate_and_its_email(self, clean_tables) -> None:
        # Given a certificate issued
        table = clean_tables.resources["MainTable"]
        repository, outbox = DynamoCertificateRepository(table), DynamoReactionRepository(table)
        assert repository.issue(certificate("crt_1"), email_for("crt_1"))

        # When a second one is issued to the same attendee
        again = repository.issue(certificate("crt_2"), email_for("crt_2"))

        # Then the transaction is refused whole: no second certificate, no second email
        assert again is False
        assert repository.current_certificate("att_1") == "crt_1"
        assert repository.certificate("crt_1") is not None and repository.certificate("crt_2") is None
        assert [e.certificate_id for e in outbox.emails("reg_1")] == ["crt_1"]

    def test_a_replacement_moves_the_pointer_only_away_from_the_certificate_it_replaces(self, clean_tables) -> None:
        # Given a certificate replaced once
        table = clean_tables.resources["MainTable"]
        repository, outbox = DynamoCertificateRepository(table), DynamoReactionRepository(table)
        repository.issue(certificate("crt_1"), email_for("crt_1"))
        replaced = repository.replace(certificate("crt_1"), certificate("crt_2"), email_for("crt_2"))

        # When a stale reissue replaces the first one again
        stale = repository.replace(certificate("crt_1"), certificate("crt_3"), email_for("crt_3"))

        # Then the first replacement stands whole, and the stale one left nothing
        assert (replaced, stale) == (True, False)
        first = repository.certificate("crt_1")
        assert first is not None and first.status == "revoked" and first.replaced_by == "crt_2"
        assert first.revoked_at == certificate("crt_2").created_at
        assert repository.current_certificate("att_1") == "crt_2"
        assert repository.certificate("crt_2").status == "valid"
        assert repository.certificate("crt_3") is None
        assert sorted(e.certificate_id or "" for e in outbox.emails("reg_1")) == ["crt_1", "crt_2"]

    def test_the_current_certificate_is_revoked_once(self, clean_tables) -> None:
        # Given the certificate files a refund's reaction revokes through (the table behind the bucket)
        repository = DynamoCertificateRepository(clean_tables.resources["MainTable"])
        files = S3CertificateFiles(clean_tables.resources["CertificatesBucket"], repository)
        assert files.revoke_current("att_1") is False  # none yet
        repository.issue(certificate("crt_1"), email_for("crt_1"))

        # When the refund's record is processed, and replayed
        first, again = files.revoke_current("att_1"), files.revoke_current("att_1")

        # Then
        assert (first, again) == (True, False)
        revoked = files.certificate("crt_1")
        assert revoked is not None and revoked.status == "revoked" and revoked.revoked_at is not None

    def test_a_pdf_the_bucket_refuses_is_temporarily_unavailable(self, clean_tables) -> None:
        repository = DynamoCertificateRepository(clean_tables.resources["MainTable"])
        files = S3CertificateFiles("no-such-bucket", repository)
        with pytest.raises(TemporarilyUnavailable):
            files.store_pdf("crt_1", b"%PDF-1.7")

    def test_a_stored_pdf_is_read_back_and_recorded_on_its_certificate(self, clean_tables) -> None:
        repository = DynamoCertificateRepository(clean_tables.resources["MainTable"])
        files = S3CertificateFiles(clean_tables.resources["CertificatesBucket"], repository)
        repository.issue(certificate("crt_1"), email_for("crt_1"))
        assert files.pdf("crt_1") is None and files.certificate("crt_1").pdf_stored_at is None

        files.store_pdf("crt_1", b"%PDF-1.7 one")
        files.store_pdf("crt_missing", b"%PDF-1.7 two")  # a certificate item gone: nothing to record it on

        assert files.pdf("crt_1") == b"%PDF-1.7 one"
        assert files.certificate("crt_1").pdf_stored_at is not None
        assert files.current_certificate("att_1") == "crt_1"
        assert files.certificate("crt_missing") is None

    def test_a_pdf_the_bucket_will_not_give_is_temporarily_unavailable(self, clean_tables) -> None:
        repository = DynamoCertificateRepository(clean_tables.resources["MainTable"])
        with pytest.raises(TemporarilyUnavailable):
            S3CertificateFiles("no-such-bucket", repository).pdf("crt_1")
