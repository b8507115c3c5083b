"""Assertions over template.yaml as SAM translates it: the rules a deployable stack must keep."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from infra.packaging import EXTRA
from infra.template import (
    Intrinsics,
    http_api_jwt_authorizers,
    http_api_routes,
    load_template,
    parameter_values,
    translated_template,
)
from shared.api.openapi import openapi_document
from tests.support.sources import emitted_metric_names


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


def test_the_organisers_jwt_authorizer_guards_every_admin_route_and_no_other() -> None:
    routes = http_api_routes()
    admin = {f"{route.method} {route.path}" for route in routes if route.path.startswith("/admin/")}
    guarded = {f"{route.method} {route.path}" for route in routes if route.authorizer is not None}
    assert admin, "no admin routes"
    assert guarded == admin
    assert {route.authorizer for route in routes if route.authorizer is not None} == {"OrganiserJwt"}


def test_the_authorizer_trusts_the_organiser_page_client_of_the_organisers_pool() -> None:
    (authorizer,) = http_api_jwt_authorizers().values()
    assert authorizer.name == "OrganiserJwt"
    assert authorizer.identity_source == "$request.header.Authorization"
    assert authorizer.issuer == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${OrganiserPool}"}
    assert authorizer.audience == [{"Ref": "OrganiserPageClient"}]


@pytest.mark.parametrize(("stage", "protection"), [("dev", "INACTIVE"), ("prod", "ACTIVE")])
def test_the_organisers_pool_resolves_for_each_stage_with_deletion_protection_in_prod_only(
    cfn, stage, protection
) -> None:
    values = parameter_values(
        cfn, {"Stage": stage}, account_id="123456789012", region="eu-west-1", stack_name=f"conference-{stage}"
    )
    intrinsics = Intrinsics(values, cfn["Conditions"])
    pool = intrinsics.resolve(cfn["Resources"]["OrganiserPool"]["Properties"])
    assert pool["UserPoolName"] == f"conference-{stage}-organisers"
    assert pool["DeletionProtection"] == protection
    issuer = Intrinsics({**values, "OrganiserPool": "eu-west-1_abc"}).resolve(
        http_api_jwt_authorizers()["OrganiserJwt"].issuer
    )
    assert issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


def test_organisers_are_made_by_administrators_with_strong_passwords_mfa_and_a_page_client_without_secret(
    sam,
) -> None:
    pool = sam["Resources"]["OrganiserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}  # no self sign-up
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols"))
    assert (pool["MfaConfiguration"], pool["EnabledMfas"]) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])
    client = sam["Resources"]["OrganiserPageClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert (client["AccessTokenValidity"], client["TokenValidityUnits"]["AccessToken"]) == (60, "minutes")
    assert client["EnableTokenRevocation"] is True and client["PreventUserExistenceErrors"] == "ENABLED"
    groups = {r["Properties"]["GroupName"] for r in resources_of(sam, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"viewer", "support", "finance", "admin"}
    # The groups that must have MFA are a parameter, admin and finance by default, given to the admin function
    assert sam["Parameters"]["OrganiserMfaGroups"]["Default"] == "admin,finance"
    admin_variables = sam["Resources"]["AdminApiFunction"]["Properties"]["Environment"]["Variables"]
    assert admin_variables["ORGANISER_MFA_GROUPS"] == {"Ref": "OrganiserMfaGroups"}


def test_every_admin_route_is_documented_with_the_organiser_s_access_token_and_its_refusals() -> None:
    document = openapi_document("x")
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert (scheme["scheme"], scheme["bearerFormat"]) == ("bearer", "JWT") and "Cognito" in scheme["description"]
    for route in (route for route in http_api_routes() if route.path.startswith("/admin/")):
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["security"] == [{"adminToken": []}], f"{route.method} {route.path}"
        assert {"401", "403"} <= set(operation["responses"]), f"{route.method} {route.path}"
    public = document["paths"]["/conference"]["get"]
    assert "security" not in public and "403" not in public["responses"]


def test_every_route_is_in_the_openapi_document() -> None:
    paths = openapi_document("x")["paths"]
    # The site's pages and their files (SitePagesFunction) are HTML and scripts for browsers, not the JSON API.
    for route in (route for route in http_api_routes() if route.function != "SitePagesFunction"):
        assert route.method.lower() in paths.get(route.path, {}), f"{route.method} {route.path} is undocumented"


def test_every_function_has_a_log_group_with_retention(cfn) -> None:
    groups = resources_of(cfn, "AWS::Logs::LogGroup").values()
    named = {str(g["Properties"].get("LogGroupName")) for g in groups if "RetentionInDays" in g["Properties"]}
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
    queues = resources_of(cfn, "AWS::SQS::Queue")
    for mapping in resources_of(cfn, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        source = properties["EventSourceArn"]["Fn::GetAtt"][0]
        if source in queues:
            # A queue's messages are retried up to its maxReceiveCount, then moved to its dead-letter queue.
            redrive = queues[source]["Properties"]["RedrivePolicy"]
            assert 0 < redrive["maxReceiveCount"] <= 10 and redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            continue
        assert 0 <= properties["MaximumRetryAttempts"] <= 10
        assert 0 < properties["MaximumRecordAgeInSeconds"] <= 24 * 3600
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


def test_no_stream_has_more_than_two_consumers(cfn) -> None:
    # DynamoDB Streams throttle a shard read by more than two consumers at once.
    sources = [
        str(m["Properties"]["EventSourceArn"]) for m in resources_of(cfn, "AWS::Lambda::EventSourceMapping").values()
    ]
    assert all(sources.count(source) <= 2 for source in sources)


def test_secrets_are_created_by_the_stack_and_readable_only_where_used(sam) -> None:
    secrets = resources_of(sam, "AWS::SecretsManager::Secret")
    named = {str(secret["Properties"]["Name"]) for secret in secrets.values()}
    # No shared organiser token: organisers are Cognito users.
    parameters = {"StripeSecretKeyName", "StripeWebhookSecretName", "CertificateKeysSecretName"}
    assert named == {str({"Ref": parameter}) for parameter in parameters}
    assert all("SecretString" not in secret["Properties"] for secret in secrets.values())  # no value in the template
    readers: dict[str, set[str]] = {parameter: set() for parameter in parameters}
    for name, function in resources_of(sam, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                if statement["Action"] == "secretsmanager:GetSecretValue":
                    for parameter in parameters:
                        readers[parameter] |= (
                            {name} if "${" + parameter + "}-*" in str(statement["Resource"]) else set()
                        )
    assert readers == {
        "StripeSecretKeyName": {
            "RegistrationApiFunction",
            "StripeWebhookFunction",
            "PaymentReconcilerFunction",
            "AdminApiFunction",
        },
        "StripeWebhookSecretName": {"StripeWebhookFunction"},
        "CertificateKeysSecretName": {"AdminApiFunction", "CertificateApiFunction", "BulkSenderFunction"},
    }


def test_every_alarm_notifies_the_topic_and_watches_a_metric_that_exists(sam) -> None:
    emitted = emitted_metric_names()
    alarms = resources_of(sam, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 10
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["TreatMissingData"] == "notBreaching", name
        if properties.get("Namespace") == "Conference":
            assert properties["MetricName"] in emitted, f"{name} watches a metric no function emits"
    watched = {alarm["Properties"].get("MetricName") for alarm in alarms.values()}
    assert {"WebhookSignatureInvalid", "PaymentNeedsReview", "ReconcilerFindings", "EmailRejected"} <= watched
    assert {"Bounce", "Complaint", "ApproximateNumberOfMessagesVisible", "5xx", "IteratorAge"} <= watched


def test_function_error_and_throttle_alarms_cover_every_function(sam) -> None:
    functions = set(resources_of(sam, "AWS::Serverless::Function"))
    for alarm_name, metric in (("FunctionErrorsAlarm", "Errors"), ("FunctionThrottlesAlarm", "Throttles")):
        metrics = sam["Resources"][alarm_name]["Properties"]["Metrics"]
        watched = {
            m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
            for m in metrics
            if "MetricStat" in m and m["MetricStat"]["Metric"]["MetricName"] == metric
        }
        assert watched == functions, alarm_name
        (total,) = [m for m in metrics if m.get("ReturnData")]
        assert set(re.findall(r"\w+", total["Expression"])) - {"SUM"} == {m["Id"] for m in metrics if "MetricStat" in m}


def test_ses_reports_bounces_and_complaints_of_the_configuration_set(sam) -> None:
    destination = resources_of(sam, "AWS::SES::ConfigurationSetEventDestination")["EmailEventsToCloudWatch"]
    properties = destination["Properties"]
    assert properties["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    assert {"bounce", "complaint"} <= set(properties["EventDestination"]["MatchingEventTypes"])
    (dimension,) = properties["EventDestination"]["CloudWatchDestination"]["DimensionConfigurations"]
    assert dimension["DimensionName"] == "ses:configuration-set"


def test_ses_events_reach_the_function_that_records_them_on_the_person(sam) -> None:
    # Given the configuration set every send uses  Then its bounces, complaints and deliveries go to EventBridge
    destination = resources_of(sam, "AWS::SES::ConfigurationSetEventDestination")["EmailEventsToEventBridge"]
    properties = destination["Properties"]
    assert properties["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    assert set(properties["EventDestination"]["MatchingEventTypes"]) == {"bounce", "complaint", "delivery"}
    assert "default" in properties["EventDestination"]["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"]
    # and a rule of the default bus sends this configuration set's (and only its) events to EmailEventsFunction
    (event,) = sam["Resources"]["EmailEventsFunction"]["Properties"]["Events"].values()
    pattern = event["Properties"]["Pattern"]
    assert event["Type"] == "EventBridgeRule" and pattern["source"] == ["aws.ses"]
    assert set(pattern["detail-type"]) == {"Email Bounced", "Email Complaint Received", "Email Delivered"}
    assert pattern["detail"]["mail"]["tags"]["ses:configuration-set"] == [{"Ref": "EmailConfigurationSet"}]
    # and suppression stays SES's
    suppression = sam["Resources"]["EmailConfigurationSet"]["Properties"]["SuppressionOptions"]
    assert set(suppression["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}


def test_each_event_s_reminders_and_certificates_may_be_run_by_the_scheduler_role(sam) -> None:
    statements = sam["Resources"]["EventSchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    invoked = {statement["Resource"]["Fn::GetAtt"][0] for statement in statements}
    assert invoked == {"CertificateIssuerFunction", "RemindersFunction"}
    for function in ("AdminApiFunction", "EventSeedFunction"):
        environment = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert environment["REMINDERS_ARN"] == {"Fn::GetAtt": ["RemindersFunction", "Arn"]}


def test_the_api_logs_every_request_as_json_and_allows_no_other_origin(sam) -> None:
    properties = sam["Resources"]["HttpApi"]["Properties"]
    logged = json.loads(properties["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status", "latencyMs"} <= set(logged)
    assert properties["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    # The pages are served by the API itself (SitePagesFunction): one origin, so no cross-origin call is allowed.
    assert "CorsConfiguration" not in properties


def test_every_function_is_built_by_the_packaging_rule(sam) -> None:
    functions = resources_of(sam, "AWS::Serverless::Function")
    assert set(functions) == set(EXTRA)
    assert all(function["Metadata"] == {"BuildMethod": "makefile"} for function in functions.values())


def test_each_stage_in_samconfig_sets_only_template_parameters(sam) -> None:
    with (Path(__file__).parents[2] / "samconfig.toml").open("rb") as handle:
        config = tomllib.load(handle)
    for stage in ("dev", "prod"):
        overrides = dict(item.split("=", 1) for item in config[stage]["deploy"]["parameters"]["parameter_overrides"])
        assert set(overrides) <= set(sam["Parameters"]), stage
        assert overrides["Stage"] == stage
        assert all(value.startswith(f"conference/{stage}/") for key, value in overrides.items() if key.endswith("Name"))
    assert config["prod"]["deploy"]["parameters"]["parameter_overrides"].count("StripeLivemode=true") == 1


# ---------- the site: its pages on the HTTP API, the optional custom domain, the site's address ----------
SITE_ROUTES = {"GET /", "GET /attend", "GET /admin", "GET /assets/{name}", "GET /site-config.json"}


def test_the_pages_are_public_routes_of_the_site_function_and_the_admin_api_is_not_among_them() -> None:
    routes = http_api_routes()
    site = {f"{route.method} {route.path}": route for route in routes if route.function == "SitePagesFunction"}
    assert set(site) == SITE_ROUTES
    assert all(route.authorizer is None for route in site.values())
    # /admin is the page; everything under /admin/ is the organiser's API, behind the JWT authorizer.
    assert all(route.authorizer == "OrganiserJwt" for route in routes if route.path.startswith("/admin/"))


def test_every_site_route_answers_with_the_security_headers(monkeypatch) -> None:
    from functions.site_pages.handler import lambda_handler
    from infra.apigw import LambdaContext, build_event, to_http_response
    from shared.api.pages import SECURITY_HEADERS

    for name, value in {"ORGANISER_POOL_ID": "p", "ORGANISER_CLIENT_ID": "c", "COGNITO_ENDPOINT": "https://x/"}.items():
        monkeypatch.setenv(name, value)
    for route in (route for route in http_api_routes() if route.function == "SitePagesFunction"):
        path = route.path.replace("{name}", "admin.js")
        event = build_event(route, {"name": "admin.js"} if "{name}" in route.path else {}, method="GET", path=path)
        answer = to_http_response(lambda_handler(event, LambdaContext(function_name="site")))  # type: ignore[arg-type]
        assert answer.status == 200, route
        assert {name.lower(): value for name, value in SECURITY_HEADERS.items()}.items() <= answer.headers.items()
        assert {"strict-transport-security", "x-content-type-options", "referrer-policy"} <= set(answer.headers)
        if answer.content_type.startswith("text/html"):
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_the_site_function_reads_the_organiser_pool_and_client_of_the_template_and_has_no_policy(sam) -> None:
    function = sam["Resources"]["SitePagesFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["ORGANISER_POOL_ID"] == {"Ref": "OrganiserPool"}
    assert variables["ORGANISER_CLIENT_ID"] == {"Ref": "OrganiserPageClient"}
    assert variables["COGNITO_ENDPOINT"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/"}
    assert "Policies" not in function  # it reads nothing from AWS


def resolved(cfn: dict[str, Any], given: dict[str, str]) -> Intrinsics:
    values = parameter_values(cfn, given, account_id="123456789012", region="eu-west-1", stack_name="conference-dev")
    return Intrinsics(
        {**values, "HttpApi": "abc123", "SiteDomain.RegionalDomainName": "d-1.execute-api"}, cfn["Conditions"]
    )


DOMAIN = {"DomainName": "conference.example.org", "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1"}


@pytest.mark.parametrize(
    ("given", "site_url"),
    [
        ({}, "https://abc123.execute-api.eu-west-1.amazonaws.com"),
        (DOMAIN, "https://conference.example.org"),
        ({**DOMAIN, "SiteUrl": "https://cdn.example.org"}, "https://cdn.example.org"),
    ],
)
def test_the_site_url_the_emails_name_is_the_stacks_own_unless_overridden(cfn, given, site_url) -> None:
    intrinsics = resolved(cfn, given)
    assert intrinsics.resolve(cfn["Outputs"]["SiteUrl"]["Value"]) == site_url
    dispatcher = cfn["Resources"]["StreamDispatcherFunction"]["Properties"]["Environment"]["Variables"]
    assert intrinsics.resolve(dispatcher["SITE_URL"]) == site_url
    # A function on the API cannot name the API (a cycle): without a domain it takes the address it is called at.
    registration = cfn["Resources"]["RegistrationApiFunction"]["Properties"]["Environment"]["Variables"]
    assert intrinsics.resolve(registration["SITE_URL"]) == ("" if not given else site_url)


def test_no_function_on_the_http_api_depends_on_it(cfn) -> None:
    on_the_api = {route.function for route in http_api_routes()}
    for name in on_the_api:
        text = json.dumps(cfn["Resources"][name]["Properties"])
        assert '"HttpApi"' not in text and "${HttpApi}" not in text, f"{name} refers to the API that refers to it"


def test_the_custom_domain_exists_only_when_named_and_maps_the_whole_api(cfn) -> None:
    assert cfn["Resources"]["SiteDomain"]["Condition"] == "HasDomainName"
    assert cfn["Resources"]["SiteDomainMapping"]["Condition"] == "HasDomainName"
    assert cfn["Outputs"]["SiteDomainTarget"]["Condition"] == "HasDomainName"
    assert not resolved(cfn, {}).condition("HasDomainName")
    intrinsics = resolved(cfn, DOMAIN)
    assert intrinsics.condition("HasDomainName")
    domain = cfn["Resources"]["SiteDomain"]["Properties"]
    assert domain["DomainName"] == {"Ref": "DomainName"}
    (configuration,) = domain["DomainNameConfigurations"]
    assert configuration == {
        "CertificateArn": {"Ref": "CertificateArn"},
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    mapping = cfn["Resources"]["SiteDomainMapping"]["Properties"]
    assert mapping["ApiId"] == {"Ref": "HttpApi"} and "ApiMappingKey" not in mapping
    stage = cfn["Resources"][mapping["Stage"]["Ref"]]
    assert stage["Type"] == "AWS::ApiGatewayV2::Stage" and stage["Properties"]["StageName"] == "$default"
    rule = cfn["Rules"]["DomainNeedsCertificate"]
    assert rule["Assertions"] == [
        {
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
            "AssertDescription": rule["Assertions"][0]["AssertDescription"],
        }
    ]
