"""Each function loads only the heavy packages it uses: its cold start pays for nothing else.

(The times themselves are measured by `make bench`, never asserted here; which modules load is exact.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.packaging import EXTRA, IMPORTED_AT_COLD_START
from infra.template import load_template

# The Stripe SDK where Stripe is called, the PDF library where certificates are rendered; nowhere else
# (the organiser's function loads Stripe with its first refund, the stream dispatcher the QR encoder, segno,
# with its first certificate). The deployment packages bundle these (infra/packaging.py), so a function never
# imports what it lacks.
EXPECTED = {function: set(extra) for function, extra in IMPORTED_AT_COLD_START.items()}
HEAVY = ("stripe", "reportlab", "segno", "crhelper", "pypdf", "moto", "samtranslator", "werkzeug", "pytest")
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


def test_the_stream_dispatcher_bundles_what_it_loads_to_draw_a_certificate() -> None:
    # Given a fresh interpreter with the stream dispatcher's handler imported
    probe = (
        f"import sys, {FUNCTIONS['StreamDispatcherFunction']}\n"
        "from shared.certificates.pdf import CertificateContent, render_certificate\n"
        "render_certificate(CertificateContent('Ana', 'Conf', 'Org', '5 May', 1.0, '5 May', 'crt_1', 'https://x.org/c/1'))\n"
        f"print(','.join(n for n in {HEAVY!r} if n in sys.modules))"
    )
    environment = dict(os.environ) | {"POWERTOOLS_TRACE_DISABLED": "true"}
    # When it renders a certificate (which loads segno, for the QR code)
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()
    # Then what it has loaded is exactly what its package bundles
    assert set(filter(None, loaded.split(","))) == set(EXTRA["StreamDispatcherFunction"]) == {"reportlab", "segno"}
