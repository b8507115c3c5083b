"""The conference's emails, pure code without I/O: their content (messages) and their MIME form (mime)."""

from shared.email.messages import (
    Email,
    access_code,
    certificate,
    confirmation,
    duplicate_seat_refund,
    receipt,
    refund_notice,
    reminder,
)
from shared.email.mime import Attachment, HeaderInjection, Mailbox, build_message, to_bytes

__all__ = [
    "Attachment",
    "Email",
    "HeaderInjection",
    "Mailbox",
    "access_code",
    "build_message",
    "certificate",
    "confirmation",
    "duplicate_seat_refund",
    "receipt",
    "refund_notice",
    "reminder",
    "to_bytes",
]
