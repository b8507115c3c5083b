"""Issue 6's promise over HTTP: with the clock inside a session an attendee logs in, sends heartbeats and
sees the minutes; logging in again elsewhere makes the first token answer 401 session_superseded."""

from __future__ import annotations

import re

import requests

from infra.samples import individual
from tests.e2e.conftest import RunningStack


def test_log_in_attend_and_be_superseded(local_stack: RunningStack) -> None:
    api = local_stack.api
    # Given a paid attendee with the code from their confirmation
    created = requests.post(f"{api}/registrations", json=individual(email="a6.watcher@example.org"), timeout=10).json()
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    requests.post(f"{local_stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10)
    assert requests.post(f"{api}/_local/drain", timeout=70).json() == {"drained": True}
    (email,) = [
        e
        for e in requests.get(f"{api}/_local/emails", timeout=5).json()
        if "a6.watcher@example.org" in e["to"] and "confirmed" in e["subject"]
    ]
    raw = requests.get(f"{api}/_local/emails/{email['id']}.eml", timeout=5).text
    (code,) = re.findall(r"^Access code: (\S+)\r?$", raw, flags=re.MULTILINE)

    # When, inside the keynote, they log in and send heartbeats over three minutes
    requests.post(f"{api}/_local/clock", json={"now": "2020-08-05T11:30:05-05:00"}, timeout=5)
    login = {"email": "a6.watcher@example.org", "access_code": code}
    first = requests.post(f"{api}/logins", json=login, headers={"User-Agent": "laptop"}, timeout=5).json()
    bearer = {"Authorization": f"Bearer {first['session_token']}"}
    for moment in ("2020-08-05T11:30:10-05:00", "2020-08-05T11:31:10-05:00", "2020-08-05T11:32:10-05:00"):
        requests.post(f"{api}/_local/clock", json={"now": moment}, timeout=5)
        beat = requests.post(
            f"{api}/attendance/heartbeats", json={"session_id": "d1-implicit-bias"}, headers=bearer, timeout=5
        )
        assert beat.status_code == 204

    # Then their attendance shows the minutes
    mine = requests.get(f"{api}/me/attendance", headers=bearer, timeout=5).json()
    keynote = next(s for s in mine["sessions"] if s["session_id"] == "d1-implicit-bias")
    assert keynote == {"session_id": "d1-implicit-bias", "minutes_attended": 3, "minutes_scheduled": 75}
    assert mine["days_logged_in"] == 1 and mine["eligible"] is False

    # When they log in again on another device, the first token is superseded
    requests.post(f"{api}/logins", json=login, headers={"User-Agent": "phone"}, timeout=5).raise_for_status()
    stale = requests.post(
        f"{api}/attendance/heartbeats", json={"session_id": "d1-implicit-bias"}, headers=bearer, timeout=5
    )
    assert stale.status_code == 401
    assert stale.json()["code"] == "session_superseded"
