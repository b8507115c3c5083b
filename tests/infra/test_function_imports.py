"""Each function loads only the heavy packages it uses: its cold start pays for nothing else.

(The times themselves are measured by `make bench`, never asserted here; which modules load is exact.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.packaging import EXTRA, IMPORTED_AT_COLD_START, copy_code
from infra.template import load_template

# The Stripe SDK where Stripe is called, the PDF library where certificates are rendered, each with its first use
# (the organiser's function loads Stripe with its first refund, the stream dispatcher and the bulk worker reportlab
# and segno with their first certificate, and icalendar with its first confirmation). The deployment packages bundle these (infra/packaging.py), so a function never
# imports what it lacks.
EXPECTED = {function: set(extra) for function, extra in IMPORTED_AT_COLD_START.items()}
HEAVY = (
    "stripe", "reportlab", "segno", "icalendar", "crhelper", "pypdf", "moto", "samtranslator", "werkzeug", "pytest",
)  # fmt: skip
FUNCTIONS = {
    name: resource["Properties"]["Handler"].rpartition(".")[0]
    for name, resource in load_template()["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def test_every_function_is_covered() -> None:
    assert set(FUNCTIONS) == set(EXPECTED)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_imports_only_the_heavy_packages_it_uses(function: str) -> None:
    probe = f"import sys, {FUNCTIONS[function]}; print(','.join(n for n in {HEAVY!r} if n in sys.modules))"
    environment = dict(os.environ) | {"POWERTOOLS_TRACE_DISABLED": "true"}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert set(filter(None, loaded.split(","))) == EXPECTED[function]


def test_every_package_bundles_what_its_function_imports_at_cold_start() -> None:
    assert all(set(IMPORTED_AT_COLD_START[function]) <= set(extra) for function, extra in EXTRA.items())


def loaded_after(function: str, work: str) -> set[str]:
    """The heavy packages a fresh interpreter has loaded once the function's handler is imported and `work` ran."""
    probe = f"import sys, {FUNCTIONS[function]}\n{work}\nprint(','.join(n for n in {HEAVY!r} if n in sys.modules))"
    environment = dict(os.environ) | {"POWERTOOLS_TRACE_DISABLED": "true"}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(filter(None, loaded.split(",")))


def test_the_stream_dispatcher_bundles_what_it_loads_to_draw_a_certificate() -> None:
    # Given the stream dispatcher's handler, When it renders a certificate (which loads segno, for the QR code)
    loaded = loaded_after(
        "StreamDispatcherFunction",
        "from shared.certificates.content import CertificateContent\n"
        "from shared.certificates.pdf import render_certificate\n"
        "render_certificate(CertificateContent('Ana', 'Conf', 'Org', '5 May', 1.0, '5 May', 'crt_1', 'https://x.org/c/1'))",
    )
    # Then what it has loaded is in its package
    assert loaded == {"reportlab", "segno"} <= set(EXTRA["StreamDispatcherFunction"])


def test_the_stream_dispatcher_bundles_what_it_loads_to_write_a_confirmation() -> None:
    # Given the stream dispatcher's handler, When it writes a confirmation's calendar (which loads icalendar)
    loaded = loaded_after(
        "StreamDispatcherFunction",
        "from datetime import datetime, UTC\n"
        "from shared.conference import load_conference\n"
        "from shared.email.calendar import conference_invite\n"
        "conference_invite(load_conference(), attendee_id='att_1', site_url='https://x.org', sent_at=datetime.now(UTC))",
    )
    # Then it has loaded icalendar, which its package bundles, and not the PDF library (the first certificate loads it)
    assert loaded == {"icalendar"}
    assert set(EXTRA["StreamDispatcherFunction"]) == {"reportlab", "segno", "icalendar"}


def test_the_site_function_serves_its_pages_from_its_own_package(tmp_path) -> None:
    # Given the site function's package as `sam build` lays out the project's part of it (the libraries come from
    # this environment: their Lambda wheels are for arm64), When a fresh interpreter imports the handler from there
    copy_code("SitePagesFunction", tmp_path)
    probe = (
        "import json, functions.site_pages.handler as h\n"
        "event = {'version': '2.0', 'rawPath': '/admin', 'rawQueryString': '', 'headers': {},\n"
        "         'requestContext': {'http': {'method': 'GET', 'path': '/admin', 'sourceIp': '127.0.0.1'},\n"
        "                            'stage': '$default', 'requestId': 'r'}}\n"
        "class Context: function_name = 'site'; memory_limit_in_mb = 512; aws_request_id = 'r'\n"
        "Context.invoked_function_arn = 'arn:aws:lambda:us-east-1:1:function:site'\n"
        "answer = h.lambda_handler(event, Context())\n"
        "print(json.dumps({'file': h.__file__, 'status': answer['statusCode'], 'body': answer['body'],\n"
        "                  'csp': answer['headers']['Content-Security-Policy']}))"
    )
    environment = dict(os.environ) | {"PYTHONPATH": str(tmp_path), "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environment, cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    answer = json.loads(out.strip().splitlines()[-1])
    # Then it is the packaged handler, and it serves the organiser page from the package, its script pinned
    assert answer["file"] == str(tmp_path / "functions" / "site_pages" / "handler.py")
    assert answer["status"] == 200
    assert '<script src="/assets/admin.js?v=' in answer["body"] and "script-src 'self';" in answer["csp"]
    source = Path(__file__).parents[2] / "functions" / "site_pages" / "static"
    packaged = tmp_path / "functions" / "site_pages" / "static"
    assert {path.name for path in packaged.iterdir()} == {path.name for path in source.iterdir()}


# Our own modules a handler's import must not load: they are imported by the routes (or the one invocation) that use
# them, so a cold start pays for what it serves (docs/performance.md). A package named here covers its submodules.
NOT_AT_IMPORT = {
    # The organiser's routes each import their services, adapters and models when first called.
    "AdminApiFunction": (
        "shared.adapters", "shared.admin", "shared.composition.admin", "shared.composition.attendance",
        "shared.composition.certificates", "shared.composition.events", "shared.events.service", "shared.payments.invoices",
    ),
    # The seed's models, adapters and settings load with the deploy's invocation: the import is crhelper's helper.
    "EventSeedFunction": ("shared.adapters", "shared.composition", "shared.conference", "shared.settings", "pydantic"),
}  # fmt: skip


@pytest.mark.parametrize("function", sorted(NOT_AT_IMPORT))
def test_a_handler_imports_its_routes_modules_when_they_are_used(function: str) -> None:
    # Given a fresh interpreter, When it imports the function's handler
    probe = f"import sys, {FUNCTIONS[function]}; print('\\n'.join(sys.modules))"
    environment = dict(os.environ) | {"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    # Then none of the modules its routes import on first use is loaded
    early = [name for name in loaded if any(name == m or name.startswith(f"{m}.") for m in NOT_AT_IMPORT[function])]
    assert early == []
