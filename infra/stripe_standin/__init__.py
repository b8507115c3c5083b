"""A Stripe stand-in: an in-memory server speaking Stripe's v1 HTTP API for the Checkout, refund, dispute and
event subset the conference backend uses, so the official SDK works against it unmodified, and delivering
webhooks signed exactly as Stripe signs them.

    standin = StripeStandIn(webhook_url="http://127.0.0.1:3000/webhooks/stripe")
    with StripeStandInServer(standin) as server:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": server.url})
        session = client.v1.checkout.sessions.create(params={...})
        standin.pay(session.id)            # or "async_success" / "async_failure"; webhooks delivered on return
        standin.wait_idle()                # background deliveries (API-triggered events, retries) done

API: /v1/checkout/sessions (create, list, retrieve, expire, line_items), /v1/payment_intents/{id},
/v1/charges/{id}, /v1/refunds (create, retrieve), /v1/disputes/{id}, /v1/events (list, retrieve).
Simulation (JSON, no key): POST /_test/checkout_sessions/{id}/pay|expire|dispute, /_test/disputes/{id}/close,
/_test/events/{id}/resend|deliver. Hosted page: GET /checkout/{id} with Pay and Cancel."""

from infra.stripe_standin.app import StripeStandIn
from infra.stripe_standin.server import StripeStandInServer
from infra.stripe_standin.webhooks import Attempt, Delivery

__all__ = ["Attempt", "Delivery", "StripeStandIn", "StripeStandInServer"]
