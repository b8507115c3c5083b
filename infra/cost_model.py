"""What a conference costs on AWS, from the template's settings, the agenda and list prices.

`make cost` prints the table in the README. Every assumption is a named constant below, each with where
it comes from; change one and the table follows. Prices: us-east-1 list prices, free tiers excluded,
as of 2026 (see ../README.md "Cost model"); check them against the pricing pages before quoting.
The model is per paid seat, so the variable cost is linear in attendees by construction; the fixed
monthly lines are what the stack costs while it exists.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

from infra.template import load_template
from shared.conference import DEFAULT_CONFERENCE_FILE, load_conference

# --- Prices (USD) ---
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
HTTP_API_PER_REQUEST = 1.00 / 1e6
DYNAMODB_PER_WRU = 0.625 / 1e6  # on-demand, after the November 2024 price cut
DYNAMODB_PER_RRU = 0.125 / 1e6
SES_PER_EMAIL = 0.10 / 1000
SES_PER_ATTACHMENT_GB = 0.12
S3_PER_PUT = 0.005 / 1000
LOGS_PER_GB_INGESTED = 0.50
XRAY_PER_TRACE = 5.00 / 1e6
SECRET_PER_MONTH = 0.40
ALARM_METRIC_PER_MONTH = 0.10  # a metric-math alarm is billed per metric it reads
CUSTOM_METRIC_PER_MONTH = 0.30
STRIPE_PERCENT, STRIPE_FIXED = 0.029, 0.30  # US cards, for comparison only
CUSTOM_METRICS = 16  # metric names the functions emit through Powertools (one dimension: service)

# --- Behaviour (per paid seat unless named otherwise) ---
CHECKOUTS_PER_SEAT = 1.3  # abandoned Checkouts: registrations that never pay
STATUS_POLLS_PER_REGISTRATION = 3  # the status page follows the registration until `paid`
WEBHOOKS_PER_SEAT = 1.3  # checkout.session.completed, plus .expired for the abandoned ones
STRIPE_WAIT_SECONDS = 1.0  # Checkout Session create: billed while the function waits (performance.md §2)
LOGINS_PER_ATTENDEE = 3  # one a day
ATTENDED_SHARE = 0.8  # share of the scheduled minutes an attendee's page is open; one heartbeat a minute
PROGRESS_READS_PER_ATTENDEE = 6  # GET /me/attendance
VERIFICATIONS_PER_CERTIFICATE = 0.5  # employers and licensing boards checking a certificate
ELIGIBLE_SHARE = 0.9
TRACED_SHARE = 0.05  # X-Ray's default sampling: 1 a second, then 5%
LOG_BYTES_PER_INVOCATION = 1200  # JSON platform lines (start, report) and one or two application lines
ACCESS_LOG_BYTES_PER_REQUEST = 450
CONFIRMATION_BYTES, CERTIFICATE_ATTACHMENT_BYTES = 12_000, 63_000  # a 46 KB PDF, base64-encoded
# A heartbeat adds its minute to a set on the attendee's item (so the session check is the write's
# condition); a write costs one unit per KB of the item, which grows as minutes are credited.
ATTENDEE_ITEM_BYTES = 700
BYTES_PER_CREDITED_MINUTE = 4  # a small number in a set, plus the session attribute's name spread over its minutes


@dataclass(frozen=True)
class Operation:
    """One kind of work, `per_seat` times per paid seat: its function, HTTP requests, DynamoDB units, emails."""

    name: str
    function: str
    per_seat: float
    duration_ms: float
    http: bool = True
    wru: float = 0
    rru: float = 0
    emails: float = 0
    attachment_bytes: float = 0
    s3_puts: float = 0


def heartbeat_write_units(heartbeats: int) -> float:
    """Mean write units of the heartbeats as the attendee's item grows from its first minute to its last."""
    if heartbeats <= 0:
        return 1.0
    units = [math.ceil((ATTENDEE_ITEM_BYTES + k * BYTES_PER_CREDITED_MINUTE) / 1024) for k in range(1, heartbeats + 1)]
    return sum(units) / len(units)


def operations(heartbeats_per_seat: float) -> list[Operation]:
    """Durations at 512 MB on arm64 (about 0.3 vCPU): the local in-process figures times 3 plus AWS round trips.

    Capacity units from the exact calls per operation (README): items are 1-2 KB, a transactional write
    costs twice, a write to an item in the status index costs again for the index.
    """
    return [
        Operation("register", "RegistrationApiFunction", CHECKOUTS_PER_SEAT, STRIPE_WAIT_SECONDS * 1000 + 40, wru=12),
        Operation("registration status", "RegistrationApiFunction", STATUS_POLLS_PER_REGISTRATION, 15, rru=1),
        Operation("Stripe webhook", "StripeWebhookFunction", WEBHOOKS_PER_SEAT, 350, wru=5, rru=2),
        Operation(
            "confirmation, coin",
            "StreamDispatcherFunction",
            3,
            120,
            http=False,
            wru=4,
            rru=1,
            emails=1 / 3,
            attachment_bytes=0,
        ),
        Operation("login", "AttendanceApiFunction", LOGINS_PER_ATTENDEE, 40, wru=2, rru=6),
        Operation(
            "heartbeat",
            "AttendanceApiFunction",
            heartbeats_per_seat,
            12,
            wru=heartbeat_write_units(round(heartbeats_per_seat)),
        ),
        Operation("my attendance", "AttendanceApiFunction", PROGRESS_READS_PER_ATTENDEE, 25, rru=14),
        Operation("issue certificate", "CertificateIssuerFunction", ELIGIBLE_SHARE, 30, http=False, wru=6, rru=8),
        Operation(
            "certificate PDF + email",
            "StreamDispatcherFunction",
            ELIGIBLE_SHARE * 2,
            150,
            http=False,
            wru=3,
            rru=1,
            emails=0.5,
            attachment_bytes=CERTIFICATE_ATTACHMENT_BYTES / 2,
            s3_puts=0.5,
        ),
        Operation(
            "verify certificate", "CertificateApiFunction", ELIGIBLE_SHARE * VERIFICATIONS_PER_CERTIFICATE, 15, rru=1
        ),
    ]


