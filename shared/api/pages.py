"""HTML answers. Every page this backend serves (the site's pages and the certificate's verification page) goes
through `html_page`, so the security headers and the caching rules live in this one place, on AWS and locally."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from aws_lambda_powertools.event_handler import Response

SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        # Browsers ignore HSTS over plain http, so the local stack can send it too.
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # frame-ancestors 'none' says the same to current browsers; this is for the ones that predate it.
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
)

_INLINE = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def content_security_policy(html: str, *, connect_src: Sequence[str] = ()) -> str:
    """Scripts and styles from this origin plus exactly the page's own inline <script> and <style> blocks, by
    their hashes (never 'unsafe-inline'); fetch to this origin and the `connect_src` given; no frame, plugin or
    base; nobody may frame the page."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, attributes, content in _INLINE.findall(html):
        if content.strip() and "src=" not in attributes.lower():
            hashes[tag.lower()].append(f"'sha256-{_sha256(content)}'")
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self'", *hashes["script"]]),
            " ".join(["style-src 'self'", *hashes["style"]]),
            "img-src 'self'",
            " ".join(["connect-src 'self'", *connect_src]),
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def entity_tag(body: str | bytes) -> str:
    """Weak, because the same page may go out gzipped or not."""
    data = body.encode() if isinstance(body, str) else body
    return 'W/"' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()[:18]).decode() + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison of If-None-Match against the representation's tag."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def cache_control(max_age: int) -> str:
    """`max_age` seconds in any cache; 0 means every use asks again (cheaply, with the ETag)."""
    return f"public, max-age={max_age}" if max_age > 0 else "no-cache"


def asset_response(
    body: str,
    content_type: str,
    *,
    status: int = 200,
    max_age: int = 300,
    if_none_match: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    """Any text answer with the security headers, caching and ETag (a 304 when the caller has it already)."""
    etag = entity_tag(body)
    common = {**SECURITY_HEADERS, "Cache-Control": cache_control(max_age), "ETag": etag, "Vary": "Accept-Encoding"}
    if status == 200 and not_modified(if_none_match, etag):
        return Response(304, None, "", headers={**common, **(headers or {})})
    return Response(status, content_type, body, headers={**common, **(headers or {})}, compress=True)


def html_page(
    html: str,
    *,
    status: int = 200,
    max_age: int = 300,
    connect_src: Sequence[str] = (),
    if_none_match: str | None = None,
) -> Response[str]:
    """A page with its Content-Security-Policy computed from the html given (its inline blocks by hash)."""
    csp = {"Content-Security-Policy": content_security_policy(html, connect_src=connect_src)}
    return asset_response(
        html, "text/html; charset=utf-8", status=status, max_age=max_age, if_none_match=if_none_match, headers=csp
    )
