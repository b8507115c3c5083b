"""Per-client limits of the unauthenticated writes (shared/limits.py) through the handlers and DynamoDB (moto): each
source address has its own budget, the refusal is a 429 problem with Retry-After, and other addresses go on. The
window arithmetic and the burst are pinned in tests/unit (test_registration_service.py, test_attendance_service.py)."""

from __future__ import annotations

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, individual

AGENCY, NEIGHBOUR = "203.0.113.50", "203.0.113.51"


def register(api: LocalHttpApi, n: int, source_ip: str):
    body = encoded(individual(email=f"officer{n}@example.org"))
    return api.request("POST", "/registrations", headers=JSON, body=body, source_ip=source_ip)


def test_one_address_registers_its_hundred_officers_one_by_one_then_gets_429(api: LocalHttpApi) -> None:
    # Given an agency behind one address registering 100 officers
    assert [register(api, n, AGENCY).status for n in range(100)] == [201] * 100

    # When it sends one more this hour
    refused = register(api, 100, AGENCY)

    # Then a 429 problem that says how long to wait; another address is not affected
    assert refused.status == 429 and refused.json()["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert register(api, 100, NEIGHBOUR).status == 201


def test_access_code_requests_are_limited_per_address_not_per_email(api: LocalHttpApi) -> None:
    def ask(email: str, source_ip: str) -> int:
        body = encoded({"email": email})
        return api.request("POST", "/access-codes", headers=JSON, body=body, source_ip=source_ip).status

    assert [ask(f"person{n}@example.org", AGENCY) for n in range(20)] == [202] * 20
    assert ask("person20@example.org", AGENCY) == 429
    assert ask("person0@example.org", NEIGHBOUR) == 202
