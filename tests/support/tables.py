"""Reading moto tables in tests."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import from_item

# What the local stack stores at start (the seed event): not what a test's requests stored.
EVENT_ENTITIES = frozenset({"event", "event_version", "featured_event"})


def scan_all(client: Any, table: str, *, include_events: bool = False) -> list[dict[str, Any]]:
    """Every item, without the events' own items unless asked: "stored nothing" means nothing beyond them."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        found = (from_item(item) for item in page.get("Items", []))
        items.extend(item for item in found if include_events or item.get("entity") not in EVENT_ENTITIES)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
