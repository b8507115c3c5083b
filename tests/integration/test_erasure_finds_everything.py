"""Erasure through the HTTP API finds every record of the person (issue 17's finding 5): registrations awaiting
payment or expired (which hold no seat's guard), a group the person bought without attending, and every stored
version of a certificate's PDF. The rules are pinned with fakes in tests/unit/test_privacy_service.py."""

from __future__ import annotations

import json
from typing import Any

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, group, individual
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.s3_certificates import S3CertificateFiles
from tests.integration.conftest import ADMIN, drain
from tests.support.tables import scan_all

PERSON = "erase.me@example.org"


def register(api: LocalHttpApi, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.request("POST", "/registrations", headers=JSON, body=encoded(body))
    assert answer.status == 201, answer.body
    return answer.json()


def session_of(created: dict[str, Any]) -> str:
    return str(created["checkout_url"]).rsplit("/", 1)[-1]


def test_every_registration_naming_the_person_is_erased_whatever_its_status(
    api, stripe_standin: StripeStandIn, stream: StreamPoller, aws, stack
) -> None:
    # Given an expired and a pending registration of the person's, their paid seat, and a group they bought
    expired = register(api, individual(email=PERSON, first_name="Erin", organization="Old PD"))
    stripe_standin.expire(session_of(expired))
    register(api, individual(email=PERSON.upper(), first_name="Erin", organization="Pending PD"))
    paid = register(api, individual(email=PERSON, first_name="Erin"))
    stripe_standin.pay(session_of(paid))
    bought = register(api, group(["officer.kept@example.org"], purchaser_email=PERSON))
    drain(stripe_standin, stream)  # the stream indexes each registration's people

    # When an administrator erases the person
    erased = api.request("POST", "/admin/people/erase", headers=ADMIN | JSON, body=encoded({"email": PERSON}))

    # Then nothing in the table names them any more, and the attendee they bought for is kept
    assert erased.status == 200, erased.body
    assert erased.json()["purchases"] == [bought["registration_id"]]
    assert len(erased.json()["seats"]) == 3
    stored = json.dumps(scan_all(aws.client("dynamodb"), stack.resources["MainTable"]), default=str).casefold()
    assert PERSON not in stored and "erin" not in stored
    assert "officer.kept@example.org" in stored
    export = api.request("POST", "/admin/people/export", headers=ADMIN | JSON, body=encoded({"email": PERSON}))
    assert export.status == 404


def test_every_stored_version_of_a_certificate_pdf_is_deleted(aws, stack) -> None:
    # Given a PDF stored three times (a versioned bucket keeps each) and a delete marker
    bucket, s3 = stack.resources["CertificatesBucket"], aws.client("s3")
    files = S3CertificateFiles(bucket, DynamoCertificateRepository(stack.resources["MainTable"]), client=s3)
    key = "certificates/crt_erased.pdf"
    for n in range(3):
        s3.put_object(Bucket=bucket, Key=key, Body=f"%PDF-{n}".encode())
    s3.delete_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key="certificates/crt_other.pdf", Body=b"%PDF-other")

    # When
    deleted = files.erase_pdf("crt_erased")

    # Then no version and no marker is left of it, and another certificate's PDF is untouched
    listed = s3.list_object_versions(Bucket=bucket, Prefix="certificates/crt_")
    left = {v["Key"] for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]}
    assert deleted == 4 and key not in left and "certificates/crt_other.pdf" in left
