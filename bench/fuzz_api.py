"""Requests generated from the API's own OpenAPI document (GET /openapi.json) by schemathesis, valid ones and
deliberately invalid ones, sent in-process to the gateway (a WSGI app: no network), with and without the
organiser's token. The claims: no answer is a 5xx, and every error is application/problem+json with a code from
the documented list.

Used by `make fuzz` (bench/fuzz.py, thousands of requests) and by a reduced run in the tests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from requests.structures import CaseInsensitiveDict
from schemathesis import Case as GenericCase
from schemathesis.generation import GenerationMode

Case = GenericCase[Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# README "Error codes": the stable codes a client can branch on.
# Routes that answer a person's browser with HTML, including their 404 (GET /verify/{id}: an unknown certificate).
HTML_PAGES = frozenset({"GET /verify/{certificate_id}"})
KNOWN_CODES = frozenset(
    {
        "validation_error",
        "idempotency_key_reused",
        "payload_too_large",
        "unsupported_media_type",
        "not_found",
        "invalid_credentials",
        "invalid_session",
        "session_superseded",
        "too_many_requests",
        "already_registered",
        "registration_in_progress",
        "registration_closed",
        "request_in_progress",
        "not_refundable",
        "invalid_signature",
        "unauthorized",
        "payment_provider_unavailable",
        "temporarily_unavailable",
        # The organisers' event routes.
        "forbidden",
        "version_conflict",
        "precondition_required",
        "change_refused",
        # GET /me/certificate.
        "not_issued",
    }
)


@dataclass
class FuzzReport:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "server_errors": sum(n for status, n in self.by_status.items() if status >= 500),
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
            "codes": dict(sorted(self.codes.items())),
            "operations": dict(sorted(self.by_operation.items())),
            "violations": self.violations[:100],
        }


def fuzz(app: WSGIApp, *, admin_token: str, examples: int, random_seed: int = 2020) -> FuzzReport:
    """`examples` generated cases per operation and mode (valid, invalid), each sent once with the documented
    auth and once with none (or a wrong one) for the routes that need it."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here, as it should
        needs_token = operation.path.startswith("/admin/")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            check = partial(_check, report=report, admin_token=admin_token, needs_token=needs_token)
            _run(strategy, check, examples, random_seed)
    return report


def _run(strategy: st.SearchStrategy[Case], check: Callable[[Case], None], examples: int, random_seed: int) -> None:
    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        check(case)

    with suppress(Unsatisfiable):  # nothing invalid can be generated for an operation without parameters or body
        run()


def _check(case: Case, report: FuzzReport, admin_token: str, needs_token: bool) -> None:
    label = f"{case.method.upper()} {case.operation.path}"
    tokens: list[str | None] = [f"Bearer {admin_token}", None] if needs_token else [None]
    generated = dict(case.headers or {})
    for token in tokens:
        headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict(generated)
        if needs_token:
            headers.pop("Authorization", None)
        if token is not None:
            headers["Authorization"] = token
        case.headers = headers  # the WSGI transport sends the case's own headers
        response = case.call()
        if needs_token and token is not None and response.status_code == 401:
            report.violations.append(f"{label} refused the organiser's token")
        report.requests += 1
        report.by_status[response.status_code] += 1
        report.by_operation[label] += 1
        if response.status_code >= 500:
            report.violations.append(f"{label} answered {response.status_code}: {case.as_curl_command()[:300]}")
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])
            kind = (content_type[0] if isinstance(content_type, list) else content_type).split(";")[0]
            code = _code(response.content)
            report.codes[code or "<none>"] += 1
            if label in HTML_PAGES and kind == "text/html" and response.status_code == 404:
                continue  # a page a person opens: its "not found" is a page too (the contract's 404 page)
            if kind != "application/problem+json" or code not in KNOWN_CODES:
                report.violations.append(f"{label} answered {response.status_code} {kind} code={code}")


def _code(content: bytes) -> str | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None
