"""Make one AWS operation fail the way AWS says no: a botocore `before-call` hook that answers with an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any


@contextmanager
def failing(client: Any, operation: str, error_for: Callable[[dict[str, Any]], str | None]) -> Iterator[None]:
    """While open, `client`'s `operation` (`dynamodb.UpdateItem`) fails with the error code `error_for(request)`
    returns, as after the SDK's own retries; where it returns None the call goes through."""

    def answer(params: dict[str, Any], **_: Any) -> Any:
        code = error_for(params)
        if code is None:
            return None
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": {"Code": code, "Message": code},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    event, unique_id = f"before-call.{operation}", f"failing-{operation}"
    client.meta.events.register(event, answer, unique_id=unique_id)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=unique_id)
