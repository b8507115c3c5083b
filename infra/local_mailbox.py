"""Every email the backend sent through SES (moto, in this process), as /_local/emails shows them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from functools import cached_property
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


@dataclass(frozen=True)
class SentEmail:
    id: str
    to: list[str]
    subject: str
    sent_at: datetime
    raw: bytes

    def summary(self) -> dict[str, Any]:
        return dict(self._summary)

    @cached_property  # a sent message never changes: parsed once, however often the mailbox is listed
    def _summary(self) -> dict[str, Any]:
        message = self.parsed()
        attachments = [
            {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(part.get_payload(decode=True) or b""),
            }
            for part in message.iter_attachments()
        ]
        return {
            "id": self.id,
            "to": self.to,
            "subject": self.subject,
            "sent_at": self.sent_at.isoformat(timespec="seconds"),
            "attachments": attachments,
        }

    def parsed(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class LocalMailbox:
    def __init__(self, region: str = "us-east-1") -> None:
        self._region = region
        self._seen: dict[str, datetime] = {}  # when each message was first seen, for sends without a Date
        self._parsed: dict[str, SentEmail] = {}  # each message is parsed once: listing thousands stays cheap
        self._lock = threading.Lock()

    def _messages(self) -> list[Any]:
        return list(ses_backends[DEFAULT_ACCOUNT_ID][self._region].sent_messages)

    def emails(self) -> list[SentEmail]:
        """Oldest first."""
        with self._lock:
            return [self._email(message) for message in self._messages()]

    def email(self, email_id: str) -> SentEmail | None:
        with self._lock:
            return next((self._email(m) for m in self._messages() if m.id == email_id), None)

    def _email(self, message: Any) -> SentEmail:
        if message.id not in self._parsed:
            self._parsed[message.id] = self._parse(message)
        return self._parsed[message.id]

    def _parse(self, message: Any) -> SentEmail:
        first_seen = self._seen.setdefault(message.id, datetime.now(UTC))
        raw_data = getattr(message, "raw_data", None)
        if raw_data is None:  # a Simple send: moto keeps only its subject and body
            raw = _simple_message(message).as_bytes()
        else:
            raw = raw_data.encode() if isinstance(raw_data, str) else bytes(raw_data)
        parsed = message_from_bytes(raw, policy=policy.default)
        date = parsed["Date"]
        subject = str(parsed["Subject"] or "")
        destinations = message.destinations
        if isinstance(destinations, dict):  # a Simple send keeps the Destination as given
            destinations = [
                a for field in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(field, [])
            ]
        return SentEmail(
            id=message.id,
            to=_addresses(destinations),
            subject=subject,
            sent_at=parsedate_to_datetime(date) if date else first_seen,
            raw=raw,
        )


def _addresses(destinations: list[str]) -> list[str]:
    """Plain addresses, each once: moto lists both the Destination and the headers' (encoded) forms."""
    found: list[str] = []
    for _, address in getaddresses([str(make_header(decode_header(d))) for d in destinations]):
        if address and address.lower() not in (a.lower() for a in found):
            found.append(address)
    return found


def _simple_message(message: Any) -> EmailMessage:
    built = EmailMessage()
    built["From"] = message.source
    built["Subject"] = message.subject
    built.set_content(message.body)
    return built
