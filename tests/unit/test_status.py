"""The registration status machine is exactly the table in API.md."""

from __future__ import annotations

import itertools

from shared.registration.status import RELEASES_EMAILS, RegistrationStatus, can_transition

S = RegistrationStatus
ALLOWED = {
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.EXPIRED),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.INVOICE_REQUESTED, S.INVOICED),
    (S.INVOICE_REQUESTED, S.CANCELLED),
    (S.INVOICED, S.PAID),
    (S.INVOICED, S.CANCELLED),
    (S.PAID, S.REFUNDED),
    (S.PAID, S.DISPUTED),
    (S.DISPUTED, S.PAID),
    (S.DISPUTED, S.REFUNDED),
}


def test_only_the_transitions_of_the_table_are_allowed() -> None:
    for current, target in itertools.product(S, S):
        assert can_transition(current, target) == ((current, target) in ALLOWED), (current, target)


def test_expired_and_cancelled_free_the_email() -> None:
    assert frozenset({S.EXPIRED, S.CANCELLED}) == RELEASES_EMAILS
