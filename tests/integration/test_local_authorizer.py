"""The HTTP API's JWT authorizer as the local gateway plays it: every /admin route needs a Cognito access token of the
local organisers' pool (signature, issuer, client, expiry), verified before the function runs; the function then
finds the claims where API Gateway puts them. Also the pool itself, as the template describes it, and
`GET /_local/organisers`, from which anyone outside the process signs in."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from moto.utilities.utils import load_resource

from infra.apigw import HttpResponse
from infra.local_stack import LocalStack
from infra.template import translated_template

GROUPS = ("viewer", "support", "finance", "admin")
PASSWORD = "Local-organiser-1"  # LocalSettings' embedded default, which the integration stack keeps
REFUSAL = {
    "type": "/problems/unauthorized",
    "title": "Unauthorized",
    "status": 401,
    "code": "unauthorized",
    "detail": "Sign in as an organiser and send the access token.",
}


def admin_route(local_stack: LocalStack) -> tuple[str, str]:
    route = next(route for route in local_stack.stack.routes if route.path == "/admin/events" and route.method == "GET")
    return route.method, route.path


@pytest.fixture
def calls(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The admin function replaced, for one test, by one that keeps each event it is called with and answers 200:
    what the gateway passes on, and whether it called the function at all."""
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}

    function = local_stack.stack.functions["AdminApiFunction"].logical_id
    monkeypatch.setitem(local_stack.api._handlers, function, handler)
    return events


def call(local_stack: LocalStack, headers: dict[str, str]) -> HttpResponse:
    method, path = admin_route(local_stack)
    return local_stack.api.request(method, path, headers=headers)


def sign_in(endpoint: str, client_id: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """InitiateAuth as the organiser page does it: nothing but the endpoint, the client and the person's password."""
    cognito: Any = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1")
    answer = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
    )
    result: dict[str, Any] = answer["AuthenticationResult"]
    return result


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A token's header and claims as written (only to forge variants of it; nothing here trusts them)."""
    header, payload, _signature = token.split(".")
    decoded = [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in (header, payload)]
    return decoded[0], decoded[1]


MOTO_KEY = RSAKey.import_key(
    load_resource("cognitoidp/resources/jwks-private.json")
)  # what moto signs every pool's with


@pytest.fixture(scope="module")
def another_pool(local_stack: LocalStack) -> dict[str, str]:
    """A second pool with its own client and an `admin` organiser of the same email and password: moto signs its
    tokens with the very same key, so only the issuer tells them apart."""
    cognito: Any = local_stack.session.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="another-pool", UsernameAttributes=["email"])["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="another-client", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=pool, GroupName="admin")
    cognito.admin_create_user(UserPoolId=pool, Username="admin@example.org", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="admin@example.org", Password=PASSWORD, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="admin@example.org", GroupName="admin")
    return {"pool": pool, "client": client}


@pytest.fixture(scope="module")
def tokens(local_stack: LocalStack, another_pool: dict[str, str]) -> dict[str, str]:
    """Every kind of token the refusals below are made of."""
    organisers = local_stack.organisers
    admin = sign_in(organisers.endpoint, organisers.client_id, "admin@example.org")
    viewer = sign_in(organisers.endpoint, organisers.client_id, "viewer@example.org")
    elsewhere = sign_in(organisers.endpoint, another_pool["client"], "admin@example.org")
    cognito: Any = local_stack.session.client("cognito-idp")
    other_client = cognito.create_user_pool_client(
        UserPoolId=organisers.user_pool_id, ClientName="not-the-page", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    other_client_token = sign_in(organisers.endpoint, other_client, "admin@example.org")["AccessToken"]

    header, claims = parts(admin["AccessToken"])
    now = int(time.time())
    another_key = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    forged_groups = viewer["AccessToken"].split(".")
    forged_groups[1] = _b64(json.dumps(parts(viewer["AccessToken"])[1] | {"cognito:groups": ["admin"]}).encode())
    unsigned = ".".join(
        [_b64(json.dumps({"alg": "none", "kid": header["kid"]}).encode()), admin["AccessToken"].split(".")[1], ""]
    )
    return {
        "admin access": admin["AccessToken"],
        "admin id": admin["IdToken"],
        "another pool": elsewhere["AccessToken"],
        "another client": other_client_token,
        "moto key, valid": jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, MOTO_KEY),
        "moto key, expired": jwt.encode(
            {"alg": "RS256", "kid": header["kid"]},
            claims | {"iat": now - 3700, "auth_time": now - 3700, "exp": now - 100},
            MOTO_KEY,
        ),
        "moto key, not yet valid": jwt.encode(
            {"alg": "RS256", "kid": header["kid"]}, claims | {"nbf": now + 600}, MOTO_KEY
        ),
        "moto key, no kid": jwt.encode({"alg": "RS256"}, claims, MOTO_KEY),
        "moto key, another issuer": jwt.encode(
            {"alg": "RS256", "kid": header["kid"]},
            claims | {"iss": f"https://cognito-idp.us-east-1.amazonaws.com/{another_pool['pool']}"},
            MOTO_KEY,
        ),
        "another key": jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, another_key),
        "HS256": jwt.encode(
            {"alg": "HS256", "kid": header["kid"]}, claims, OctKey.import_key(MOTO_KEY.as_dict()["n"].encode())
        ),
        "alg none": unsigned,
        "viewer made admin": ".".join(forged_groups),
    }


