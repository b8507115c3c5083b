"""Assertions over template.yaml as SAM translates it: the rules a deployable stack must keep."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template import http_api_routes, load_template, translated_template
from shared.api.openapi import openapi_document


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translated_template()


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_functions_run_python_3_12_on_arm64_with_powertools_settings_in_globals(sam) -> None:
    function = sam["Globals"]["Function"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    variables = function["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(variables)


def test_the_main_table_streams_new_and_old_images(cfn) -> None:
    table = cfn["Resources"]["MainTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {k["AttributeName"] for k in table["KeySchema"]} == {"pk", "sk"}


def test_the_idempotency_table_expires_records(cfn) -> None:
    table = cfn["Resources"]["IdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_the_http_api_has_explicit_routes_only_and_throttling(sam) -> None:
    routes = http_api_routes()
    assert routes, "no routes"
    assert all("{proxy+}" not in route.path and route.method != "ANY" for route in routes)
    settings = sam["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingBurstLimit"] > 0 and settings["ThrottlingRateLimit"] > 0


def test_every_route_is_in_the_openapi_document() -> None:
    paths = openapi_document("x")["paths"]
    for route in http_api_routes():
        assert route.method.lower() in paths.get(route.path, {}), f"{route.method} {route.path} is undocumented"


def test_every_function_has_a_log_group_with_retention(cfn) -> None:
    groups = resources_of(cfn, "AWS::Logs::LogGroup").values()
    named = {str(g["Properties"]["LogGroupName"]) for g in groups if "RetentionInDays" in g["Properties"]}
    for name in resources_of(cfn, "AWS::Lambda::Function"):
        assert any(name in group for group in named), f"{name} has no log group with retention"


def test_no_policy_grants_a_wildcard_action_or_crud_template(sam, cfn) -> None:
    for role in resources_of(cfn, "AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in action for action in actions), actions
    for function in resources_of(sam, "AWS::Serverless::Function").values():
        for policy in function["Properties"].get("Policies", []):
            assert not (isinstance(policy, dict) and {"DynamoDBCrudPolicy", "SESCrudPolicy"} & set(policy))


def test_no_event_source_mapping_has_unbounded_retries(cfn) -> None:
    for mapping in resources_of(cfn, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        assert properties["MaximumRetryAttempts"] >= 0
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert "OnFailure" in properties["DestinationConfig"]


def test_the_table_stream_has_one_consumer_with_bounded_retries_and_a_dlq(cfn) -> None:
    mappings = list(resources_of(cfn, "AWS::Lambda::EventSourceMapping").values())
    on_main_stream = [
        m for m in mappings if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["MainTable", "StreamArn"]}
    ]
    assert len(on_main_stream) == 1  # DynamoDB allows two readers per shard; one dispatcher leaves room
    properties = on_main_stream[0]["Properties"]
    assert 0 <= properties["MaximumRetryAttempts"] <= 10
    assert 0 < properties["MaximumRecordAgeInSeconds"] < 24 * 3600
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]
    }


def test_email_sending_is_scoped_to_the_identity_and_configuration_set(sam) -> None:
    statements = [
        statement
        for policy in sam["Resources"]["StreamDispatcherFunction"]["Properties"]["Policies"]
        for statement in policy["Statement"]
        if "ses:SendRawEmail" in statement["Action"]
    ]
    (statement,) = statements
    resources = str(statement["Resource"])
    assert ":identity/" in resources and ":configuration-set/" in resources and "*" not in resources
