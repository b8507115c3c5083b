"""The EventSeed custom resource as CloudFormation calls it on every deploy (issue 24): the seed conference loaded
into a stack without events, nothing changed in one that has them, nothing deleted with the resource; each time
one answer to CloudFormation's response URL, through crhelper (its HTTPS connection replaced by one that keeps
what would be sent: the only part of the path that is not played here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from functions.event_seed import handler
from infra.apigw import LambdaContext
from infra.local_stack import LocalStack
from shared.composition.common import forget_events
from tests.support.tables import scan_all

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/conference-local/6f1c"


class CloudFormation:
    """Stands in for the pre-signed response URL: each PUT crhelper makes, as CloudFormation would read it."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.urls: list[str] = []

    def __call__(self, host: str, **_kwargs: Any) -> CloudFormation:
        return self

    def request(self, method: str, url: str, body: str, headers: dict[str, str]) -> None:
        assert method == "PUT"
        self.urls.append(url)
        self.answers.append(json.loads(body))

    def getresponse(self) -> Any:
        return type("Answer", (), {"reason": "OK", "status": 200})()


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> CloudFormation:
    standin = CloudFormation()
    monkeypatch.setattr("crhelper.utils.HTTPSConnection", standin)
    return standin


def deploy(request_type: str) -> None:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example.org/seed?signed=1",
        "StackId": STACK_ID,
        "RequestId": str(uuid.uuid4()),
        "ResourceType": "Custom::EventSeed",
        "LogicalResourceId": "EventSeed",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:seed"},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "event-seed"
    # 30 s left: crhelper's wait for the logs before answering a Delete stays under a second
    handler.lambda_handler(event, LambdaContext("EventSeedFunction", timeout_seconds=30))


def events_in(local_stack: LocalStack) -> list[dict[str, Any]]:
    items = scan_all(
        local_stack.session.client("dynamodb"), local_stack.stack.resources["MainTable"], include_events=True
    )
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def test_a_deploy_loads_the_seed_into_a_stack_without_events_and_answers_once(
    clean_tables, local_stack: LocalStack, cloudformation: CloudFormation
) -> None:
    # Given a stack whose table holds no event (as a first deploy finds it)
    table = local_stack.session.resource("dynamodb").Table(local_stack.stack.resources["MainTable"])
    with table.batch_writer() as batch:
        for item in events_in(local_stack):
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    forget_events()
    assert events_in(local_stack) == []

    # When CloudFormation creates the resource
    deploy("Create")

    # Then the seed is the featured, published event, and CloudFormation got one success with a stable id
    (answer,) = cloudformation.answers
    assert (answer["Status"], answer["PhysicalResourceId"], answer["Data"]) == (
        "SUCCESS",
        "event-seed",
        {"Loaded": "true"},
    )
    assert (answer["StackId"], answer["LogicalResourceId"]) == (STACK_ID, "EventSeed")
    assert cloudformation.urls == ["/seed?signed=1"]
    featured = local_stack.api.request("GET", "/conference").json()
    assert featured["id"] == "nasro-2020"
    assert [e["id"] for e in local_stack.api.request("GET", "/events").json()] == ["nasro-2020"]


def test_a_later_deploy_changes_nothing_and_deleting_the_resource_deletes_no_event(
    clean_tables, local_stack: LocalStack, cloudformation: CloudFormation
) -> None:
    # Given a stack that has its events
    before = events_in(local_stack)
    assert before

    # When a deploy updates the resource, then a stack update removes it
    deploy("Update")
    deploy("Delete")

    # Then both answered success with the same id, the update loaded nothing, and every event item is still there
    assert [(a["Status"], a["PhysicalResourceId"]) for a in cloudformation.answers] == [
        ("SUCCESS", "event-seed"),
        ("SUCCESS", "event-seed"),
    ]
    assert cloudformation.answers[0]["Data"] == {"Loaded": "false"}
    assert events_in(local_stack) == before
