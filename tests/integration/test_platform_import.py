"""Attendance from a Zoom participant report through the admin route, against moto: the rows matched to paid seats
by email and stored beside the heartbeats (one write per attendee, sets), a re-import that changes nothing, a malformed
file refused with nothing stored, who may call it, the attendee's reasons, the agency roster, and the certificate
that counts the imported minutes. The parsing and the minute arithmetic are pinned in tests/unit/test_platform_import.py.
"""

from __future__ import annotations

import csv
import io
import secrets

from infra.samples import JSON, encoded
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.conference import load_conference
from tests.integration.conftest import drain
from tests.integration.test_certificates import certificate_emails, paid_attendee, pdf_text

KEYNOTE = "d1-implicit-bias"  # 11:30-12:45 CDT on 5 August 2020, 75 minutes
ROUTE = f"/admin/sessions/{KEYNOTE}/attendance-import"
CSV = {"content-type": "text/csv"}


def report(*rows: tuple[str, str, str, str]) -> bytes:
    lines = ["Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest"]
    lines += [f"{name},{email},08/05/2020 {joined},08/05/2020 {left},1,No" for name, email, joined, left in rows]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def test_a_zoom_report_credits_matched_attendees_once_and_shows_in_their_attendance(
    api, stripe_standin, stream, stack, organiser
) -> None:
    # Given a paid attendee who signed in on the conference page
    person = paid_attendee(api, stripe_standin, stream, f"zoom.{secrets.token_hex(4)}@example.org")
    login = api.request(
        "POST", "/logins", headers=JSON, body=encoded({"email": person["email"], "access_code": person["code"]})
    ).json()
    body = report(
        ("Ana Lopez", person["email"].upper(), "11:29:00 AM", "12:00:00 PM"),
        ("Ana Lopez", person["email"], "11:55:00 AM", "12:15:00 PM"),  # rejoined, overlapping
        ("Guest", "", "11:30:00 AM", "11:45:00 AM"),
    )

    # When the support organiser uploads the keynote's report, twice
    first = api.request("POST", ROUTE, headers=organiser("support") | CSV, body=body)
    again = api.request("POST", ROUTE, headers=organiser("support") | CSV, body=body)

    # Then both answers are the same: two rows matched, one not, 45 minutes (11:30 to 12:15, the overlap once)
    assert first.status == 200, first.body
    expected = {
        "matched": 2,
        "unmatched": 1,
        "minutes_credited": 45,
        "unmatched_sample": [{"line": 4, "name": "Guest", "email": ""}],
    }
    assert first.json() == expected == again.json()
    # And the table holds them once, beside the (empty) heartbeat minutes
    evidence = DynamoAttendanceRepository(stack.resources["MainTable"]).evidence(login["attendee_id"])
    assert evidence.platform == {KEYNOTE: frozenset(range(45))} and evidence.platform_sessions == {KEYNOTE}
    # And the attendee sees them, and where they came from
    mine = api.request("GET", "/me/attendance", headers={"authorization": f"Bearer {login['session_token']}"}).json()
    keynote = next(s for s in mine["sessions"] if s["session_id"] == KEYNOTE)
    assert keynote["minutes_attended"] == 45
    assert "Counted from the streaming platform's participant reports (45 minutes)." in mine["reasons"]

    # And the agency's roster (this registration only) shows the minutes, their source and no certificate yet
    roster = api.request(
        "GET", "/admin/exports/attendance.csv", query=f"registration_id={person['registration_id']}",
        headers=organiser("viewer"),
    )  # fmt: skip
    assert roster.status == 200
    (row,) = list(csv.DictReader(io.StringIO(roster.body.decode("utf-8-sig"))))
    assert (row["registration_id"], row["organization"], row[f"minutes:{KEYNOTE}"]) == (
        person["registration_id"], "Springfield PD", "45",
    )  # fmt: skip
    assert (row["minutes_from_page"], row["minutes_from_platform"], row["certificate_id"]) == ("0", "45", "")


def test_a_malformed_report_is_refused_and_stores_nothing(api, stripe_standin, stream, aws, stack, organiser) -> None:
    person = paid_attendee(api, stripe_standin, stream, f"zoom.{secrets.token_hex(4)}@example.org")
    good = ("Ana Lopez", person["email"], "11:30:00 AM", "12:00:00 PM")
    bad = ("Ben", "ben@example.org", "half past eleven", "12:00:00 PM")

    refused = api.request("POST", ROUTE, headers=organiser("support") | CSV, body=report(good, bad))

    assert refused.status == 422 and refused.json()["code"] == "validation_error"
    assert [e["field"] for e in refused.json()["errors"]] == ["line 3"]
    table = stack.resources["MainTable"]
    scanned = aws.client("dynamodb").scan(TableName=table, FilterExpression="attribute_exists(platform_sessions)")
    assert scanned["Items"] == []


def test_only_support_or_admin_may_import_and_only_csv(api, organiser) -> None:
    body = report(("Ana", "ana@example.org", "11:30:00 AM", "12:00:00 PM"))
    assert api.request("POST", ROUTE, headers=organiser("viewer") | CSV, body=body).json()["code"] == "forbidden"
    assert api.request("POST", ROUTE, headers=organiser("finance") | CSV, body=body).status == 403
    as_json = api.request("POST", ROUTE, headers=organiser("support") | JSON, body=b"{}")
    assert as_json.status == 415 and as_json.json()["code"] == "unsupported_media_type"
    unknown = api.request("POST", "/admin/sessions/nope/attendance-import", headers=organiser("admin") | CSV, body=body)
    assert unknown.status == 404 and unknown.json()["code"] == "not_found"
    roster = api.request(
        "GET", "/admin/exports/attendance.csv", query="registration_id=nope", headers=organiser("viewer")
    )
    assert roster.status == 422 and roster.json()["errors"][0]["field"] == "registration_id"


def test_the_certificate_counts_the_imported_minutes(api, stripe_standin, stream, stack, organiser) -> None:
    # Given an attendee who never opened the conference page, in the reports of the whole agenda
    person = paid_attendee(api, stripe_standin, stream, f"zoom.{secrets.token_hex(4)}@example.org")
    for session in load_conference().sessions:
        start, end = session.starts_at, session.ends_at
        row = ("Ana Lopez", person["email"], start.strftime("%I:%M:%S %p"), end.strftime("%I:%M:%S %p"))
        body = report(row).replace(b"08/05/2020", start.strftime("%m/%d/%Y").encode())
        answer = api.request(
            "POST", f"/admin/sessions/{session.id}/attendance-import", headers=organiser("support") | CSV, body=body
        )
        assert answer.status == 200 and answer.json()["matched"] == 1, answer.body

    # When certificates are issued
    issued = api.request("POST", "/admin/certificates/issue", headers=organiser("support"))
    drain(stripe_standin, stream)

    # Then the report rows count as attending individually and the PDF lists every session with its minutes
    job = api.request("GET", f"/admin/jobs/{issued.json()['job_id']}", headers=organiser("viewer")).json()
    assert (job["queued"], job["sent"], job["state"]) == (1, 1, "done")
    (email,) = certificate_emails(person["email"])
    text, pages = pdf_text(email)
    assert pages == 1 and "Total contact hours 15.5 hours (930 minutes)" in text
