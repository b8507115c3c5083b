"""The site function (functions/site_pages): its pages, their scripts and the site's configuration, each with the
security headers and caching of shared/api/pages.py; the organiser page's Cognito settings from the environment."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from functions.site_pages import handler
from infra.apigw import HttpResponse, LambdaContext, build_event, match_route, to_http_response
from infra.template import http_api_routes
from shared.api.pages import SECURITY_HEADERS

PAGES = {"/": "index.js", "/attend": "attend.js", "/admin": "admin.js"}
ROUTES = [route for route in http_api_routes() if route.function == "SitePagesFunction"]


@pytest.fixture(autouse=True)
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("ORGANISER_POOL_ID", "eu-west-1_pool")
    monkeypatch.setenv("ORGANISER_CLIENT_ID", "client123")
    monkeypatch.setenv("COGNITO_ENDPOINT", "https://cognito-idp.eu-west-1.amazonaws.com/")
    yield


def get(path: str, query: str = "", **headers: str) -> HttpResponse:
    matched = match_route(ROUTES, "GET", path)
    assert matched is not None, f"no site route for {path}"
    route, parameters = matched
    event = build_event(route, parameters, method="GET", path=path, query=query, headers=headers)
    context: Any = LambdaContext(function_name="site")  # the attributes Powertools reads, as the local stack gives them
    return to_http_response(handler.lambda_handler(event, context))


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def assert_security_headers(answer: HttpResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name.lower()] == value, name


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_has_strict_headers_no_inline_script_and_is_asked_for_again_each_visit(path: str) -> None:
    answer = get(path)
    assert answer.status == 200
    assert answer.content_type == "text/html; charset=utf-8"
    assert_security_headers(answer)
    policy = directives(answer.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # the page's script is a file: nothing inline runs
    assert policy["style-src"][0] == "'self'" and all(s.startswith("'sha256-") for s in policy["style-src"][1:])
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    html = answer.body.decode()
    assert "<script>" not in html and re.search(r"\son[a-z]+=", html) is None
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["etag"].startswith('W/"')


def test_only_the_organiser_page_may_reach_cognito_and_only_the_deployments() -> None:
    assert directives(get("/admin").headers["content-security-policy"])["connect-src"] == [
        "'self'",
        "https://cognito-idp.eu-west-1.amazonaws.com",
    ]
    for path in ("/", "/attend"):
        assert directives(get(path).headers["content-security-policy"])["connect-src"] == ["'self'"]


def test_a_page_the_browser_has_is_a_304_without_body() -> None:
    etag = get("/attend").headers["etag"]
    again = get("/attend", **{"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["etag"] == etag
    assert get("/attend", **{"If-None-Match": 'W/"stale"'}).status == 200


@pytest.mark.parametrize(("path", "script"), sorted(PAGES.items()))
def test_a_page_names_its_script_by_version_and_that_version_is_kept_a_year(path: str, script: str) -> None:
    (version,) = re.findall(rf'<script src="/assets/{re.escape(script)}\?v=(\w+)"></script>', get(path).body.decode())
    answer = get(f"/assets/{script}", query=f"v={version}")
    assert answer.status == 200
    assert answer.content_type == "text/javascript; charset=utf-8"
    assert_security_headers(answer)
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.body.decode() == (handler.STATIC / script).read_text(encoding="utf-8")
    # Another version (a page from an older deploy) is answered with what there is now, kept only minutes.
    assert get(f"/assets/{script}", query="v=0123456789abcdef").headers["cache-control"] == "public, max-age=300"
    assert get(f"/assets/{script}").headers["cache-control"] == "public, max-age=300"


def test_every_file_beside_the_pages_is_used_by_one() -> None:
    referenced = {name for path in PAGES for name in re.findall(r"/assets/([\w.-]+)\?v=", get(path).body.decode())}
    on_disk = {path.name for path in handler.STATIC.iterdir() if path.suffix != ".html"}
    assert referenced == on_disk == {*PAGES.values(), "site.css"}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_links_the_shared_stylesheet_before_its_own_styles(path: str) -> None:
    html = get(path).body.decode()
    (version,) = re.findall(r'<link rel="stylesheet" href="/assets/site\.css\?v=(\w+)">\n<style>', html)
    sheet = get("/assets/site.css", query=f"v={version}")
    assert sheet.status == 200
    assert sheet.content_type == "text/css; charset=utf-8"
    assert sheet.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert ":root {" in sheet.body.decode() and ":root {" not in html  # the shared rules only once


def test_an_unknown_asset_is_a_404_problem() -> None:
    answer = get("/assets/nothing.js")
    assert answer.status == 404
    assert answer.content_type == "application/problem+json"
    assert answer.json()["code"] == "not_found"


def test_a_browser_that_accepts_gzip_gets_the_page_gzipped() -> None:
    plain = get("/admin")
    zipped = get("/admin", **{"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body) / 3
    assert zipped.headers["etag"] == plain.headers["etag"]  # weak: the same page either way


def site_config() -> Any:
    answer = get("/site-config.json")
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert_security_headers(answer)
    return json.loads(answer.body)


def test_the_site_config_names_the_deployments_pool_client_and_endpoint() -> None:
    assert site_config() == {
        "cognito": {
            "region": "eu-west-1",
            "user_pool_id": "eu-west-1_pool",
            "client_id": "client123",
            "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
        }
    }


def test_an_sdk_endpoint_override_is_where_the_page_signs_in_as_the_local_stack_sets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert site_config()["cognito"]["endpoint"] == "http://127.0.0.1:5000"
    assert "connect-src 'self' http://127.0.0.1:5000;" in get("/admin").headers["content-security-policy"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDP", "http://127.0.0.1:5001")  # the service's own wins
    assert site_config()["cognito"]["endpoint"] == "http://127.0.0.1:5001"


def test_without_a_pool_the_config_says_so_and_the_admin_page_reaches_nothing_else() -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("ORGANISER_POOL_ID", "ORGANISER_CLIENT_ID", "COGNITO_ENDPOINT"):
            patch.delenv(name)
        assert site_config()["cognito"] == {"region": "eu-west-1", "user_pool_id": "", "client_id": "", "endpoint": ""}
        assert directives(get("/admin").headers["content-security-policy"])["connect-src"] == ["'self'"]


def test_the_site_routes_are_the_functions_and_nothing_else() -> None:
    assert {f"{route.method} {route.path}" for route in ROUTES} == {
        "GET /",
        "GET /attend",
        "GET /admin",
        "GET /assets/{name}",
        "GET /site-config.json",
    }
    assert all(route.authorizer is None for route in ROUTES)
