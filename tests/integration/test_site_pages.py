"""The site through the local stack's HTTP gateway, as a browser gets it: every page, script and the site's
configuration from the site function (as on AWS), with the security headers checked; the configuration names the
local stack's own Cognito pool, where an organiser can indeed sign in."""

from __future__ import annotations

import re

import boto3
import pytest
import requests

from infra.local_stack import LocalStack
from shared.api.pages import SECURITY_HEADERS, content_security_policy

PAGES = ("/", "/attend", "/admin")


def assert_security_headers(response: requests.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_its_script_come_with_the_security_headers(api_url: str, path: str) -> None:
    page = requests.get(f"{api_url}{path}", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_security_headers(page)
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self' 'sha256-")
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["Cache-Control"] == "no-cache"
    assert (
        requests.get(f"{api_url}{path}", headers={"If-None-Match": page.headers["ETag"]}, timeout=10).status_code == 304
    )
    (script,) = re.findall(r'<script src="(/assets/[\w.]+\.js\?v=\w+)"></script>', page.text)
    asset = requests.get(f"{api_url}{script}", timeout=10)
    assert asset.status_code == 200
    assert asset.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_security_headers(asset)


def test_the_organiser_page_signs_in_where_the_site_config_says_and_may_fetch_only_there(
    api_url: str, local_stack: LocalStack
) -> None:
    config = requests.get(f"{api_url}/site-config.json", timeout=10)
    assert config.status_code == 200
    cognito = config.json()["cognito"]
    organisers = local_stack.organisers
    assert cognito["user_pool_id"] == organisers.user_pool_id
    assert cognito["client_id"] == organisers.client_id
    assert cognito["endpoint"] == organisers.endpoint
    page = requests.get(f"{api_url}/admin", timeout=10)
    assert page.headers["Content-Security-Policy"] == content_security_policy(
        page.text, connect_src=[cognito["endpoint"]]
    )
    # What the page does with it: InitiateAuth at that endpoint, with that client.
    client = boto3.client(
        "cognito-idp",
        endpoint_url=cognito["endpoint"],
        region_name=cognito["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    answer = client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=cognito["client_id"],
        AuthParameters={"USERNAME": organisers.email_of("viewer"), "PASSWORD": local_stack.settings.organiser_password},
    )
    assert answer["AuthenticationResult"]["AccessToken"]


def test_the_other_pages_may_fetch_only_from_their_own_origin(api_url: str) -> None:
    for path in ("/", "/attend"):
        policy = requests.get(f"{api_url}{path}", timeout=10).headers["Content-Security-Policy"]
        assert "; connect-src 'self'; " in policy


def test_only_get_serves_a_page_and_the_local_routes_stay_local(api_url: str) -> None:
    assert requests.post(f"{api_url}/admin", timeout=10).status_code == 404
    assert requests.get(f"{api_url}/assets/../template.yaml", timeout=10).status_code == 404
    clock = requests.get(f"{api_url}/_local/clock", timeout=10)  # the attendee page's conference time, locally
    assert clock.status_code == 200 and "now" in clock.json()
