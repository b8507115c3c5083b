"""The Invoice API subset through the official SDK: a send_invoice invoice made, finalized and sent, then paid on
its hosted page, by the test route (card or out of band), voided or marked uncollectible, each with its event."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from infra.stripe_standin import StripeStandInServer
from tests.integration.stripe_standin.conftest import WebhookReceiver, as_dict


def sent_invoice(client: stripe.StripeClient, *, seats: int = 2) -> stripe.Invoice:
    customer = client.v1.customers.create(params={"email": "ap@agency.gov", "name": "Springfield PD AP"})
    invoice = client.v1.invoices.create(
        params={
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "payment_settings": {"payment_method_types": ["card", "us_bank_account", "customer_balance"]},
            "custom_fields": [{"name": "PO number", "value": "PO-1234"}],
            "metadata": {"registration_id": "reg_123"},
            "pending_invoice_items_behavior": "exclude",
        },
        options={"idempotency_key": f"invoice:{customer.id}"},
    )
    for seat in range(seats):
        client.v1.invoice_items.create(
            params={
                "customer": customer.id,
                "invoice": invoice.id,
                "amount": 20000,
                "currency": "usd",
                "description": f"Seat {seat + 1}",
            }
        )
    client.v1.invoices.finalize_invoice(invoice.id)
    return client.v1.invoices.send_invoice(invoice.id)


def test_an_invoice_is_finalized_with_its_due_date_and_page_and_sent(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    # When
    invoice = as_dict(sent_invoice(client))

    # Then it is open for the seats' total, due in 30 days, with the PO number and its hosted page
    assert (invoice["status"], invoice["amount_due"], invoice["collection_method"]) == ("open", 40000, "send_invoice")
    assert invoice["due_date"] - invoice["status_transitions"]["finalized_at"] == 30 * 24 * 60 * 60
    assert invoice["custom_fields"] == [{"name": "PO number", "value": "PO-1234"}]
    assert invoice["payment_settings"]["payment_method_types"] == ["card", "us_bank_account", "customer_balance"]
    assert [line["amount"] for line in invoice["lines"]["data"]] == [20000, 20000]
    page = requests.get(invoice["hosted_invoice_url"], timeout=10)
    assert page.status_code == 200 and "PO-1234" in page.text and "Pay" in page.text
    # And the API's events came signed, in the background
    receiver.wait_for(2)
    assert receiver.types == ["invoice.finalized", "invoice.sent"]


def test_a_finalized_invoice_takes_no_more_items_and_is_not_finalized_twice(client: stripe.StripeClient) -> None:
    invoice = sent_invoice(client, seats=1)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(
            params={"customer": str(invoice.customer), "invoice": invoice.id, "amount": 1, "currency": "usd"}
        )


@pytest.mark.parametrize("flow", ["card", "out_of_band"])
def test_the_test_route_pays_an_invoice_and_delivers_invoice_paid(
    client: stripe.StripeClient, server: StripeStandInServer, receiver: WebhookReceiver, flow: str
) -> None:
    # Given
    invoice = sent_invoice(client)
    receiver.wait_for(2)

    # When
    answer = requests.post(f"{server.url}/_test/invoices/{invoice.id}/pay", json={"flow": flow}, timeout=10)

    # Then
    assert answer.status_code == 200
    assert [e["type"] for e in answer.json()["events"]] == ["invoice.paid"]
    paid: dict[str, Any] = as_dict(client.v1.invoices.retrieve(invoice.id, params={"expand": ["payments"]}))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 40000, 0)
    if flow == "card":
        [payment] = paid["payments"]["data"]
        intent = client.v1.payment_intents.retrieve(payment["payment"]["payment_intent"])
        # As in Stripe, the invoice's metadata is not copied onto its intent: the invoice payment leads back to it
        assert (intent.status, intent.amount, "registration_id" in intent.metadata) == ("succeeded", 40000, False)
        found = client.v1.invoice_payments.list(
            params={"payment": {"type": "payment_intent", "payment_intent": intent.id}, "expand": ["data.invoice"]}
        )
        [paid_by] = [as_dict(payment) for payment in found.data]
        assert paid_by["invoice"]["metadata"]["registration_id"] == "reg_123"
    else:
        assert (paid["payments"]["data"], paid["amount_paid_off_stripe"]) == ([], 40000)
    # And a paid invoice is paid once and cannot be voided
    again = requests.post(f"{server.url}/_test/invoices/{invoice.id}/pay", json={}, timeout=10)
    assert again.status_code == 400
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(invoice.id)


def test_the_hosted_page_s_pay_button_pays_by_card(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    invoice = sent_invoice(client, seats=1)
    assert invoice.hosted_invoice_url is not None
    answer = requests.post(f"{invoice.hosted_invoice_url}/pay", timeout=10)
    assert answer.status_code == 200 and "has been paid" in answer.text
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert "invoice.paid" in [r.event.type for r in receiver.wait_for(3) if r.event]


def test_void_and_uncollectible_end_an_open_invoice(
    client: stripe.StripeClient, server: StripeStandInServer, receiver: WebhookReceiver
) -> None:
    voided, uncollectible = sent_invoice(client), sent_invoice(client)
    answer = requests.post(f"{server.url}/_test/invoices/{voided.id}/void", timeout=10)
    assert [e["type"] for e in answer.json()["events"]] == ["invoice.voided"]
    assert client.v1.invoices.retrieve(voided.id).status == "void"
    marked = client.v1.invoices.mark_uncollectible(uncollectible.id)
    assert marked.status == "uncollectible"
    receiver.wait_for(6)
    assert receiver.types.count("invoice.marked_uncollectible") == 1
    # An uncollectible invoice may still be paid out of band, as in Stripe; a voided one may not.
    assert client.v1.invoices.pay(uncollectible.id, params={"paid_out_of_band": True}).status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(voided.id, params={"paid_out_of_band": True})


def test_unmodelled_invoice_parameters_are_refused_by_name(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "ap@agency.gov"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create(params={"customer": customer.id, "collection_method": "send_invoice"})
    assert refused.value.param == "days_until_due"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create(params={"customer": customer.id, "due_date": 1})
    assert refused.value.param == "due_date"


def test_a_checkout_session_may_ask_for_an_invoice(client: stripe.StripeClient, create_session: Any) -> None:
    session = create_session(invoice_creation={"enabled": True})
    assert as_dict(client.v1.checkout.sessions.retrieve(session.id))["invoice_creation"]["enabled"] is True
