"""Reading moto tables in tests."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import from_item

# What the local stack stores at start (the seed event): not what a test's requests stored.
EVENT_ENTITIES = frozenset({"event", "event_version", "featured_event"})
# A source address's per-client counter (shared/limits.py) counts every request, refused ones too.
COUNTER_ENTITIES = frozenset({"client_counter"})


def scan_all(client: Any, table: str, *, include_events: bool = False) -> list[dict[str, Any]]:
    """Every item, without the events' own items unless asked, and without the addresses' request counters:
    "stored nothing" means nothing of the request's data."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        found = (from_item(item) for item in page.get("Items", []))
        hidden = COUNTER_ENTITIES | (frozenset() if include_events else EVENT_ENTITIES)
        items.extend(item for item in found if item.get("entity") not in hidden)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