def function_settings(template: dict[str, Any]) -> tuple[dict[str, int], str]:
    """Memory per function (MB) and the architecture, as the template sets them."""
    defaults = template["Globals"]["Function"]
    memory = {
        name: int(resource["Properties"].get("MemorySize", defaults["MemorySize"]))
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    return memory, str(defaults.get("Architectures", ["x86_64"])[0])


def fixed_monthly(template: dict[str, Any]) -> dict[str, float]:
    resources = template["Resources"].values()
    secrets = sum(1 for r in resources if r["Type"] == "AWS::SecretsManager::Secret")
    alarm_metrics = sum(
        sum(1 for m in r["Properties"].get("Metrics", []) if "MetricStat" in m) or 1
        for r in resources
        if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    custom_metrics = CUSTOM_METRICS
    return {
        "Secrets Manager": secrets * SECRET_PER_MONTH,
        "CloudWatch alarms": alarm_metrics * ALARM_METRIC_PER_MONTH,
        "CloudWatch custom metrics": custom_metrics * CUSTOM_METRIC_PER_MONTH,
    }


def per_seat_costs(template: dict[str, Any], scheduled_minutes: int) -> dict[str, float]:
    """Dollars per paid seat by service."""
    memory, architecture = function_settings(template)
    costs = dict.fromkeys(("Lambda", "API Gateway", "DynamoDB", "SES", "S3", "CloudWatch Logs", "X-Ray"), 0.0)
    for op in operations(heartbeats_per_seat=scheduled_minutes * ATTENDED_SHARE):
        gb_seconds = memory[op.function] / 1024 * op.duration_ms / 1000
        costs["Lambda"] += op.per_seat * (LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_PER_GB_SECOND[architecture])
        costs["API Gateway"] += op.per_seat * HTTP_API_PER_REQUEST * op.http
        costs["DynamoDB"] += op.per_seat * (op.wru * DYNAMODB_PER_WRU + op.rru * DYNAMODB_PER_RRU)
        costs["SES"] += op.per_seat * (op.emails * SES_PER_EMAIL + op.attachment_bytes / 1e9 * SES_PER_ATTACHMENT_GB)
        costs["S3"] += op.per_seat * op.s3_puts * S3_PER_PUT
        log_bytes = LOG_BYTES_PER_INVOCATION + ACCESS_LOG_BYTES_PER_REQUEST * op.http
        costs["CloudWatch Logs"] += op.per_seat * log_bytes / 1e9 * LOGS_PER_GB_INGESTED
        costs["X-Ray"] += op.per_seat * TRACED_SHARE * XRAY_PER_TRACE
    return costs


def report(sizes: tuple[int, ...] = (2_000, 100_000)) -> dict[str, Any]:
    template = load_template()
    conference = load_conference(DEFAULT_CONFERENCE_FILE)
    scheduled = sum(session.scheduled_minutes for session in conference.sessions)
    per_seat = per_seat_costs(template, scheduled)
    fixed = fixed_monthly(template)
    fee = conference.fee.amount / 100
    heartbeats = scheduled * ATTENDED_SHARE
    return {
        "scheduled_minutes": scheduled,
        "heartbeats_per_attendee": heartbeats,
        "per_seat": per_seat,
        "per_seat_total": sum(per_seat.values()),
        "fixed_monthly": fixed,
        "sizes": {
            size: {
                "variable": sum(per_seat.values()) * size,
                "fixed_monthly": sum(fixed.values()),
                "stripe_fees": size * (fee * STRIPE_PERCENT + STRIPE_FIXED),
            }
            for size in sizes
        },
    }


def render(figures: dict[str, Any]) -> str:
    sizes = figures["sizes"]
    lines = ["| | per attendee | " + " | ".join(f"{size:,} attendees" for size in sizes) + " |"]
    lines.append("| --- | --- |" + " --- |" * len(sizes))
    for service, cost in sorted(figures["per_seat"].items(), key=lambda item: -item[1]):
        row = " | ".join(f"${cost * size:,.2f}" for size in sizes)
        lines.append(f"| {service} | ${cost:.6f} | {row} |")
    total = figures["per_seat_total"]
    lines.append(
        f"| **AWS, variable** | **${total:.6f}** | " + " | ".join(f"**${total * s:,.2f}**" for s in sizes) + " |"
    )
    fixed = sum(figures["fixed_monthly"].values())
    lines.append(
        "| AWS, fixed per month (secrets, alarms, metrics) | | " + " | ".join(f"${fixed:,.2f}" for _ in sizes) + " |"
    )
    stripe = " | ".join(f"${sizes[s]['stripe_fees']:,.0f}" for s in sizes)
    lines.append(f"| Stripe's fees, for scale (2.9% + $0.30 a seat) | | {stripe} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cost_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    arguments = parser.parse_args(argv)
    figures = report()
    if arguments.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{figures['scheduled_minutes']} scheduled minutes; "
            f"{figures['heartbeats_per_attendee']:.0f} heartbeats per attendee"
        )
        print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
