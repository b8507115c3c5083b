"""The conference's emails, pure code without I/O: their MIME form (mime)."""

from shared.email.mime import Attachment, HeaderInjection, Mailbox, build_message, to_bytes

__all__ = ["Attachment", "HeaderInjection", "Mailbox", "build_message", "to_bytes"]