@pytest.mark.parametrize("group", GROUPS)
def test_an_access_token_of_each_group_passes_and_the_function_finds_its_claims_as_api_gateway_gives_them(
    local_stack: LocalStack, calls: list[dict[str, Any]], group: str
) -> None:
    # Given an organiser of the group, signed in
    organisers = local_stack.organisers
    token = sign_in(organisers.endpoint, organisers.client_id, f"{group}@example.org")["AccessToken"]

    # When they call an admin route with it
    answer = call(local_stack, {"Authorization": f"Bearer {token}"})

    # Then the function ran once, with the verified claims where API Gateway's HTTP API puts them: every value a
    # string, an array between brackets, and no scopes (no route requires any)
    assert answer.status == 200
    (event,) = calls
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["jwt"]["scopes"] is None
    claims = authorizer["jwt"]["claims"]
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["cognito:groups"] == f"[{group}]"
    assert claims["token_use"] == "access"
    assert claims["client_id"] == organisers.client_id
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{organisers.user_pool_id}"
    assert int(claims["exp"]) > time.time()
    # and Powertools (what shared/api/admin_auth.py reads) sees the same
    parsed = APIGatewayProxyEventV2(event).request_context.authorizer
    assert parsed.jwt_claim["cognito:groups"] == f"[{group}]"
    assert parsed.jwt_claim["username"] == claims["sub"]


def test_a_token_signed_with_moto_s_key_passes_so_the_refusals_below_are_for_what_they_change(
    local_stack: LocalStack, calls: list[dict[str, Any]], tokens: dict[str, str]
) -> None:
    answer = call(local_stack, {"authorization": f"Bearer {tokens['moto key, valid']}"})

    assert answer.status == 200
    assert len(calls) == 1


def test_the_token_alone_without_bearer_passes_as_api_gateway_accepts_it(
    local_stack: LocalStack, calls: list[dict[str, Any]], tokens: dict[str, str]
) -> None:
    answer = call(local_stack, {"authorization": tokens["admin access"]})

    assert answer.status == 200
    assert len(calls) == 1


REFUSED: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "no header": lambda _tokens: {},
    "an empty header": lambda _tokens: {"authorization": ""},
    "Bearer alone": lambda _tokens: {"authorization": "Bearer"},
    "not Bearer": lambda tokens: {"authorization": f"Basic {tokens['admin access']}"},
    "the token in another header": lambda tokens: {"x-authorization": f"Bearer {tokens['admin access']}"},
    "garbage": lambda _tokens: {"authorization": "Bearer not-a-token"},
    "three parts of garbage": lambda _tokens: {"authorization": "Bearer a.b.c"},
    "the token twice": lambda tokens: {"authorization": f"Bearer {tokens['admin access']} {tokens['admin access']}"},
    "signed with another key": lambda tokens: {"authorization": f"Bearer {tokens['another key']}"},
    "a viewer's token with its groups changed to admin": lambda tokens: {
        "authorization": f"Bearer {tokens['viewer made admin']}"
    },
    "another pool's token": lambda tokens: {"authorization": f"Bearer {tokens['another pool']}"},
    "another client's token of the same pool": lambda tokens: {"authorization": f"Bearer {tokens['another client']}"},
    "moto's key but another pool as issuer": lambda tokens: {
        "authorization": f"Bearer {tokens['moto key, another issuer']}"
    },
    "expired": lambda tokens: {"authorization": f"Bearer {tokens['moto key, expired']}"},
    "not yet valid": lambda tokens: {"authorization": f"Bearer {tokens['moto key, not yet valid']}"},
    "no kid": lambda tokens: {"authorization": f"Bearer {tokens['moto key, no kid']}"},
    "an ID token": lambda tokens: {"authorization": f"Bearer {tokens['admin id']}"},
    "alg none": lambda tokens: {"authorization": f"Bearer {tokens['alg none']}"},
    "HS256": lambda tokens: {"authorization": f"Bearer {tokens['HS256']}"},
}


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_a_missing_or_invalid_token_is_a_401_unauthorized_and_the_function_is_not_called(
    local_stack: LocalStack, calls: list[dict[str, Any]], tokens: dict[str, str], headers: Callable[..., Any]
) -> None:
    # When an admin route is called without a valid access token of the organisers' pool
    answer = call(local_stack, headers(tokens))

    # Then it is the one 401 problem, saying nothing about why, and the function never ran
    assert answer.status == 401
    assert answer.content_type == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json() == REFUSAL
    assert calls == []


