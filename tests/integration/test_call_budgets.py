"""Exact external calls per operation stay within their budgets (bench/call_budgets.py): registration (with
and without an Idempotency-Key), the payment webhook, a heartbeat, refused requests and access-code requests.
Counts, never times."""

from __future__ import annotations

from bench.call_budgets import BUDGETS, counting_calls, over_budget, run_operations
from infra.apigw import LocalHttpApi
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from tests.integration.conftest import drain


def test_every_operation_stays_within_its_call_budget(
    api: LocalHttpApi, stripe_standin: StripeStandIn, stream: StreamPoller
) -> None:
    # Given each budgeted operation run once, every AWS and Stripe call counted
    with counting_calls():
        counted = run_operations(api, stripe_standin, lambda: drain(stripe_standin, stream))

    # Then each stays within its budget and answers as it should
    assert set(BUDGETS) <= set(counted)
    assert [problem for name, calls in counted.items() for problem in over_budget(name, calls)] == []
    # And the hot paths make exactly these calls: a heartbeat is one conditional write, a malformed token or an
    # invalid registration costs nothing
    assert counted["heartbeat"].aws == {"dynamodb.UpdateItem": 1}
    assert counted["heartbeat, malformed token (401)"].aws == {}
    assert counted["invalid registration (422)"].aws == {} and counted["invalid registration (422)"].stripe == []
    # A registration creates one Checkout Session; the webhook re-reads it and writes nothing at Stripe
    assert counted["registration"].stripe == ["POST /v1/checkout/sessions"]
    assert counted["registration with Idempotency-Key"].stripe == ["POST /v1/checkout/sessions"]
    webhook = counted["webhook checkout.session.completed"]
    assert (webhook.stripe_reads, webhook.stripe_writes) == (1, 0)
    # A superseded token is refused too (its code, session_superseded, is tested in test_attendance)
    assert counted["heartbeat, superseded token (401)"].status == 401
    # Asking for an access code is the same one write whether or not the email holds a seat: nothing to measure
    known, unknown = (
        counted[f"access code request, {who} (202)"] for who in ("a paid seat's email", "an unknown email")
    )
    assert known.aws == unknown.aws == {"dynamodb.UpdateItem": 1, "dynamodb.PutItem": 1}
