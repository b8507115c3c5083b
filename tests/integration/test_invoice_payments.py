"""Paying by invoice over HTTP, through the deployed stack's handlers, the stream and the Stripe stand-in: the
request, finance's approval (a real invoice, confirmations at once), payment by card on the hosted page and out of
band, a voided invoice, a rejection, a duplicate event, and the reconciler finding a paid invoice whose webhook was
lost. The rules' every order and branch are pinned against fakes in tests/unit/test_invoices.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from infra.apigw import LambdaContext, LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, group, individual
from infra.stripe_standin import StripeStandIn
from shared.adapters.stripe_gateway import StripeInvoiceGateway, stripe_client
from shared.conference.models import Money
from shared.payments.invoices import InvoiceLine, InvoiceRequest
from tests.integration.conftest import ADMIN, drain

BILLING = {"method": "invoice", "po_number": "PO-1234", "billing_email": "ap@agency.gov", "billing_name": "AP Dept"}


def request_invoice(api: LocalHttpApi, body: dict) -> dict:
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body | {"payment": BILLING}))
    assert response.status == 201, response.body
    created = response.json()
    assert created["status"] == "invoice_requested" and "checkout_url" not in created
    return created


def approve(api: LocalHttpApi, registration_id: str, headers: dict[str, str]) -> dict:
    response = api.request("POST", f"/admin/registrations/{registration_id}/invoice", headers=headers | JSON)
    assert response.status == 202, response.body
    return response.json()


def status_of(api: LocalHttpApi, registration_id: str) -> str:
    return str(api.request("GET", f"/registrations/{registration_id}").json()["status"])


def mails(to: str) -> list[tuple[str, str]]:
    """(subject, plain text) of each email sent to `to`, oldest first."""
    found = []
    for mail in LocalMailbox().emails():
        if to in mail.to:
            body = mail.parsed().get_body(preferencelist=("plain",))
            assert body is not None
            found.append((mail.subject, str(body.get_content())))
    return found


def test_an_agency_s_invoice_from_request_to_payment_by_card(
    api, stripe_standin: StripeStandIn, stream, organiser
) -> None:
    # Given a group asks to pay by invoice: nothing is held, nothing is at Stripe
    created = request_invoice(api, group(["o1@pd.example.org", "o2@pd.example.org"]))
    registration_id = created["registration_id"]
    assert created["amount"] == {"amount": 40000, "currency": "usd"}

    # When a viewer tries to approve it, then finance approves it (twice: the second is refused)
    viewer = api.request("POST", f"/admin/registrations/{registration_id}/invoice", headers=organiser("viewer") | JSON)
    assert viewer.status == 403
    sent = approve(api, registration_id, organiser("finance"))
    again = api.request("POST", f"/admin/registrations/{registration_id}/invoice", headers=organiser("finance") | JSON)
    assert (again.status, again.json()["code"]) == (409, "invalid_transition")
    drain(stripe_standin, stream)

    # Then Stripe holds one sent invoice: a line per seat, net 30, the PO number, card and bank payments
    invoice = stripe_standin._ledger.get(sent["invoice_id"], "invoice")
    assert (invoice["status"], invoice["amount_due"], invoice["collection_method"]) == ("open", 40000, "send_invoice")
    assert invoice["custom_fields"] == [{"name": "PO number", "value": "PO-1234"}]
    assert invoice["payment_settings"]["payment_method_types"] == ["card", "us_bank_account", "customer_balance"]
    bank_transfer = invoice["payment_settings"]["payment_method_options"]["customer_balance"]
    assert bank_transfer == {"bank_transfer": {"type": "us_bank_transfer"}, "funding_type": "bank_transfer"}
    assert len(invoice["lines"]["data"]) == 2 and invoice["due_date"] - invoice["effective_at"] == 30 * 86400
    # And the registration is invoiced, on finance's list with its due date; each attendee is confirmed already
    assert status_of(api, registration_id) == "invoiced"
    listed = api.request("GET", "/admin/registrations", query="status=invoiced", headers=ADMIN).json()["items"]
    assert [(i["registration_id"], i["invoice"]["invoice_id"]) for i in listed] == [
        (registration_id, sent["invoice_id"])
    ]
    assert listed[0]["invoice"]["due_at"] is not None
    for email in ("o1@pd.example.org", "o2@pd.example.org"):
        assert [subject for subject, _ in mails(email) if "confirmed" in subject], email
    assert mails("ap@agency.gov") == []  # no receipt before the money

    # When the agency pays on the hosted invoice page, and Stripe delivers invoice.paid twice
    page = requests.post(f"{sent['hosted_invoice_url']}/pay", timeout=10)
    assert page.status_code == 200
    drain(stripe_standin, stream)
    [paid_event] = [e for e in stripe_standin._ledger.events({}) if e["type"] == "invoice.paid"]
    assert stripe_standin.resend(paid_event["id"]).status_code == 200
    drain(stripe_standin, stream)

    # Then it is paid once, and the billing contact gets one receipt with the PO number and the seats
    assert status_of(api, registration_id) == "paid"
    [(subject, receipt)] = mails("ap@agency.gov")
    assert "Receipt" in subject
    assert "PO number: PO-1234" in receipt and "Total paid: $400.00" in receipt and "o2@pd.example.org" in receipt
    # And the attendees' confirmations were not sent again
    assert len([s for s, _ in mails("o1@pd.example.org") if "confirmed" in s]) == 1

    # And finance can refund it through Stripe: the charge, which names no registration, leads back to the invoice's
    refund = api.request("POST", f"/admin/registrations/{registration_id}/refund", headers=organiser("finance") | JSON)
    assert refund.status == 202, refund.body
    drain(stripe_standin, stream)
    assert status_of(api, registration_id) == "refunded"


def test_an_invoice_paid_out_of_band_pays_and_a_voided_one_cancels_and_ends_the_codes(
    api, stripe_standin: StripeStandIn, stripe_url: str, stream
) -> None:
    # Given two individuals' invoices, approved and confirmed
    check = request_invoice(api, individual(email="check@pd.example.org"))
    void = request_invoice(api, individual(email="void@pd.example.org"))
    sent = {r["registration_id"]: approve(api, r["registration_id"], ADMIN) for r in (check, void)}
    drain(stripe_standin, stream)
    [(_, confirmation)] = [m for m in mails("void@pd.example.org") if "confirmed" in m[0]]
    code = re.search(r"Access code: (\S+)", confirmation)
    assert code is not None
    login = {"email": "void@pd.example.org", "access_code": code[1]}
    assert api.request("POST", "/logins", headers=JSON, body=encoded(login)).status == 200

    # When one is paid by check (recorded in Stripe) and the other voided
    paid = requests.post(
        f"{stripe_url}/_test/invoices/{sent[check['registration_id']]['invoice_id']}/pay",
        json={"flow": "out_of_band"},
        timeout=10,
    )
    voided = requests.post(
        f"{stripe_url}/_test/invoices/{sent[void['registration_id']]['invoice_id']}/void",
        timeout=10,
    )
    assert [e["status_code"] for e in paid.json()["events"] + voided.json()["events"]] == [200, 200]
    drain(stripe_standin, stream)

    # Then the check pays it; the void cancels it, its code stops working and its email may register again
    assert status_of(api, check["registration_id"]) == "paid"
    assert status_of(api, void["registration_id"]) == "cancelled"
    assert api.request("POST", "/logins", headers=JSON, body=encoded(login)).status == 401
    again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email="void@pd.example.org")))
    assert again.status == 201


def test_a_rejected_request_is_cancelled_and_only_a_request_can_be_rejected(api, stripe_standin, stream) -> None:
    created = request_invoice(api, individual(email="nope@pd.example.org"))
    rejected = api.request("POST", f"/admin/registrations/{created['registration_id']}/reject", headers=ADMIN | JSON)
    assert (rejected.status, rejected.json()["status"]) == (200, "cancelled")
    twice = api.request("POST", f"/admin/registrations/{created['registration_id']}/reject", headers=ADMIN | JSON)
    assert (twice.status, twice.json()["code"]) == (409, "invalid_transition")
    drain(stripe_standin, stream)
    assert mails("nope@pd.example.org") == []


def test_the_reconciler_settles_a_paid_invoice_whose_webhook_was_lost(
    api, stripe_standin: StripeStandIn, stream
) -> None:
    # Given an approved invoice paid while the webhook endpoint was unreachable
    created = request_invoice(api, individual(email="lost@pd.example.org"))
    sent = approve(api, created["registration_id"], ADMIN)
    url, stripe_standin.webhook_url = stripe_standin.webhook_url, None
    try:
        stripe_standin.pay_invoice(sent["invoice_id"], "out_of_band")
    finally:
        stripe_standin.webhook_url = url
    assert status_of(api, created["registration_id"]) == "invoiced"

    # When the scheduled reconciler runs
    from functions.payment_reconciler import handler

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(handler, "PENDING_FOR", timedelta(0))
        report = handler.lambda_handler({"source": "aws.scheduler"}, LambdaContext("PaymentReconciler"))

    # Then it read the invoice back and settled it
    assert report["settled"] == 1
    assert status_of(api, created["registration_id"]) == "paid"


def stripe_standin_url(stripe_standin: StripeStandIn) -> str:
    return stripe_standin.public_url


def test_the_adapter_makes_one_invoice_however_often_an_approval_is_retried(stripe_standin: StripeStandIn) -> None:
    # Given an approval's request, sent once (say the registration's write then failed)
    gateway = StripeInvoiceGateway(lambda: stripe_client("sk_test_local", stripe_standin.public_url))
    request = InvoiceRequest(
        registration_id="reg_" + "r" * 24,
        billing_email="ap@agency.gov",
        billing_name="AP Dept",
        po_number=None,
        days_until_due=45,
        description="A retried approval",
        lines=(InvoiceLine("att_1", "One seat", Money(amount=20000, currency="usd")),),
    )
    first = gateway.send_invoice(request)

    # When it is sent again
    again = gateway.send_invoice(request)

    # Then Stripe has one invoice, of one line, with no PO field, due in 45 days
    assert again == first
    invoices = [
        i for i in stripe_standin._ledger.invoices({}) if i["metadata"]["registration_id"] == request.registration_id
    ]
    assert [i["id"] for i in invoices] == [first.invoice_id]
    assert (len(invoices[0]["lines"]["data"]), invoices[0]["custom_fields"]) == (1, None)
    assert first.due_at is not None and invoices[0]["due_date"] - invoices[0]["effective_at"] == 45 * 86400
