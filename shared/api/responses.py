"""JSON answers for handlers (errors go through shared.api.problems)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel


def json_response(
    status: HTTPStatus | int, body: BaseModel | dict[str, Any] | Sequence[BaseModel], **headers: str
) -> Response[str]:
    if isinstance(body, list | tuple):
        text = "[" + ",".join(item.model_dump_json() for item in body) + "]"
    else:
        text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return Response(int(status), content_types.APPLICATION_JSON, text, headers=headers or None)
