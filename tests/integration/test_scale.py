"""The scale run's short version (make scale runs N = 1,000 to 20,000): the day's reminder job and the certificate
job over N attendees written straight into the table, while SES throttles a share of the sends; every attendee
gets one reminder and one certificate, none lost or doubled, in batches whose calls per attendee do not grow."""

from __future__ import annotations

from bench.scale_run import measure


def test_the_bulk_sends_lose_and_double_nothing_under_ses_throttling(
    local_stack, clean_tables, conference_time
) -> None:
    # Given 30 attendees with a full attendance, When both jobs run while SES throttles a sixth of the sends
    run = measure(30, throttle_rate=1 / 6, running=local_stack)
    summary = run.summary()
    # Then SES did throttle, and each attendee got exactly one reminder and one certificate
    assert summary["ses_throttled"] >= 3
    assert (summary["lost"], summary["doubled"], summary["mails"]) == (0, 0, 60)
    # And each mail cost one SES send that went out (plus the throttled ones) and a few table calls: 10.6 per reminder
    # and 14.0 per certificate here, 9.6 and 12.3 unthrottled (a throttled batch comes back without the seats done)
    for phase, table_calls in (("reminder_per_attendee", 12), ("certificates_per_attendee", 16)):
        assert summary[phase]["dynamodb"] < table_calls, summary
        assert summary[phase]["invocations"] < 0.5, summary
