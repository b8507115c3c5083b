"""MIME messages built with the standard library only: what SES sends as raw data (REQ-31).

The input models already refuse control characters; this module refuses them again (T-44), so a
value that bypassed validation can never add a header or a recipient.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from shared.text import is_printable

# A plain ASCII dot-atom addr-spec: one '@', no spaces, commas, quotes or angle brackets. Anything
# else could name a second recipient, or (non-ASCII) be encoded into the address by the generator.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_DOMAIN.pattern}")
# The generator writes a display name that looks like an RFC 2047 encoded-word as it is, and
# readers then decode it: "=?utf-8?q?...?=" in a name could display as another name and address.
# One URI in angle brackets, printable ASCII without spaces, commas or brackets inside.
_LIST_UNSUBSCRIBE = re.compile(r"<(?:mailto|https):[!-+\--;=?-~]+>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


class HeaderInjection(ValueError):
    """A header value that could break out of its header, add a recipient or display as something else."""


@dataclass(frozen=True)
class Mailbox:
    display_name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    # Content-Type parameters beyond the type: a calendar's ("method", "PUBLISH"), ("charset", "utf-8").
    params: tuple[tuple[str, str], ...] = ()


def build_message(
    *,
    sender: Mailbox,
    to: Mailbox,
    subject: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
    message_id_domain: str,
    date: datetime,
    list_unsubscribe: str | None = None,
) -> EmailMessage:
    """One recipient, a text/plain part first and a text/html alternative, then any attachments. `list_unsubscribe`
    (RFC 2369, `<mailto:...>` or `<https://...>`) only for mail that is not transactional."""
    _check_shown_text("subject", subject)
    if list_unsubscribe is not None and not _LIST_UNSUBSCRIBE.fullmatch(list_unsubscribe):
        raise HeaderInjection("List-Unsubscribe must be one <mailto:...> or <https://...> without spaces")
    _check_mailbox("sender", sender)
    _check_mailbox("recipient", to)
    for attachment in attachments:
        for label, value in [
            ("attachment filename", attachment.filename),
            ("attachment maintype", attachment.maintype),
            ("attachment subtype", attachment.subtype),
            *((f"attachment parameter {name}", f"{name}={value}") for name, value in attachment.params),
        ]:
            _check_printable(label, value)
    if not _DOMAIN.fullmatch(message_id_domain):
        raise HeaderInjection(f"message id domain {message_id_domain!r} is not a plain domain name")
    if date.tzinfo is None:
        raise ValueError("the Date header needs a time zone")

    message = EmailMessage()
    message["From"] = Address(display_name=sender.display_name, addr_spec=sender.address)
    message["To"] = Address(display_name=to.display_name, addr_spec=to.address)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = make_msgid(domain=message_id_domain)
    if list_unsubscribe is not None:
        message["List-Unsubscribe"] = list_unsubscribe
    message.set_content(text)  # also sets MIME-Version
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        # The first attachment turns the message into multipart/mixed around the alternative part.
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return message


def to_bytes(message: EmailMessage) -> bytes:
    """The raw message with CRLF line endings, as SES takes it in Content.Raw.Data."""
    return message.as_bytes(policy=policy.SMTP)


def _check_mailbox(role: str, mailbox: Mailbox) -> None:
    _check_shown_text(f"{role} display name", mailbox.display_name)
    if not _ADDR_SPEC.fullmatch(mailbox.address):
        raise HeaderInjection(f"{role} address is not a single plain addr-spec")


def _check_shown_text(label: str, value: str) -> None:
    """Display names and the subject: text a reader sees, encoded by the generator as needed."""
    _check_printable(label, value)
    if _ENCODED_WORD.search(value):
        raise HeaderInjection(f"{label} contains an RFC 2047 encoded-word")


def _check_printable(label: str, value: str) -> None:
    # The same rule as the input models (shared.text): no controls, line separators or bidi overrides.
    if not is_printable(value):
        raise HeaderInjection(f"{label} contains a control or invisible formatting character")
