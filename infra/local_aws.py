"""Deploy the translated template.yaml into moto and describe what came out.

Used by the tests and by the local stack alike, so both run against the same resources as AWS would
create: tables with their streams and keys, and each function's environment as the template resolves it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local_cognito import COGNITO_TYPES, CognitoResources, create_cognito_resources, with_references_resolved
from infra.template import (
    PLACEHOLDER_CODE,
    Intrinsics,
    Route,
    http_api_jwt_authorizers,
    http_api_routes,
    parameter_values,
    translated_template,
)

# Never deployed into moto: an event source mapping would make moto invoke the function inside put_item
# (needing Docker) and drop the stream's records; the local stream poller plays its part. The HTTP API
# and the permissions for it to invoke the functions are played by the in-process gateway (infra/apigw.py).
NOT_DEPLOYED = frozenset(
    {
        "AWS::Lambda::EventSourceMapping",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::Lambda::Permission",
        # SnapStart's published versions and their alias (moto's CloudFormation has no alias): locally the gateway
        # and the stream poller call the handlers in-process, and nothing is snapshotted.
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        # Schedules are fired by the local stack when conference time passes them.
        "AWS::Scheduler::Schedule",
        # Alarms watch CloudWatch metrics, and SES publishes its delivery events there: only on AWS.
        "AWS::CloudWatch::Alarm",
        "AWS::SES::ConfigurationSetEventDestination",
        # moto's CloudFormation skips it: `create_configuration_sets` makes it in moto's SES.
        "AWS::SES::ConfigurationSet",
        # The secrets' values are the local stack's embedded defaults; it creates them itself.
        "AWS::SecretsManager::Secret",
        # The seed's custom resource: the local stack calls the seed function's `seed()` itself at start.
        "Custom::EventSeed",
        # moto's CloudFormation cannot create them: infra/local_cognito.py does, from their Properties, before the rest.
        *COGNITO_TYPES,
    }
)
STACK_NAME = "conference-local"


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    handler: str  # "functions.registration_api.handler.lambda_handler"
    environment: dict[str, str]


@dataclass(frozen=True)
class JwtConfiguration:
    """One of the HTTP API's JWT authorizers, resolved: what API Gateway checks a token against, and where the local
    stack reads the issuer's signing keys (a Cognito issuer's are served by the moto server, at the same path)."""

    identity_source: str  # "$request.header.Authorization"
    issuer: str
    audience: tuple[str, ...]
    jwks_url: str


@dataclass(frozen=True)
class DeployedStack:
    resources: dict[str, str]  # logical id -> physical id (the Cognito resources' too)
    functions: dict[str, LocalFunction]
    routes: list[Route]
    parameters: dict[str, str] = field(default_factory=dict)
    authorizers: dict[str, JwtConfiguration] = field(default_factory=dict)  # by the name routes give
    cognito: CognitoResources = field(default_factory=CognitoResources)

    def function_for(self, route: Route) -> LocalFunction:
        return self.functions[route.function]


def deployable_template() -> dict[str, Any]:
    template = translated_template()
    resources = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] not in NOT_DEPLOYED
    }
    return template | {"Resources": resources}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Local stack: handlers run in-process from the source tree.\n")
    return buffer.getvalue()


def create_configuration_sets(session: boto3.session.Session, template: dict[str, Any]) -> dict[str, str]:
    """Each AWS::SES::ConfigurationSet, made in moto's SES v2 with its suppression options: logical id -> name (what
    `Ref` gives; CloudFormation names one without a Name after its stack and logical id)."""
    sesv2 = session.client("sesv2")
    names = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::SES::ConfigurationSet":
            continue
        properties = resource.get("Properties", {})
        name = str(properties.get("Name") or f"{STACK_NAME}-{logical_id}")
        suppression = properties.get("SuppressionOptions", {}).get("SuppressedReasons", [])
        sesv2.create_configuration_set(ConfigurationSetName=name, SuppressionOptions={"SuppressedReasons": suppression})
        names[logical_id] = name
    return names


def with_names_resolved(value: Any, names: dict[str, str]) -> Any:
    """Every `Ref` to, and `Fn::Sub` variable of, a resource created outside moto's CloudFormation given its name."""
    if isinstance(value, list):
        return [with_names_resolved(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in names:
        return names[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        argument = value["Fn::Sub"]
        text, variables = (argument, None) if isinstance(argument, str) else argument
        for logical_id, name in names.items():
            text = text.replace("${" + logical_id + "}", name)
        return {"Fn::Sub": text if variables is None else [text, with_names_resolved(variables, names)]}
    return {key: with_names_resolved(item, names) for key, item in value.items()}


def deploy(session: boto3.session.Session, parameters: dict[str, str] | None = None) -> DeployedStack:
    """Create the stack in moto (the session's endpoint) and read back names and environments.

    The Cognito resources come first (infra/local_cognito.py), and every reference to them in the rest of the
    template is given their ids, so that `!Ref OrganiserPool` in a function's environment is the pool's id.
    The SES configuration sets, which moto's CloudFormation skips, are created in moto's SES the same way, so that
    mail goes out through the configuration set as on AWS (and the local stack plays its event publishing).
    """
    parameters = parameters or {}
    s3 = session.client("s3")
    s3.create_bucket(Bucket=PLACEHOLDER_CODE["Bucket"])
    s3.put_object(Bucket=PLACEHOLDER_CODE["Bucket"], Key=PLACEHOLDER_CODE["Key"], Body=_placeholder_zip())

    template = translated_template(region=session.region_name)
    values = parameter_values(
        template,
        parameters,
        account_id=session.client("sts").get_caller_identity()["Account"],
        region=session.region_name,
        stack_name=STACK_NAME,
    )
    cognito = create_cognito_resources(session, template, values)
    configuration_sets = create_configuration_sets(session, template)
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(
            with_names_resolved(with_references_resolved(deployable_template(), cognito), configuration_sets)
        ),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    listed = cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
    resources = {item["LogicalResourceId"]: item["PhysicalResourceId"] for item in listed} | cognito.refs
    resources |= configuration_sets

    _apply_time_to_live(session, resources)
    _apply_bucket_versioning(session, resources)

    lambda_client = session.client("lambda")
    functions = {}
    for logical_id, resource in deployable_template()["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        configuration = lambda_client.get_function_configuration(FunctionName=resources[logical_id])
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=configuration["FunctionName"],
            handler=configuration["Handler"],
            # Lambda keeps every variable as text (a Number parameter resolves to an int in moto).
            environment={k: str(v) for k, v in configuration.get("Environment", {}).get("Variables", {}).items()},
        )
    intrinsics = Intrinsics({**values, **cognito.values()}, template.get("Conditions", {}))
    endpoint = str(session.client("cognito-idp").meta.endpoint_url)
    return DeployedStack(
        resources=resources,
        functions=functions,
        routes=http_api_routes(),
        parameters=parameters,
        authorizers={
            name: _jwt_configuration(
                authorizer.identity_source,
                intrinsics.resolve(authorizer.issuer),
                intrinsics.resolve(authorizer.audience),
                endpoint,
            )
            for name, authorizer in http_api_jwt_authorizers().items()
        },
        cognito=cognito,
    )


_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com(?P<pool>/[\w-]+)$")


def _jwt_configuration(identity_source: str, issuer: str, audience: list[str], endpoint: str) -> JwtConfiguration:
    """API Gateway reads the issuer's keys from its `jwks_uri` on the internet; locally only a Cognito user pool's
    issuer can be played: its keys are at the same path on the AWS endpoint (the moto server)."""
    found = _COGNITO_ISSUER.match(issuer)
    if found is None:
        raise ValueError(f"the JWT issuer {issuer} is not a Cognito user pool's; only those are played locally")
    return JwtConfiguration(
        identity_source=identity_source,
        issuer=issuer,
        audience=tuple(audience),
        jwks_url=f"{endpoint.rstrip('/')}{found['pool']}/.well-known/jwks.json",
    )


@dataclass(frozen=True)
class OperatorValues:
    """What an operator puts in by hand after a first deployment (README: "First deployment"); locally, whoever
    deploys chooses them. `certificate_keys` is the secret's JSON."""

    stripe_secret_key: str
    stripe_webhook_secret: str
    certificate_keys: str


def provide_operator_values(session: boto3.session.Session, stack: DeployedStack, values: OperatorValues) -> None:
    """The secrets' values under the names the template gives them, and the sender's domain verified in SES."""
    environment = stack.functions["StripeWebhookFunction"].environment
    secrets = session.client("secretsmanager")
    for variable, value in (
        ("STRIPE_SECRET_KEY_NAME", values.stripe_secret_key),
        ("STRIPE_WEBHOOK_SECRET_NAME", values.stripe_webhook_secret),
        ("CERTIFICATE_KEYS_SECRET_NAME", values.certificate_keys),
    ):
        secrets.create_secret(Name=environment[variable], SecretString=value)
    session.client("sesv2").create_email_identity(EmailIdentity=environment["SENDER_ADDRESS"].rsplit("@", 1)[1])


def _apply_time_to_live(session: boto3.session.Session, resources: dict[str, str]) -> None:
    """moto's CloudFormation ignores a table's TimeToLiveSpecification; apply it as AWS would."""
    dynamodb = session.client("dynamodb")
    for logical_id, resource in deployable_template()["Resources"].items():
        specification = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and specification:
            dynamodb.update_time_to_live(TableName=resources[logical_id], TimeToLiveSpecification=specification)


def _apply_bucket_versioning(session: boto3.session.Session, resources: dict[str, str]) -> None:
    """moto's CloudFormation ignores a bucket's VersioningConfiguration; apply it as AWS would (an erasure must
    find every version of a certificate's PDF, as on AWS)."""
    s3 = session.client("s3")
    for logical_id, resource in deployable_template()["Resources"].items():
        versioning = resource.get("Properties", {}).get("VersioningConfiguration")
        if resource["Type"] == "AWS::S3::Bucket" and versioning:
            s3.put_bucket_versioning(Bucket=resources[logical_id], VersioningConfiguration=versioning)
