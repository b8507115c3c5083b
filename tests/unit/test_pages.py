"""shared.api.pages: the headers every HTML answer carries, its CSP by the page's own inline blocks, caching."""

from __future__ import annotations

import base64
import hashlib

from shared.api.pages import SECURITY_HEADERS, content_security_policy, html_page

PAGE = "<!doctype html><style>p{color:red}</style><p>hi</p><script>console.log(1)</script>"


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split("; ")}


def test_the_policy_allows_the_pages_own_inline_blocks_by_hash_and_never_unsafe_inline() -> None:
    policy = directives(content_security_policy(PAGE))
    assert policy["script-src"] == ["'self'", sha("console.log(1)")]
    assert policy["style-src"] == ["'self'", sha("p{color:red}")]
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert "unsafe-inline" not in content_security_policy(PAGE)


def test_an_external_script_is_not_hashed_and_connect_src_takes_the_sources_given() -> None:
    policy = directives(
        content_security_policy('<script src="/assets/a.js"></script>', connect_src=["https://idp.example"])
    )
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "https://idp.example"]


def test_a_page_carries_every_security_header_its_csp_and_caching() -> None:
    answer = html_page(PAGE, max_age=60)
    assert answer.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["Cache-Control"] == "public, max-age=60"
    assert answer.headers["Content-Security-Policy"] == content_security_policy(PAGE)
    assert answer.body == PAGE
    assert html_page(PAGE, max_age=0).headers["Cache-Control"] == "no-cache"


def test_the_etag_follows_the_content_and_a_matching_if_none_match_is_a_304_without_body() -> None:
    etag = html_page(PAGE).headers["ETag"]
    assert isinstance(etag, str) and etag.startswith('W/"')
    assert html_page(PAGE + " ").headers["ETag"] != etag
    again = html_page(PAGE, if_none_match=f'"other", {etag.removeprefix("W/")}')
    assert again.status_code == 304
    assert not again.body
    assert again.headers["ETag"] == etag
    assert html_page(PAGE, if_none_match='"other"').status_code == 200


def test_an_error_page_is_never_answered_304() -> None:
    etag = html_page(PAGE, status=404).headers["ETag"]
    answer = html_page(PAGE, status=404, if_none_match=str(etag))
    assert answer.status_code == 404
    assert answer.body == PAGE
