"""The template's Cognito user pools, app clients and groups, created in the moto server by the local stack itself.

moto's CloudFormation skips every Cognito resource ("not supported"), so they are created here, before the stack is
deployed, from the translated template's own Properties: the same names CloudFormation takes are passed to
CreateUserPool, CreateUserPoolClient and CreateGroup, and only what the API spells differently is adapted
(`UserPoolName` is the API's `PoolName`; `MfaConfiguration` with `EnabledMfas` is SetUserPoolMfaConfig). Whatever
else in the template refers to them (`!Ref OrganiserPool` in a function's environment, `!GetAtt OrganiserPool.Arn` in
a policy, the HTTP API's JWT issuer) is then given their physical ids, as CloudFormation would.

Then one organiser per group of the pool the HTTP API's authorizer trusts: `<group>@example.org`, a permanent
password, the email verified. moto keeps users across `LockedMotoServer.clear_data()`: they outlive a reset.
"""

from __future__ import annotations

import re
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.template import Intrinsics

USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
COGNITO_TYPES = frozenset({USER_POOL, USER_POOL_CLIENT, USER_POOL_GROUP})
ORGANISER_DOMAIN = "example.org"
# MFA kinds a pool may enable, as SetUserPoolMfaConfig's setting for each (the others need SMS or email set-up).
_MFA_SETTINGS = {"SOFTWARE_TOKEN_MFA": "SoftwareTokenMfaConfiguration"}
_SUB_VARIABLE = re.compile(r"\$\{([^}!.]+)(?:\.([^}]+))?\}")


@dataclass(frozen=True)
class CognitoResources:
    """What was created: `refs` is what `Ref` gives for each logical id (a pool's id, a client's id, a group's name),
    `attributes` what `Fn::GetAtt` gives (`"OrganiserPool.Arn"`), `pool_of` each client's and group's pool."""

    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    pool_of: dict[str, str] = field(default_factory=dict)  # logical id of a client or group -> its pool's
    kinds: dict[str, str] = field(default_factory=dict)  # logical id -> resource type

    def values(self) -> dict[str, str]:
        """Every Ref and Fn::GetAtt value, as `Intrinsics` reads them."""
        return {**self.refs, **self.attributes}


def _cognito(session: boto3.session.Session) -> Any:
    return session.client("cognito-idp")  # no type stubs for cognito-idp are installed


def create_cognito_resources(
    session: boto3.session.Session, template: dict[str, Any], parameters: dict[str, Any]
) -> CognitoResources:
    """Create the template's user pools, then their clients, then their groups (each may refer to the ones before),
    with `parameters` (every parameter and pseudo parameter's value, `infra.template.parameter_values`) resolving
    their Properties."""
    client = _cognito(session)
    created = CognitoResources()
    intrinsics = Intrinsics(ChainMap(created.refs, created.attributes, parameters), template.get("Conditions", {}))
    resources = template["Resources"]
    for kind in (USER_POOL, USER_POOL_CLIENT, USER_POOL_GROUP):
        for logical_id, resource in resources.items():
            if resource["Type"] != kind or (
                "Condition" in resource and not intrinsics.condition(resource["Condition"])
            ):
                continue  # another kind, or not in a stack of these parameters
            properties = intrinsics.resolve(resource.get("Properties", {}))
            created.kinds[logical_id] = kind
            if kind == USER_POOL:
                _create_pool(client, logical_id, properties, created)
            else:
                pool = resource["Properties"]["UserPoolId"]
                if not (isinstance(pool, dict) and pool.get("Ref") in created.refs):
                    raise ValueError(f"{logical_id}: UserPoolId must be a Ref to a user pool of the template")
                created.pool_of[logical_id] = pool["Ref"]
                if kind == USER_POOL_CLIENT:
                    _create_client(client, logical_id, properties, created)
                else:
                    group = client.create_group(**properties)["Group"]
                    created.refs[logical_id] = group["GroupName"]
    return created


def _create_pool(client: Any, logical_id: str, properties: dict[str, Any], created: CognitoResources) -> None:
    request = dict(properties)
    request["PoolName"] = request.pop("UserPoolName", logical_id)
    mfa = request.pop("MfaConfiguration", "OFF")
    enabled = request.pop("EnabledMfas", [])
    pool = client.create_user_pool(**request)["UserPool"]
    if mfa != "OFF" or enabled:
        unknown = set(enabled) - set(_MFA_SETTINGS)
        if unknown or not enabled:
            raise ValueError(f"{logical_id}: only TOTP MFA (EnabledMfas: [SOFTWARE_TOKEN_MFA]) is played locally")
        settings = {_MFA_SETTINGS[kind]: {"Enabled": True} for kind in enabled}
        client.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration=mfa, **settings)
    provider = f"cognito-idp.{client.meta.region_name}.amazonaws.com/{pool['Id']}"
    created.refs[logical_id] = pool["Id"]
    created.attributes.update(
        {
            f"{logical_id}.Arn": pool["Arn"],
            f"{logical_id}.UserPoolId": pool["Id"],
            f"{logical_id}.ProviderName": provider,
            f"{logical_id}.ProviderURL": f"https://{provider}",
        }
    )


