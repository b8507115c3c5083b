"""The organisers' directory against moto's Cognito: an account by the access token's `username` (its sub), its
email, enabled flag and MFA; a removed account; the few minutes an account is kept."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from shared.adapters.cognito_organisers import ACCOUNT_KEPT_SECONDS, CognitoOrganisers

PASSWORD = "Local-organiser-1"


@pytest.fixture
def pool(aws) -> tuple[object, str, str]:
    """A pool of its own (email usernames, as the template's) with one organiser signed in."""
    cognito = aws.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName=f"directory-{uuid.uuid4().hex[:8]}", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="page", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    email = "lopez@example.org"
    cognito.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=[{"Name": "email", "Value": email}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    signed_in = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH", ClientId=client_id, AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD}
    )
    token = signed_in["AuthenticationResult"]["AccessToken"]
    username = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["username"]
    return cognito, pool_id, username


def test_the_token_s_username_finds_the_person_s_email_and_settings(pool) -> None:
    cognito, pool_id, username = pool
    account = CognitoOrganisers(pool_id, cognito).account(username)
    assert account is not None
    assert (account.email, account.enabled, account.has_mfa) == ("lopez@example.org", True, False)


def test_a_removed_account_is_none_and_accounts_are_kept_for_a_few_minutes(pool) -> None:
    cognito, pool_id, username = pool
    now = [0.0]
    directory = CognitoOrganisers(pool_id, cognito, monotonic=lambda: now[0])
    assert directory.account(username) is not None

    cognito.admin_delete_user(UserPoolId=pool_id, Username="lopez@example.org")
    assert directory.account(username) is not None  # still kept
    now[0] = ACCOUNT_KEPT_SECONDS + 1
    assert directory.account(username) is None
