"""SES's event publishing, played locally (moto sends mail but publishes no events).

Every send through the functions' SES client that names a configuration set is seen as SES sees it (the request's
destination, tags and configuration set, and the answer's MessageId) and, once `publish_pending` runs (the local
stack's drain and its background thread), turned into the events SES would publish to EventBridge for it: the
mailbox simulator's `bounce@simulator.amazonses.com` a permanent bounce, `complaint@simulator.amazonses.com` a
delivery then a complaint, any other address a delivery. Each event goes, as EventBridge's default bus would route
it, to every function of the template whose EventBridgeRule pattern matches it (the event's source, detail-type and
detail, with the pattern's references resolved to the deployed names).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.apigw import LambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
SIMULATOR = "simulator.amazonses.com"
DETAIL_TYPE = {"bounce": "Email Bounced", "complaint": "Email Complaint Received", "delivery": "Email Delivered"}


@dataclass(frozen=True)
class SentMail:
    message_id: str
    source: str
    destinations: tuple[str, ...]
    tags: dict[str, str]
    configuration_set: str
    at: datetime


@dataclass(frozen=True)
class EventRule:
    """A function's EventBridgeRule, its pattern's references resolved."""

    pattern: dict[str, Any]
    handler: Handler
    function_name: str


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge's matching for the patterns templates use here: a list of allowed values, or a nested pattern."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        value = event[key]
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif isinstance(value, list):
            if not any(item in wanted for item in value):
                return False
        elif value not in wanted:
            return False
    return True


def event_rules(
    template: dict[str, Any], resources: Mapping[str, str], functions: Mapping[str, tuple[Handler, str]]
) -> list[EventRule]:
    """The translated template's AWS::Events::Rule resources whose targets are functions of the stack."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        properties = resource["Properties"]
        pattern = _resolved(properties.get("EventPattern", {}), resources)
        for target in properties.get("Targets", []):
            arn = target.get("Arn")
            if isinstance(arn, dict) and "Fn::GetAtt" in arn and arn["Fn::GetAtt"][0] in functions:
                handler, name = functions[arn["Fn::GetAtt"][0]]
                found.append(EventRule(pattern=pattern, handler=handler, function_name=name))
    return found


def _resolved(value: Any, resources: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return resources.get(value["Ref"], value["Ref"])
        return {key: _resolved(item, resources) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, resources) for item in value]
    return value


class LocalSesEvents:
    def __init__(self, rules: list[EventRule], *, account: str, region: str) -> None:
        self._rules = rules
        self._account = account
        self._region = region
        self._pending: list[SentMail] = []
        self._lock = threading.Lock()
        self.published_total = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float = 0.5) -> None:
        """Publish on a thread of its own, as SES does (make run); tests call `publish_pending` through drain."""
        self._thread = threading.Thread(target=self._run, args=(interval,), name="ses-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.publish_pending()

    def attach(self, client: Any) -> None:
        """See each SendEmail of this SES v2 client (the one the functions share in this process)."""
        client.meta.events.register("provide-client-params.sesv2.SendEmail", self._remember_request)
        client.meta.events.register("after-call.sesv2.SendEmail", self._sent)

    @staticmethod
    def _remember_request(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["local_ses_request"] = dict(params)

    def _sent(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        request = context.get("local_ses_request") or {}
        if "MessageId" not in parsed or not request.get("ConfigurationSetName"):
            return  # refused, or sent without a configuration set: SES publishes nothing
        mail = SentMail(
            message_id=str(parsed["MessageId"]),
            source=str(request.get("FromEmailAddress", "")),
            destinations=tuple(request.get("Destination", {}).get("ToAddresses", [])),
            tags={str(tag["Name"]): str(tag["Value"]) for tag in request.get("EmailTags", [])},
            configuration_set=str(request["ConfigurationSetName"]),
            at=datetime.now(UTC),
        )
        with self._lock:
            self._pending.append(mail)

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()

    def publish_pending(self) -> int:
        """Publish the events of every send seen so far; returns how many events were delivered to a function."""
        with self._lock:
            sent, self._pending = self._pending, []
        delivered = 0
        for mail in sent:
            for event in self.events_of(mail):
                for rule in self._rules:
                    if not matches(rule.pattern, event):
                        continue
                    delivered += 1
                    try:
                        rule.handler(event, LambdaContext(function_name=rule.function_name, timeout_seconds=15))
                    except Exception:  # EventBridge retries; here the failure is logged and the event dropped
                        log.exception("the %s event of %s failed in %s", event["detail-type"], mail.message_id, rule)
        self.published_total += delivered
        return delivered

    def events_of(self, mail: SentMail) -> list[dict[str, Any]]:
        """The EventBridge events SES publishes for this message, as the mailbox simulator makes them."""
        events = []
        for address in mail.destinations:
            local, _, domain = address.lower().partition("@")
            if domain == SIMULATOR and local.startswith("bounce"):
                kinds = ["bounce"]
            elif domain == SIMULATOR and local.startswith("complaint"):
                kinds = ["delivery", "complaint"]
            else:
                kinds = ["delivery"]
            events += [self._event(kind, mail, address) for kind in kinds]
        return events

    def _event(self, kind: str, mail: SentMail, address: str) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        detail: dict[str, Any] = {
            "eventType": kind.capitalize(),
            "mail": {
                "timestamp": mail.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "source": mail.source,
                "sendingAccountId": self._account,
                "messageId": mail.message_id,
                "destination": list(mail.destinations),
                "headersTruncated": False,
                # SES adds its own tags to the sender's, the configuration set's name among them.
                "tags": {name: [value] for name, value in mail.tags.items()}
                | {"ses:configuration-set": [mail.configuration_set], "ses:from-domain": [mail.source.split("@")[-1]]},
            },
        }
        if kind == "bounce":
            detail["bounce"] = {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": now,
                "feedbackId": str(uuid.uuid4()),
                "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
            }
        elif kind == "complaint":
            detail["complaint"] = {
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": now,
                "feedbackId": str(uuid.uuid4()),
                "complaintFeedbackType": "abuse",
                "userAgent": "Amazon SES Mailbox Simulator",
            }
        else:
            detail["delivery"] = {
                "timestamp": now,
                "processingTimeMillis": 1,
                "recipients": [address],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a1-2.smtp-out.amazonses.com",
            }
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE[kind],
            "source": "aws.ses",
            "account": self._account,
            "time": now,
            "region": self._region,
            "resources": [f"arn:aws:ses:{self._region}:{self._account}:configuration-set/{mail.configuration_set}"],
            "detail": detail,
        }
