"""The local stack's play of SES's event publishing (infra/local_ses_events.py): what the mailbox simulator makes
SES publish for a send, EventBridge's matching of the template's pattern, and only sends through a configuration
set publishing anything."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.local_ses_events import EventRule, LocalSesEvents, SentMail, event_rules, matches
from shared.reactions.email_events import parse_ses_event

PATTERN = {
    "source": ["aws.ses"],
    "detail-type": ["Email Bounced", "Email Complaint Received", "Email Delivered"],
    "detail": {"mail": {"tags": {"ses:configuration-set": ["conference-set"]}}},
}
TAGS = {"kind": "confirmation", "registration_id": "reg_1", "attendee_id": "att_1"}


def mail(*to: str, configuration_set: str = "conference-set") -> SentMail:
    return SentMail("m-1", "conference@example.org", to, TAGS, configuration_set, datetime(2020, 7, 22, tzinfo=UTC))


def player(received: list[dict[str, Any]]) -> LocalSesEvents:
    rule = EventRule(PATTERN, lambda event, _context: received.append(event), "events")
    return LocalSesEvents([rule], account="123456789012", region="us-east-1")


def test_the_simulator_s_addresses_bounce_complain_and_deliver_as_on_ses() -> None:
    events = player([]).events_of(
        mail("bounce@simulator.amazonses.com", "complaint+x@simulator.amazonses.com", "a@b.org")
    )
    assert [e["detail-type"] for e in events] == [
        "Email Bounced",
        "Email Delivered",
        "Email Complaint Received",
        "Email Delivered",
    ]
    parsed = [parse_ses_event(e["detail"]) for e in events]
    assert [(p.kind, p.recipients, p.attendee_id) for p in parsed if p] == [
        ("bounce", ("bounce@simulator.amazonses.com",), "att_1"),
        ("delivery", ("complaint+x@simulator.amazonses.com",), "att_1"),
        ("complaint", ("complaint+x@simulator.amazonses.com",), "att_1"),
        ("delivery", ("a@b.org",), "att_1"),
    ]
    assert all(matches(PATTERN, e) for e in events)


def test_the_pattern_matches_only_this_configuration_set_s_ses_events() -> None:
    (event,) = player([]).events_of(mail("a@b.org", configuration_set="another-set"))
    assert not matches(PATTERN, event)
    assert not matches(PATTERN, event | {"source": "aws.events"})
    assert matches({"detail": {"mail": {"destination": ["a@b.org"]}}}, event)  # a list matches any of its values


def test_a_send_is_published_once_to_the_matching_functions_and_not_without_a_configuration_set() -> None:
    received: list[dict[str, Any]] = []
    events = player(received)
    answer = {"MessageId": "m-2"}
    with_set: dict[str, Any] = {}
    events._remember_request(
        {"FromEmailAddress": "c@example.org", "Destination": {"ToAddresses": ["bounce@simulator.amazonses.com"]},
         "EmailTags": [{"Name": "registration_id", "Value": "reg_1"}], "ConfigurationSetName": "conference-set"},
        with_set,
    )  # fmt: skip
    events._sent(answer, with_set)
    without: dict[str, Any] = {}
    events._remember_request({"Destination": {"ToAddresses": ["a@b.org"]}}, without)
    events._sent(answer, without)
    assert events.publish_pending() == 1 and events.publish_pending() == 0
    (bounce,) = received
    assert bounce["detail"]["mail"]["messageId"] == "m-2" and bounce["detail"]["mail"]["tags"]["registration_id"] == [
        "reg_1"
    ]


def test_the_template_s_rule_reaches_the_email_events_function() -> None:
    from infra.template import translated_template

    handler = object()
    (rule,) = event_rules(
        translated_template(),
        {"EmailConfigurationSet": "conference-set"},
        {"EmailEventsFunction": (handler, "fn")},  # type: ignore[dict-item]
    )
    assert rule.pattern == PATTERN and rule.handler is handler and rule.function_name == "fn"
