"""`python -m infra.stripe_standin`: serve the stand-in in the foreground for the local dev stack."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from werkzeug.serving import make_server

from infra.stripe_standin.app import StripeStandIn

_WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - compared against, not bound


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.stripe_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("STRIPE_PORT", "12111")), help="env STRIPE_PORT")
    parser.add_argument("--webhook-url", default=None, help="where events are POSTed; omit to only record them")
    parser.add_argument("--public-url", default=None, help="base of Checkout URLs (default http://HOST:PORT)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LOCAL_STRIPE_SECRET_KEY", "sk_test_local"),
        help="env LOCAL_STRIPE_SECRET_KEY",
    )
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("LOCAL_STRIPE_WEBHOOK_SECRET", "whsec_local_development"),
        help="env LOCAL_STRIPE_WEBHOOK_SECRET",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    standin = StripeStandIn(api_key=args.api_key, webhook_secret=args.webhook_secret, webhook_url=args.webhook_url)
    server = make_server(args.host, args.port, standin, threaded=True)
    # A wildcard bind address is no place for a browser to go; Checkout URLs then name the loopback address.
    browsable_host = "127.0.0.1" if args.host in _WILDCARD_HOSTS else args.host
    standin.public_url = args.public_url or f"http://{browsable_host}:{server.server_port}"
    print(f"Stripe stand-in listening on http://{browsable_host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
        server.server_close()


if __name__ == "__main__":
    main()
