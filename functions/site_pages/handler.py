"""SitePages: the site itself, on the HTTP API beside the routes its pages call (one origin: no CORS, no second
deploy step). GET / (registration), GET /attend (attendee), GET /admin (organiser), GET /assets/{name} (their
scripts), GET /site-config.json (what the deployment says the organiser page signs in with).

Every answer goes through shared.api.pages, so the security headers are the same on AWS and locally (the local
gateway plays this function like any other)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.pages import asset_response, html_page

STATIC = Path(__file__).parent / "static"
PAGES = {"/": "index.html", "/attend": "attend.html", "/admin": "admin.html"}
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# A page is asked for again on every visit (a 304 by its ETag when unchanged), so a deploy shows at once; it names
# its assets with their content's hash (?v=), so those can be kept a year and never be stale beside a new page.
PAGE_MAX_AGE = 0
VERSIONED_MAX_AGE = 31_536_000
UNVERSIONED_MAX_AGE = 300
CONFIG_MAX_AGE = 300
_ASSET_REFERENCE = re.compile(r'(src|href)="/assets/([\w.-]+)"')

# Every first page view waits for this function's cold start, so it loads only the Logger: not shared.observability
# (its Tracer loads the X-Ray SDK and botocore, about 0.9 s) nor the error map with pydantic, which a 404 loads.
logger = Logger()
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    version: str


@cache
def assets() -> dict[str, Asset]:
    """Every script or stylesheet beside the pages, read once per container (a deploy replaces the package)."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in ASSET_TYPES:
            body = path.read_text(encoding="utf-8")
            found[path.name] = Asset(body, ASSET_TYPES[path.suffix], hashlib.sha256(body.encode()).hexdigest()[:16])
    return found


@cache
def page_html(route: str) -> str:
    """The page with each /assets/ reference pinned to its content's version."""

    def pinned(reference: re.Match[str]) -> str:
        attribute, name = reference.groups()
        return f'{attribute}="/assets/{name}?v={assets()[name].version}"'

    return _ASSET_REFERENCE.sub(pinned, (STATIC / PAGES[route]).read_text(encoding="utf-8"))


def cognito_endpoint() -> str:
    """Where the organiser page sends its Cognito calls: where an AWS SDK in this environment would (an endpoint
    override, as the local stack sets for its moto server), else the region's public endpoint from the template."""
    for name in ("AWS_ENDPOINT_URL_COGNITO_IDP", "AWS_ENDPOINT_URL", "COGNITO_ENDPOINT"):
        if value := os.environ.get(name):
            return value
    return ""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


def site_config() -> dict[str, Any]:
    return {
        "cognito": {
            "region": os.environ.get("AWS_REGION", ""),
            "user_pool_id": os.environ.get("ORGANISER_POOL_ID", ""),
            "client_id": os.environ.get("ORGANISER_CLIENT_ID", ""),
            "endpoint": cognito_endpoint(),
        }
    }


def if_none_match() -> str | None:
    return app.current_event.headers.get("if-none-match")


def page(route: str, *, connect_src: tuple[str, ...] = ()) -> Response[str]:
    return html_page(page_html(route), max_age=PAGE_MAX_AGE, connect_src=connect_src, if_none_match=if_none_match())


@app.get("/")
def registration_page() -> Response[str]:
    return page("/")


@app.get("/attend")
def attendee_page() -> Response[str]:
    return page("/attend")


@app.get("/admin")
def organiser_page() -> Response[str]:
    # The organiser page alone talks to Cognito (sign-in, refresh, sign-out), straight from the browser.
    cognito = origin_of(cognito_endpoint())
    return page("/admin", connect_src=(cognito,) if cognito else ())


@app.get("/assets/<name>")
def asset(name: str) -> Response[str]:
    found = assets().get(name)
    if found is None:
        from shared.api.problems import problem

        return problem(HTTPStatus.NOT_FOUND, "not_found", "Not found", f"There is no asset {name}.")
    pinned = app.current_event.get_query_string_value("v") == found.version
    max_age = VERSIONED_MAX_AGE if pinned else UNVERSIONED_MAX_AGE
    answer = asset_response(found.body, found.content_type, max_age=max_age, if_none_match=if_none_match())
    if pinned:
        answer.headers["Cache-Control"] = f"public, max-age={VERSIONED_MAX_AGE}, immutable"
    return answer


@app.get("/site-config.json")
def configuration() -> Response[str]:
    return asset_response(
        json.dumps(site_config()), "application/json", max_age=CONFIG_MAX_AGE, if_none_match=if_none_match()
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
