"""Email through SES v2: raw MIME built with the standard library, a configuration set and tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.clock import Clock, wall_clock
from shared.email import Email, Mailbox, build_message, to_bytes
from shared.reactions.ports import MailRejected, MailThrottled, MailUnencodable

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# SES's answers, sorted by what to do next (reliability.md REQ-33).
_RETRY_LATER = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
        # Sending paused or the account suspended: nothing is lost by waiting; the alarm pages someone.
        "SendingPausedException",
        "AccountSuspendedException",
    }
)
_NEVER = frozenset(
    {"MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException", "NotFoundException"}
)


class SesMailer:
    def __init__(
        self,
        sender: Mailbox,
        configuration_set: str | None,
        client: SESV2Client | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        self._sender = sender
        self._configuration_set = configuration_set
        self._client = client or aws.client("sesv2")
        self._clock = clock

    def send(self, email: Email) -> str:
        sender = email.sender or self._sender
        try:
            message = build_message(
                sender=sender,
                to=email.to,
                subject=email.subject,
                text=email.text,
                html=email.html,
                attachments=email.attachments,
                message_id_domain=sender.address.rsplit("@", 1)[-1],
                date=self._clock.now(),
                list_unsubscribe=email.list_unsubscribe,
            )
            data = to_bytes(message)
        except (ValueError, UnicodeError) as exc:  # HeaderInjection included: no retry can build it
            raise MailUnencodable(f"the message cannot be built: {exc}") from exc
        request: dict[str, Any] = {
            "FromEmailAddress": sender.address,
            "Destination": {"ToAddresses": [email.to.address]},
            "Content": {"Raw": {"Data": data}},
            "EmailTags": [{"Name": name, "Value": value} for name, value in sorted(email.tags.items())],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            answer = self._client.send_email(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NEVER:
                raise MailRejected(code) from exc
            raise MailThrottled(code or "ClientError") from exc  # unknown errors: retry, bounded by the stream
        except BotoCoreError as exc:
            raise MailThrottled(type(exc).__name__) from exc
        return str(answer["MessageId"])


def account_send_rate(client: SESV2Client | None = None) -> float | None:
    """The account's SES sending quota per second (GetAccount's SendQuota.MaxSendRate); None when it cannot be
    read (no permission, or an SES that does not answer it, as the local stack's): the stack's cap applies alone."""
    try:
        answer = (client or aws.client("sesv2")).get_account()
    except (ClientError, BotoCoreError, AttributeError, NotImplementedError):
        return None
    rate = answer.get("SendQuota", {}).get("MaxSendRate")
    return float(rate) if rate else None
