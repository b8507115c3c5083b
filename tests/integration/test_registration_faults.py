"""Dependencies failing under a registration: a clear, retryable problem and no personal data in logs."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, individual
from shared.adapters import aws as aws_clients
from shared.adapters.secrets import secret_string
from shared.adapters.stripe_gateway import STRIPE_API_VERSION
from shared.errors import TemporarilyUnavailable
from tests.support.tables import scan_all


@pytest.fixture
def throttled_transactions():
    """DynamoDB answers every TransactWriteItems with a throttling error (after the SDK's own retries)."""
    client = aws_clients.dynamodb()

    def throttle(**_: Any) -> tuple[SimpleNamespace, dict[str, Any]]:
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    # a before-call hook that returns a response short-circuits the request, as botocore documents
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", throttle, unique_id="throttle")  # type: ignore[arg-type]
    yield
    client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="throttle")


def test_a_throttled_table_is_a_503_to_retry_not_a_500(api: LocalHttpApi, aws, stack, throttled_transactions) -> None:
    # When
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))

    # Then
    assert response.status == 503
    assert response.json()["code"] == "temporarily_unavailable"
    assert response.headers["retry-after"]
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []


def test_a_missing_secret_is_unavailable_never_carried_on_without(stack) -> None:
    with pytest.raises(TemporarilyUnavailable):
        secret_string("conference/dev/no-such-secret")


def test_logs_carry_no_personal_data_or_input(api: LocalHttpApi, capsys, caplog) -> None:
    # Given: one good and one bad submission, each with personal data
    api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email="private.person@example.org")))
    bad = individual(email="second.person@example.org", first_name="Secret\r\nName")
    api.request("POST", "/registrations", headers=JSON, body=encoded(bad))

    # Then: neither the log records (with their extra fields) nor anything printed carry it
    assert caplog.records, "the handlers logged nothing at all"
    printed = capsys.readouterr()
    output = (
        printed.out + printed.err + "\n".join(json.dumps(record.__dict__, default=str) for record in caplog.records)
    )
    for personal in ("private.person", "second.person", "Secret", "Lopez", "1 Main St", "+1 555"):
        assert personal not in output


def test_the_stripe_api_version_is_the_sdk_s_own() -> None:
    # Upgrade the SDK and the pinned version (and the webhook endpoint's) together.
    import stripe

    assert stripe.api_version == STRIPE_API_VERSION
