"""The registration page at `/` as a registrant meets it: Debian's chromium, driven by Playwright, against the
local stack (API, Stripe stand-in) started as a process. Set SCREENSHOTS_DIR to keep screenshots of the form."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# Debian's chromium (`make browser` installs it); Playwright's own browser download is never used.
CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without these, chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser: Browser, stack: RunningStack, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport, base_url=stack.api)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    # The page's own inline script and style must pass its Content-Security-Policy, and the script must not throw.
    faults: list[str] = []
    page.on("pageerror", lambda error: faults.append(f"script error: {error}"))
    page.on(
        "console", lambda message: faults.append(message.text) if "Content Security Policy" in message.text else None
    )
    return page, faults


@pytest.fixture
def page(browser: Browser, local_stack: RunningStack) -> Iterator[Page]:
    page, faults = _open(browser, local_stack, DESKTOP)
    yield page
    page.context.close()
    assert faults == []


@pytest.fixture
def phone(browser: Browser, local_stack: RunningStack) -> Iterator[Page]:
    page, faults = _open(browser, local_stack, PHONE)
    yield page
    page.context.close()
    assert faults == []


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.org"


def open_form(page: Page, stack: RunningStack) -> dict[str, Any]:
    conference: dict[str, Any] = requests.get(f"{stack.api}/conference", timeout=5).json()
    page.goto("/")
    expect(page.locator("#conference-name")).to_have_text(conference["name"])
    expect(page.locator("#conference-fee")).to_have_text("$200.00")
    return conference


def fill_individual(page: Page, email: str) -> None:
    page.fill("#attendee-first_name", "Ana")
    page.fill("#attendee-last_name", "Lopez")
    page.fill("#attendee-email", email)
    page.fill("#attendee-organization", "Springfield PD")
    page.fill("#shipping_address-line1", "1 Main St")
    page.fill("#shipping_address-city", "Springfield")
    page.fill("#shipping_address-state", "IL")
    page.fill("#shipping_address-postal_code", "62701")
    page.fill("#shipping_address-country", "us")  # the page upper-cases it, as the server requires


def fill_row(page: Page, index: int, first: str, email: str) -> None:
    page.fill(f"#attendees-{index}-first_name", first)
    page.fill(f"#attendees-{index}-last_name", "Park")
    page.fill(f"#attendees-{index}-email", email)
    page.fill(f"#attendees-{index}-organization", "Springfield PD")


def registrations_sent(page: Page) -> list[Request]:
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" and r.url.endswith("/registrations") else None)
    return sent


def json_of(request: Request) -> dict[str, Any]:
    body = request.post_data_json
    assert isinstance(body, dict)
    return body


def return_page(stack: RunningStack, checkout: str) -> re.Pattern[str]:
    return re.compile(re.escape(stack.api) + r"/\?registration_id=([^&]+)&checkout=" + checkout + "$")


def shown_status(page: Page, stack: RunningStack, registration_id: str) -> str:
    """The status the page shows, once it agrees with what the API reports (the page polls every 1.5 s)."""
    status = page.locator("#registration-status")
    deadline = time.monotonic() + 15
    while True:
        reported: str = requests.get(f"{stack.api}/registrations/{registration_id}", timeout=5).json()["status"]
        shown = status.get_attribute("data-status")
        if shown == reported or time.monotonic() > deadline:
            assert shown == reported
            return reported
        time.sleep(0.25)


def test_the_page_is_served_with_a_strict_policy_and_its_form_in_the_html(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api}/", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy  # no inline script: the page's own is /assets/index.js
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/]+=*';", policy)
    assert "unsafe-inline" not in policy
    for directive in ("connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    html = response.text
    assert '<form id="registration-form"' in html
    for name in ("attendee.email", "shipping_address.postal_code", "purchaser.name", 'id="attendees-0-email"'):
        assert name in html
    assert "<script>" not in html and re.search(r'<script src="/assets/index\.js\?v=\w+">', html)
    assert requests.post(f"{local_stack.api}/", timeout=5).status_code == 404  # only GET is the page


def test_an_individual_fixes_what_the_server_refused_pays_and_sees_the_status(
    page: Page, local_stack: RunningStack
) -> None:
    open_form(page, local_stack)
    expect(page.locator("#kind-individual")).to_be_checked()
    expect(page.locator("#coin-note")).to_contain_text("30th-anniversary coin")
    expect(page.locator("#total-amount")).to_have_text("$200.00")
    sent = registrations_sent(page)

    # An address the browser's type=email accepts but the server refuses (no dot after the @).
    fill_individual(page, "ana@localhost")
    page.click("#submit")

    error = page.locator("#attendee-email-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("email address")
    expect(page.locator("#attendee-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#attendee-email")).to_be_focused()
    assert "attendee-email-error" in (page.get_attribute("#attendee-email", "aria-describedby") or "")
    assert page.url == f"{local_stack.api}/"
    assert "{" not in page.locator("#form-view").inner_text()  # never raw JSON

    # The body is exactly API.md's: empty optional fields left out, an empty line2 sent as null.
    body = json_of(sent[0])
    assert body["kind"] == "individual"
    assert set(body["attendee"]) == {"first_name", "last_name", "email", "organization"}
    assert body["shipping_address"]["line2"] is None
    assert body["shipping_address"]["country"] == "US"

    email = unique("ana")
    page.fill("#attendee-email", email)
    page.click("#submit")

    page.wait_for_url(f"{local_stack.stripe}/checkout/**")
    expect(page.locator("h1")).to_contain_text("Pay $200.00")
    assert sent[1].headers["idempotency-key"] != sent[0].headers["idempotency-key"]  # a corrected form is new
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(return_page(local_stack, "success"))
    match = return_page(local_stack, "success").match(page.url)
    assert match
    # The stand-in delivers the signed webhook before redirecting, as Stripe usually manages to: paid.
    assert shown_status(page, local_stack, match.group(1)) == "paid"
    expect(page.locator("#status-message")).to_contain_text(
        "Payment received. Each attendee will get a confirmation email with a personal access code."
    )
    expect(page.locator("#form-view")).to_be_hidden()


def test_a_group_adds_and_removes_attendees_and_pays_for_each_seat(page: Page, local_stack: RunningStack) -> None:
    open_form(page, local_stack)
    page.check("#kind-group")
    expect(page.locator("#individual-fields")).to_be_hidden()
    page.fill("#purchaser-name", "Chief Ray Park")
    page.fill("#purchaser-email", unique("chief"))
    page.fill("#purchaser-organization", "Springfield PD")
    fill_row(page, 0, "Avery", unique("avery"))
    expect(page.locator(".remove-attendee")).to_be_disabled()  # at least one attendee

    page.click("#add-attendee")
    expect(page.locator("#attendees-1-first_name")).to_be_focused()
    fill_row(page, 1, "Blake", unique("blake"))
    page.click("#add-attendee")
    third = unique("casey")
    fill_row(page, 2, "Casey", third)
    expect(page.locator("#total-amount")).to_have_text("$600.00")

    page.get_by_role("button", name="Remove attendee 2").click()

    expect(page.locator(".attendee-row")).to_have_count(2)
    expect(page.locator("#attendees-1-email")).to_have_value(third)  # the rows are numbered again
    expect(page.locator(".attendee-row").nth(1).locator("legend")).to_have_text("Attendee 2")
    expect(page.locator("#total-amount")).to_have_text("$400.00")
    expect(page.locator("#total")).to_contain_text("2 seats × $200.00")

    sent = registrations_sent(page)
    page.click("#submit")

    page.wait_for_url(f"{local_stack.stripe}/checkout/**")
    expect(page.locator("h1")).to_contain_text("Pay $400.00")
    expect(page.locator("tbody td").nth(1)).to_have_text("2")
    body = json_of(sent[0])
    assert body["kind"] == "group"
    assert [a["first_name"] for a in body["attendees"]] == ["Avery", "Casey"]
    assert "job_title" not in body["attendees"][0]
    assert set(body) == {"kind", "purchaser", "attendees"}

    page.go_back()  # a registrant who leaves Checkout with the browser's Back button can submit again
    expect(page.locator("#submit")).to_be_enabled()


def test_cancelling_checkout_returns_to_a_page_that_says_so(page: Page, local_stack: RunningStack) -> None:
    open_form(page, local_stack)
    fill_individual(page, unique("dana"))
    sent = registrations_sent(page)

    page.dblclick("#submit")

    page.wait_for_url(f"{local_stack.stripe}/checkout/**")
    assert len({request.headers["idempotency-key"] for request in sent}) == 1  # a double click is one request
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(return_page(local_stack, "cancelled"))
    match = return_page(local_stack, "cancelled").match(page.url)
    assert match
    assert shown_status(page, local_stack, match.group(1)) == "pending_payment"
    expect(page.locator("#status-message")).to_have_text(
        "Payment was cancelled; your registration is kept for an hour, you can submit the form again to pay."
    )
    expect(page.get_by_role("link", name="Back to the registration form")).to_be_visible()


def test_a_conflict_is_explained_at_the_top_of_the_form(page: Page, local_stack: RunningStack) -> None:
    taken = unique("erin")
    held = requests.post(
        f"{local_stack.api}/registrations",
        json={
            "kind": "individual",
            "attendee": {"first_name": "Erin", "last_name": "Doe", "email": taken, "organization": "PD"},
            "shipping_address": {
                "line1": "1 Main St",
                "city": "X",
                "state": "IL",
                "postal_code": "62701",
                "country": "US",
            },
        },
        timeout=10,
    )
    assert held.status_code == 201
    # Seats are held by payment: Erin's is paid, so naming her is a conflict (a pending one would not be)
    session_id = held.json()["checkout_url"].rsplit("/", 1)[-1]
    requests.post(
        f"{local_stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10
    ).raise_for_status()
    open_form(page, local_stack)
    page.check("#kind-group")
    page.fill("#purchaser-name", "Chief Ray Park")
    page.fill("#purchaser-email", unique("chief"))
    page.fill("#purchaser-organization", "Springfield PD")
    fill_row(page, 0, "Erin", taken)

    page.click("#submit")

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Attendee 1 already holds a seat at the conference.")  # the problem's detail
    assert "{" not in summary.inner_text()
    expect(page.locator("#submit")).to_be_enabled()


def test_the_form_is_usable_from_the_keyboard(page: Page, local_stack: RunningStack) -> None:
    open_form(page, local_stack)
    page.focus("#kind-individual")
    page.keyboard.press("ArrowRight")  # radios move with the arrow keys
    expect(page.locator("#kind-group")).to_be_checked()
    expect(page.locator("#purchaser-name")).to_be_visible()

    page.focus("#add-attendee")
    page.keyboard.press("Enter")
    expect(page.locator("#attendees-1-first_name")).to_be_focused()

    page.focus(".attendee-row:nth-child(2) .remove-attendee")
    page.keyboard.press("Enter")
    expect(page.locator(".attendee-row")).to_have_count(1)
    expect(page.locator("#attendees-0-first_name")).to_be_focused()

    page.click("#submit")  # everything empty: the browser's own checks, shown like the server's
    expect(page.locator("#purchaser-name")).to_be_focused()
    expect(page.locator("#purchaser-name-error")).to_be_visible()
    expect(page.locator("#error-summary li")).to_have_count(7)


def test_on_a_phone_nothing_scrolls_sideways(phone: Page, local_stack: RunningStack) -> None:
    def assert_no_horizontal_scroll() -> None:
        widths = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == 375

    open_form(phone, local_stack)
    expect(phone.locator(".agenda-day")).to_have_count(3)
    assert_no_horizontal_scroll()
    keep(phone, "phone-individual.png")
    phone.check("#kind-group")
    phone.click("#add-attendee")
    phone.click("#submit")  # every field's error shown
    expect(phone.locator("#error-summary")).to_be_visible()
    assert_no_horizontal_scroll()
    keep(phone, "phone-group-errors.png")


def test_the_desktop_layout_puts_the_agenda_beside_the_form(page: Page, local_stack: RunningStack) -> None:
    open_form(page, local_stack)
    form = page.locator("#form-view").bounding_box()
    agenda = page.locator("aside").bounding_box()
    assert form and agenda
    assert agenda["x"] > form["x"] + form["width"]
    keep(page, "desktop-individual.png")


def keep(page: Page, name: str) -> None:
    """A full-page screenshot into SCREENSHOTS_DIR, when set: for a person to judge the design."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=Path(folder) / name, full_page=True)
