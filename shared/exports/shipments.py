"""The coin mailing list: individual registrants whose seat is paid and not refunded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shared.reactions.models import Shipment, ShipmentState

HEADER = (
    "registration_id",
    "name",
    "organization",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "shipment_state",
)
# Cancelled coins (refunded before shipping) and shipped-then-refunded ones are not on the list to mail.
TO_MAIL = frozenset({ShipmentState.PENDING, ShipmentState.SHIPPED})


def shipment_rows(shipments: Iterable[Shipment]) -> Iterator[tuple[str, ...]]:
    for s in shipments:
        if s.shipment_state in TO_MAIL:
            yield (
                s.registration_id,
                s.name,
                s.organization,
                s.line1,
                s.line2 or "",
                s.city,
                s.state,
                s.postal_code,
                s.country,
                s.shipment_state.value,
            )