def test_routes_outside_admin_need_no_token(local_stack: LocalStack) -> None:
    answer = local_stack.api.request("GET", "/events")

    assert answer.status == 200


def test_local_organisers_say_where_to_sign_in_and_a_token_from_there_passes_over_http(
    local_stack: LocalStack, calls: list[dict[str, Any]]
) -> None:
    # Given what GET /_local/organisers says
    with urllib.request.urlopen(f"{local_stack.api_url}/_local/organisers") as response:
        pool = json.load(response)
    assert set(pool) == {"user_pool_id", "client_id", "cognito_endpoint", "users"}
    assert sorted((user["email"], tuple(user["groups"])) for user in pool["users"]) == sorted(
        (f"{group}@example.org", (group,)) for group in GROUPS
    )
    assert pool["user_pool_id"] == local_stack.stack.resources["OrganiserPool"]
    assert pool["client_id"] == local_stack.stack.resources["OrganiserPageClient"]

    # When a finance organiser signs in there with InitiateAuth and calls an admin route over HTTP
    token = sign_in(pool["cognito_endpoint"], pool["client_id"], "finance@example.org")["AccessToken"]
    method, path = admin_route(local_stack)
    request = urllib.request.Request(
        f"{local_stack.api_url}{path}", method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request) as response:
        status = response.status

    # Then it passes, as that organiser
    assert status == 200
    (event,) = calls
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] == "[finance]"


def test_organiser_token_signs_in_once_per_group_until_near_expiry(local_stack: LocalStack) -> None:
    first = local_stack.organiser_token("support")

    assert local_stack.organiser_token("support") == first
    assert local_stack.organiser_token("viewer") != first
    assert parts(first)[1]["cognito:groups"] == ["support"]


def test_the_organisers_outlive_a_reset(local_stack: LocalStack) -> None:
    local_stack.reset()

    organisers = local_stack.organisers
    assert sign_in(organisers.endpoint, organisers.client_id, "admin@example.org")["AccessToken"]


def test_the_pool_client_and_groups_are_the_template_s(local_stack: LocalStack) -> None:
    # Given the template's own properties
    resources = translated_template()["Resources"]
    pool_properties = resources["OrganiserPool"]["Properties"]
    client_properties = resources["OrganiserPageClient"]["Properties"]
    cognito: Any = local_stack.session.client("cognito-idp")
    pool_id = local_stack.stack.resources["OrganiserPool"]

    # Then the pool in moto has them
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Name"] == "conference-local-organisers"
    assert pool["UsernameAttributes"] == pool_properties["UsernameAttributes"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"] == pool_properties["Policies"]["PasswordPolicy"]
    assert pool["DeletionProtection"] == "INACTIVE"  # the Stage parameter is not prod
    assert pool["AccountRecoverySetting"] == pool_properties["AccountRecoverySetting"]
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == pool_properties["MfaConfiguration"]
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    # and its client and groups
    client = cognito.describe_user_pool_client(
        UserPoolId=pool_id, ClientId=local_stack.stack.resources["OrganiserPageClient"]
    )["UserPoolClient"]
    for name in (
        "ClientName",
        "ExplicitAuthFlows",
        "AccessTokenValidity",
        "RefreshTokenValidity",
        "TokenValidityUnits",
    ):
        assert client[name] == client_properties[name], name
    assert "ClientSecret" not in client
    groups = {group["GroupName"] for group in cognito.list_groups(UserPoolId=pool_id)["Groups"]}
    assert groups == set(GROUPS)


def test_a_function_s_ref_to_the_pool_is_the_pool_s_id(local_stack: LocalStack) -> None:
    pool_id = local_stack.stack.resources["OrganiserPool"]
    resources = translated_template()["Resources"]
    referring = {
        (logical_id, name)
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        for name, value in resource["Properties"].get("Environment", {}).get("Variables", {}).items()
        if value == {"Ref": "OrganiserPool"}
    }

    for logical_id, name in referring:
        assert local_stack.stack.functions[logical_id].environment[name] == pool_id