def _create_client(client: Any, logical_id: str, properties: dict[str, Any], created: CognitoResources) -> None:
    app = client.create_user_pool_client(**properties)["UserPoolClient"]
    created.refs[logical_id] = app["ClientId"]
    created.attributes.update({f"{logical_id}.ClientId": app["ClientId"], f"{logical_id}.Name": app["ClientName"]})
    if "ClientSecret" in app:
        created.attributes[f"{logical_id}.ClientSecret"] = app["ClientSecret"]


def with_references_resolved(value: Any, created: CognitoResources) -> Any:
    """`value` (a template, or any part of one) with every `Ref`, `Fn::GetAtt` and `Fn::Sub` variable naming a created
    resource replaced by its value, as CloudFormation resolves them; every other expression is left to moto."""
    if isinstance(value, list):
        return [with_references_resolved(item, created) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument in created.refs:
            return created.refs[argument]
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if logical_id in created.refs:
                name = f"{logical_id}.{attribute}"
                if name not in created.attributes:
                    raise ValueError(f"Fn::GetAtt {name}: not an attribute the local stack gives")
                return created.attributes[name]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument

            def replace(found: re.Match[str]) -> str:
                logical_id, attribute = found.groups()
                if logical_id in variables or logical_id not in created.refs:
                    return found.group(0)  # a variable of its own, a parameter or a resource moto creates
                if attribute is None:
                    return created.refs[logical_id]
                return str(with_references_resolved({"Fn::GetAtt": [logical_id, attribute]}, created))

            text = _SUB_VARIABLE.sub(replace, text)
            if isinstance(argument, str):
                return {"Fn::Sub": text}
            return {"Fn::Sub": [text, with_references_resolved(variables, created)]}
    return {key: with_references_resolved(item, created) for key, item in value.items()}


@dataclass(frozen=True)
class OrganiserUser:
    email: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class LocalOrganisers:
    """The organisers' pool as the local stack gives it: sign in with InitiateAuth (USER_PASSWORD_AUTH) at
    `endpoint` (the moto server) with `client_id`, as one of `users` with the embedded password."""

    user_pool_id: str
    client_id: str
    endpoint: str
    users: tuple[OrganiserUser, ...]

    def summary(self) -> dict[str, Any]:
        """`GET /_local/organisers`."""
        return {
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "cognito_endpoint": self.endpoint,
            "users": [{"email": user.email, "groups": list(user.groups)} for user in self.users],
        }

    def email_of(self, group: str) -> str:
        for user in self.users:
            if group in user.groups:
                return user.email
        raise KeyError(f"no local organiser is in the group {group!r}")


def seed_organisers(
    session: boto3.session.Session, created: CognitoResources, client_logical_id: str, password: str
) -> LocalOrganisers:
    """One organiser per group of the client's pool, `<group>@example.org`, signed up as an administrator would
    (no invitation email), with `password` as their permanent one and their email verified."""
    client = _cognito(session)
    pool_logical_id = created.pool_of[client_logical_id]
    pool_id = created.refs[pool_logical_id]
    groups = [
        created.refs[logical_id]
        for logical_id, pool in created.pool_of.items()
        if pool == pool_logical_id and created.kinds[logical_id] == USER_POOL_GROUP
    ]
    users = []
    for group in groups:
        email = f"{group}@{ORGANISER_DOMAIN}"
        client.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        client.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
        client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
        users.append(OrganiserUser(email, (group,)))
    return LocalOrganisers(
        user_pool_id=pool_id,
        client_id=created.refs[client_logical_id],
        endpoint=str(client.meta.endpoint_url),
        users=tuple(users),
    )


def trusted_client(created: CognitoResources, audience: list[str] | tuple[str, ...]) -> str:
    """The logical id of the one app client of the template that `audience` (a JWT authorizer's) names."""
    (logical_id,) = [
        logical_id
        for logical_id, kind in created.kinds.items()
        if kind == USER_POOL_CLIENT and created.refs[logical_id] in audience
    ]
    return logical_id
