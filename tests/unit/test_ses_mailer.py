"""The SES adapter: raw MIME, the configuration set and tags on the call, SES's errors sorted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.ses_mailer import SesMailer
from shared.clock import FixedClock
from shared.email import Attachment, Email, Mailbox
from shared.reactions.ports import MailRejected, MailThrottled, MailUnencodable


class RecordingSes:
    def __init__(self, error: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error = error

    def send_email(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, "SendEmail")
        return {"MessageId": "msg-1"}


EMAIL = Email(
    to=Mailbox("Łukasz Nowak", "lukasz@example.org"),
    subject="Your certificate",
    text="Certificate ID: c1",
    html="<p>Certificate ID: c1</p>",
    attachments=(Attachment("certificate.pdf", b"%PDF-1.7", "application", "pdf"),),
    kind="certificate",
    tags={"kind": "certificate", "registration_id": "reg_1"},
)


def mailer(client: RecordingSes) -> SesMailer:
    return SesMailer(
        Mailbox("The Conference", "conference@example.org"),
        "conference-prod",
        client,  # type: ignore[arg-type]
        FixedClock(datetime(2020, 8, 7, 22, tzinfo=UTC)),
    )


def test_a_send_carries_the_configuration_set_tags_and_one_pdf() -> None:
    # Given
    ses = RecordingSes()

    # When
    assert mailer(ses).send(EMAIL) == "msg-1"

    # Then (moto accepts any configuration set name, so the call itself is what is checked: T-43)
    (call,) = ses.calls
    assert call["ConfigurationSetName"] == "conference-prod"
    assert call["EmailTags"] == [
        {"Name": "kind", "Value": "certificate"},
        {"Name": "registration_id", "Value": "reg_1"},
    ]
    assert call["FromEmailAddress"] == "conference@example.org"
    assert call["Destination"] == {"ToAddresses": ["lukasz@example.org"]}
    raw = call["Content"]["Raw"]["Data"]
    assert len(raw) < 40 * 1024 * 1024
    message = message_from_bytes(raw, policy=policy.default)
    pdfs = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename() == "certificate.pdf"
    assert message["From"].addresses[0].addr_spec == "conference@example.org"


@pytest.mark.parametrize("code", ["TooManyRequestsException", "LimitExceededException", "SendingPausedException"])
def test_throttling_and_pauses_are_retried_later(code: str) -> None:
    with pytest.raises(MailThrottled):
        mailer(RecordingSes(code)).send(EMAIL)


@pytest.mark.parametrize("code", ["MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException"])
def test_rejections_are_final(code: str) -> None:
    with pytest.raises(MailRejected):
        mailer(RecordingSes(code)).send(EMAIL)


def test_a_reminder_s_list_unsubscribe_is_a_header_of_the_raw_message_and_nothing_else_gets_one() -> None:
    ses = RecordingSes()
    sender = mailer(ses)
    sender.send(EMAIL)
    sender.send(replace(EMAIL, list_unsubscribe="<mailto:conference@example.org?subject=unsubscribe>"))
    plain, reminder = (message_from_bytes(c["Content"]["Raw"]["Data"], policy=policy.default) for c in ses.calls)
    assert "List-Unsubscribe" not in plain
    assert str(reminder["List-Unsubscribe"]).strip() == "<mailto:conference@example.org?subject=unsubscribe>"


def test_a_message_that_cannot_be_built_fails_for_good_without_calling_ses() -> None:
    ses = RecordingSes()
    with pytest.raises(MailUnencodable, match="encoded-word"):
        mailer(ses).send(replace(EMAIL, to=Mailbox("=?utf-8?q?Chief?=", "chief@example.org")))
    assert ses.calls == []
    assert issubclass(MailUnencodable, MailRejected)
