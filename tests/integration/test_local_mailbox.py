"""/_local/emails reads what SES (moto) was asked to send, attachments included."""

from __future__ import annotations

from email.message import EmailMessage

from infra.local_mailbox import LocalMailbox


def test_a_raw_send_is_listed_with_its_recipients_subject_and_attachments(aws, stack) -> None:
    # Given
    sesv2 = aws.client("sesv2")
    sesv2.create_email_identity(EmailIdentity="example.org")
    message = EmailMessage()
    message["From"] = "Conference <conference@example.org>"
    message["To"] = "Łukasz Nowak <lukasz@example.org>"
    message["Subject"] = "Your certificate of attendance"
    message["Date"] = "Fri, 07 Aug 2020 17:00:00 -0500"
    message.set_content("Certificate ID: cert_1")
    message.add_attachment(b"%PDF-1.7 ...", maintype="application", subtype="pdf", filename="certificate.pdf")
    mailbox = LocalMailbox()
    before = len(mailbox.emails())

    # When
    sent = sesv2.send_email(
        FromEmailAddress="conference@example.org",
        Destination={"ToAddresses": ["lukasz@example.org"]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )

    # Then
    emails = mailbox.emails()
    assert len(emails) == before + 1
    summary = emails[-1].summary()
    assert summary["id"] == sent["MessageId"]
    assert summary["to"] == ["lukasz@example.org"]
    assert summary["subject"] == "Your certificate of attendance"
    assert summary["sent_at"] == "2020-08-07T17:00:00-05:00"
    assert summary["attachments"] == [{"filename": "certificate.pdf", "content_type": "application/pdf", "size": 12}]
    assert mailbox.email(sent["MessageId"]) is not None
    assert b"Certificate ID: cert_1" in emails[-1].raw
