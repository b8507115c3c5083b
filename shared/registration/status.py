"""Registration statuses and the only transitions allowed between them (API.md)."""

from __future__ import annotations

from enum import StrEnum


class RegistrationStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    INVOICE_REQUESTED = "invoice_requested"  # to pay by invoice: awaits a finance organiser's approval
    INVOICED = "invoiced"  # the Stripe invoice is sent: seats held, confirmations out, payment awaited
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


ALLOWED_TRANSITIONS: dict[RegistrationStatus, frozenset[RegistrationStatus]] = {
    RegistrationStatus.PENDING_PAYMENT: frozenset(
        {RegistrationStatus.PAID, RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED}
    ),
    RegistrationStatus.INVOICE_REQUESTED: frozenset({RegistrationStatus.INVOICED, RegistrationStatus.CANCELLED}),
    RegistrationStatus.INVOICED: frozenset({RegistrationStatus.PAID, RegistrationStatus.CANCELLED}),
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


def path(current: RegistrationStatus, target: RegistrationStatus) -> list[RegistrationStatus] | None:
    """The shortest chain of allowed transitions from current to target ([] when equal, None if unreachable)."""
    frontier: list[list[RegistrationStatus]] = [[current]]
    seen = {current}
    while frontier:
        route = frontier.pop(0)
        if route[-1] == target:
            return route[1:]
        for following in sorted(ALLOWED_TRANSITIONS[route[-1]]):
            if following not in seen:
                seen.add(following)
                frontier.append([*route, following])
    return None
