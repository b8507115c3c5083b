"""The organiser's page at `/admin` as an organiser meets it: Debian's chromium, driven by Playwright (the browser and
page fixtures of the registration page's test), against the local stack started as a process. The data is made over
HTTP first: registrations paid through the Stripe stand-in's test route, the stack drained."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from infra.gateway import content_security_policy
from infra.samples import individual
from tests.e2e import test_registration_page as registration_page

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# The registration page's fixtures, shared rather than copied: Debian's chromium with its flags, and a page that fails
# its test on a script error or a Content-Security-Policy violation.
browser = registration_page.browser
page = registration_page.page

TOKEN = "local-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def drain(stack: RunningStack) -> None:
    assert requests.post(f"{stack.api}/_local/drain", timeout=70).json() == {"drained": True}


def paid_registration(stack: RunningStack, email: str) -> str:
    created = requests.post(f"{stack.api}/registrations", json=individual(email=email), timeout=10)
    assert created.status_code == 201
    session_id = created.json()["checkout_url"].rsplit("/", 1)[-1]
    paying = requests.post(f"{stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10)
    paying.raise_for_status()
    registration_id: str = created.json()["registration_id"]
    return registration_id


@pytest.fixture(scope="module")
def paid(local_stack: RunningStack) -> dict[str, str]:
    """Two paid individual registrations (email -> registration id) and one left awaiting payment."""
    emails = [f"admin.{name}.{uuid.uuid4().hex[:8]}@example.org" for name in ("ana", "ben")]
    registrations = {email: paid_registration(local_stack, email) for email in emails}
    pending = individual(email=f"admin.pending.{uuid.uuid4().hex[:8]}@example.org")
    assert requests.post(f"{local_stack.api}/registrations", json=pending, timeout=10).status_code == 201
    drain(local_stack)
    return registrations


def sign_in(page: Page, token: str = TOKEN) -> None:
    page.goto("/admin")
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Open the organiser tools").click()


def row_of(page: Page, registration_id: str) -> Locator:
    return page.locator(f'#registrations-rows tr[data-registration-id="{registration_id}"]')


def test_the_admin_page_is_served_with_a_strict_policy(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api}/admin", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert policy == content_security_policy(response.text)  # exactly its own inline script and style
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)", policy)
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)", policy)
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script src" not in response.text and "<link" not in response.text  # one self-contained file
    assert requests.head(f"{local_stack.api}/admin", timeout=5).headers["content-security-policy"] == policy
    # The organiser's data still needs the token; the page itself holds none.
    assert requests.get(f"{local_stack.api}/admin/registrations", timeout=5).status_code == 401
    assert TOKEN not in response.text


def test_a_wrong_token_is_refused_and_the_right_one_lists_filters_and_searches(
    page: Page, local_stack: RunningStack, paid: dict[str, str]
) -> None:
    sign_in(page, "not-the-token")

    expect(page.locator("#token-error")).to_contain_text("The token is not right")
    expect(page.locator("#workspace")).to_be_hidden()
    expect(page.get_by_label("Admin token")).to_be_focused()

    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Open the organiser tools").click()

    expect(page.locator("#token-view")).to_be_hidden()
    (first_email, first_id), _ = paid.items()
    row = row_of(page, first_id)
    expect(row).to_contain_text(first_email)
    expect(row).to_contain_text("Ana Lopez")
    expect(row.locator(".status-word")).to_have_text("Paid")
    expect(page.locator('#registrations-rows tr[data-status="pending_payment"]')).not_to_have_count(0)
    assert "{" not in page.locator("#registrations").inner_text()  # never raw JSON

    page.get_by_label("Status", exact=True).select_option("paid")
    for registration_id in paid.values():
        expect(row_of(page, registration_id)).to_be_visible()
    expect(page.locator('#registrations-rows tr[data-status="pending_payment"]')).to_have_count(0)
    assert set(page.locator("#registrations-rows tr").evaluate_all("rows => rows.map(r => r.dataset.status)")) == {
        "paid"
    }

    page.get_by_label("Search loaded registrations").fill(first_email.upper())
    expect(page.locator("#registrations-rows tr")).to_have_count(1)
    expect(row_of(page, first_id)).to_be_visible()
    expect(page.locator("#registrations-count")).to_contain_text("Showing 1 of")

    # On a phone the table scrolls inside its own region; the page never scrolls sideways.
    page.get_by_label("Search loaded registrations").fill("")
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]") == [375, 375]


def test_a_refund_from_the_page_ends_refunded(page: Page, local_stack: RunningStack, paid: dict[str, str]) -> None:
    _, (email, registration_id) = paid.items()
    sign_in(page)
    row = row_of(page, registration_id)
    expect(row.locator(".status-word")).to_have_text("Paid")
    dialogs: list[str] = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name=re.compile("^Refund")).click()

    expect(page.locator("#registrations-message")).to_contain_text("requested")
    assert registration_id in dialogs[0]
    expect(row.get_by_role("button", name=re.compile("^Refund"))).to_be_disabled()

    drain(local_stack)  # Stripe's charge.refunded webhook, delivered in the background, finishes the change
    page.reload()  # the token is kept for the tab

    expect(row.locator(".status-word")).to_have_text("Refunded")
    expect(row).to_have_attribute("data-status", "refunded")
    expect(row.get_by_role("button")).to_have_count(0)  # nothing more to refund or resend
    assert email in row.inner_text()


def test_issuing_certificates_shows_the_counts_and_an_export_downloads(
    page: Page, local_stack: RunningStack, paid: dict[str, str]
) -> None:
    sign_in(page)
    expect(page.locator("#token-view")).to_be_hidden()

    page.get_by_role("button", name="Issue certificates").click()

    expect(page.locator("#issue-result")).to_be_visible()
    eligible = requests.post(f"{local_stack.api}/admin/certificates/issue", headers=ADMIN, timeout=10).json()
    expect(page.locator("#issue-eligible")).to_have_text(str(eligible["eligible"]))
    expect(page.locator("#issue-queued")).to_have_text(re.compile(r"^\d+$"))

    # A problem is shown by its detail, never as JSON.
    page.get_by_label("Attendee id").fill("att_unknown")
    page.get_by_role("button", name="Reissue certificate").click()
    refused = requests.post(
        f"{local_stack.api}/admin/attendees/att_unknown/certificate/reissue", headers=ADMIN, timeout=10
    ).json()
    expect(page.locator("#reissue-error")).to_have_text(refused["detail"])

    with page.expect_download() as started:
        page.get_by_role("button", name="Download registrations.csv").click()
    download = started.value

    # Named after the event it is of (the featured one, selected by default).
    featured = next(
        e["id"]
        for e in requests.get(f"{local_stack.api}/admin/events", headers=ADMIN, timeout=5).json()["items"]
        if e["featured"]
    )
    assert download.suggested_filename == f"registrations-{featured}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "registration_id" in text.splitlines()[0]
    assert all(registration_id in text for registration_id in paid.values())
    expect(page.locator("#exports-message")).to_contain_text(f"registrations-{featured}.csv downloaded")


def test_a_person_s_data_is_downloaded_then_erased_from_the_page(page: Page, local_stack: RunningStack) -> None:
    # Given a paid registrant of their own (the module's others are used by the other tests)
    email = f"admin.erase.{uuid.uuid4().hex[:8]}@example.org"
    registration_id = paid_registration(local_stack, email)
    drain(local_stack)
    sign_in(page)
    expect(page.locator("#token-view")).to_be_hidden()

    # When the organiser downloads their data
    page.get_by_label("Email", exact=True).fill(email)
    with page.expect_download() as started:
        page.get_by_role("button", name="Download their data (JSON)").click()
    document = json.loads(Path(started.value.path()).read_text(encoding="utf-8"))

    # Then it is theirs, seat by seat
    (seat,) = document["seats"]
    assert seat["registration"]["registration_id"] == registration_id
    assert seat["registration"]["seat"]["email"] == email

    # When they erase the person (accepting the dialog)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Erase this person").click()

    # Then the page says so and nothing is held about that email any more
    expect(page.locator("#person-message")).to_contain_text("Erased")
    gone = requests.get(f"{local_stack.api}/admin/people/export", params={"email": email}, headers=ADMIN, timeout=5)
    assert gone.status_code == 404


# ---------- events: the switcher and the editor ----------
SEED = Path(__file__).resolve().parents[2] / "shared" / "conference" / "nasro-2020.json"


@pytest.fixture
def new_event(local_stack: RunningStack) -> str:
    """An unpublished event of its own (the seed's document under another name), so edits touch no other test."""
    document = json.loads(SEED.read_text(encoding="utf-8"))
    del document["id"]
    document["name"] = f"Editor test {uuid.uuid4().hex[:8]}"
    created = requests.post(f"{local_stack.api}/admin/events", json=document, headers=ADMIN, timeout=10)
    assert created.status_code == 201, created.text
    event_id: str = created.json()["event_id"]
    return event_id


def event_detail(stack: RunningStack, event_id: str) -> requests.Response:
    detail = requests.get(f"{stack.api}/admin/events/{event_id}", headers=ADMIN, timeout=5)
    assert detail.status_code == 200
    return detail


def open_event(page: Page, event_id: str) -> None:
    sign_in(page)
    expect(page.locator("#token-view")).to_be_hidden()
    page.get_by_label("Event", exact=True).select_option(event_id)
    expect(page.locator("#editor-meta")).to_contain_text(f"Event id {event_id}, version")


def session_row(page: Page, index: int) -> Locator:
    return page.locator("#agenda-rows fieldset.session").nth(index)


def test_switching_events_lists_exports_and_edits_the_selected_one(
    page: Page, local_stack: RunningStack, paid: dict[str, str], new_event: str
) -> None:
    sign_in(page)
    switcher = page.get_by_label("Event", exact=True)
    expect(switcher.locator(f'option[value="{new_event}"]')).to_contain_text("unpublished")
    expect(switcher.locator("option", has_text="featured")).to_have_count(1)
    (_, first_id), _ = paid.items()
    expect(row_of(page, first_id)).to_be_visible()  # the featured event's registrations

    with page.expect_request(lambda r: f"/admin/registrations?event_id={new_event}" in r.url):
        switcher.select_option(new_event)
    expect(page.locator("#registrations-empty")).to_have_text("No registrations loaded.")
    expect(page.get_by_label("Name", exact=True)).to_have_value(re.compile("^Editor test "))
    with page.expect_request(lambda r: f"/admin/exports/attendance.csv?event_id={new_event}" in r.url):
        page.get_by_role("button", name="Download attendance.csv").click()

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#events-message")).to_contain_text("Published")
    expect(switcher.locator(f'option[value="{new_event}"]')).not_to_contain_text("unpublished")
    expect(page.locator("#history-rows tr").first).to_contain_text("Published")


def test_a_session_s_new_time_and_join_link_are_saved_as_the_next_version(
    page: Page, local_stack: RunningStack, new_event: str
) -> None:
    open_event(page, new_event)
    row = session_row(page, 2)
    row.get_by_label("Starts").fill("11:45")
    row.get_by_label("Join link").fill("https://stream.example.org/keynote")
    page.get_by_role("button", name="Save event").click()

    expect(page.locator("#editor-message")).to_have_text("Saved: version 2.")
    detail = event_detail(local_stack, new_event)
    assert detail.headers["ETag"] == '"2"'
    session = detail.json()["document"]["agenda"][2]
    assert session["starts"].startswith("11:45")
    assert session["join_url"] == "https://stream.example.org/keynote"
    expect(page.locator("#history-rows tr").first).to_contain_text("agenda")


def test_saving_over_a_newer_version_says_the_event_changed_and_reloads_it(
    page: Page, local_stack: RunningStack, new_event: str
) -> None:
    open_event(page, new_event)
    current = event_detail(local_stack, new_event)
    renamed = current.json()["document"] | {"name": "Renamed elsewhere"}
    behind = requests.put(
        f"{local_stack.api}/admin/events/{new_event}",
        json=renamed,
        headers={**ADMIN, "If-Match": current.headers["ETag"]},
        timeout=10,
    )
    assert behind.status_code == 200, behind.text

    session_row(page, 0).get_by_label("Title").fill("Welcome")
    page.get_by_role("button", name="Save event").click()

    expect(page.locator("#editor-error")).to_contain_text("changed elsewhere")
    page.get_by_role("button", name="Reload the event").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Renamed elsewhere")
    expect(page.locator("#editor-error")).to_be_empty()


def test_a_refused_join_link_is_explained_next_to_its_session_s_field(
    page: Page, local_stack: RunningStack, new_event: str
) -> None:
    open_event(page, new_event)
    link = session_row(page, 2).get_by_label("Join link")
    link.fill("http://stream.example.org/not-https")
    page.get_by_role("button", name="Save event").click()

    expect(link).to_have_attribute("aria-invalid", "true")
    expect(link).to_be_focused()
    expect(link).to_have_accessible_description(re.compile("https://"))
    expect(session_row(page, 2).locator(".field-error")).to_have_count(1)
    assert event_detail(local_stack, new_event).json()["version"] == 1  # nothing was saved
