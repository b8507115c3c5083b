"""Registration statuses and the only transitions allowed between them (API.md)."""

from __future__ import annotations

from enum import StrEnum


class RegistrationStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


ALLOWED_TRANSITIONS: dict[RegistrationStatus, frozenset[RegistrationStatus]] = {
    RegistrationStatus.PENDING_PAYMENT: frozenset(
        {RegistrationStatus.PAID, RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED}
    ),
    RegistrationStatus.PAID: frozenset({RegistrationStatus.REFUNDED, RegistrationStatus.DISPUTED}),
    RegistrationStatus.DISPUTED: frozenset({RegistrationStatus.PAID, RegistrationStatus.REFUNDED}),
    RegistrationStatus.EXPIRED: frozenset(),
    RegistrationStatus.CANCELLED: frozenset(),
    RegistrationStatus.REFUNDED: frozenset(),
}

# A registration in one of these no longer holds its seats' emails: the person may register again.
RELEASES_EMAILS = frozenset({RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED})


def can_transition(current: RegistrationStatus, target: RegistrationStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]
