"""A Stripe stand-in: an in-memory server speaking Stripe's v1 HTTP API for the Checkout, refund, dispute and
event subset the conference backend uses, so the official SDK works against it unmodified, and delivering
webhooks signed exactly as Stripe signs them."""

from infra.stripe_standin.app import StripeStandIn
from infra.stripe_standin.server import StripeStandInServer
from infra.stripe_standin.webhooks import Attempt, Delivery

__all__ = ["Attempt", "Delivery", "StripeStandIn", "StripeStandInServer"]
