"""Reading and clearing moto tables in tests."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import from_item


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wipe_table(client: Any, table: str) -> None:
    key_names = [key["AttributeName"] for key in client.describe_table(TableName=table)["Table"]["KeySchema"]]
    for item in client.scan(TableName=table, ProjectionExpression=", ".join(key_names)).get("Items", []):
        client.delete_item(TableName=table, Key={name: item[name] for name in key_names})
