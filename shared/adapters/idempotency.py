"""`Idempotency-Key` support: a retried request gets the first answer, stored by Powertools Idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters import aws
from shared.errors import IdempotencyKeyReused, RequestInProgress, TemporarilyUnavailable

# Clients retry within minutes or hours; a day covers every sensible retry without keeping records for long.
ANSWER_KEPT_SECONDS = 24 * 60 * 60

Answer = dict[str, Any]


class IdempotentRequests:
    def __init__(self, table_name: str) -> None:
        self._store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.dynamodb())
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ANSWER_KEPT_SECONDS,
        )

    def run(
        self, *, scope: str, key: str, fingerprint: str, work: Callable[[], Answer], context: LambdaContext
    ) -> Answer:
        """Run `work` once per (scope, key); a repeat with the same fingerprint gets the stored answer.

        Failures (domain errors included) are not stored, so a retry after one runs again.
        """
        # An in-progress record outlives a crashed invocation only until this invocation's timeout.
        self._config.register_lambda_context(context)

        @idempotent_function(data_keyword_argument="request", persistence_store=self._store, config=self._config)
        def once(request: dict[str, str]) -> Answer:
            return work()

        try:
            return once(request={"key": f"{scope} {key}", "fingerprint": fingerprint})  # type: ignore[no-any-return]
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress("The first request with this Idempotency-Key is still running.") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise TemporarilyUnavailable("Idempotency records could not be read; please try again.") from exc
