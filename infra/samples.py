"""Registration bodies as a registrant's browser sends them: for the demo and the tests."""

from __future__ import annotations

import json
from typing import Any


def individual(email: str = "ana.lopez@example.org", **attendee: Any) -> dict[str, Any]:
    return {
        "kind": "individual",
        "attendee": {
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": email,
            "organization": "Springfield PD",
            "job_title": "School Resource Officer",
            "phone": "+1 555 0100",
        }
        | attendee,
        "shipping_address": {
            "line1": "1 Main St",
            "line2": None,
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "country": "US",
        },
    }


def group(emails: list[str], purchaser_email: str = "chief@example.org") -> dict[str, Any]:
    return {
        "kind": "group",
        "purchaser": {"name": "Chief Ray Park", "email": purchaser_email, "organization": "Springfield PD"},
        "attendees": [
            {
                "first_name": f"Officer{position}",
                "last_name": "Park",
                "email": email,
                "organization": "Springfield PD",
                "job_title": "School Resource Officer",
            }
            for position, email in enumerate(emails, start=1)
        ],
    }


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()


JSON = {"content-type": "application/json"}
