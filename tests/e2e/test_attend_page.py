"""The attendee's page at `/attend` as an attendee meets it: Debian's chromium, driven by Playwright (the browser and
page fixtures of the registration page's test), against the local stack started as a process. Seats are registered
and paid over HTTP (the Stripe stand-in's test route), the confirmation email read from the local mailbox, and the
conference's time set with `POST /_local/clock`.

The page ticks once a minute (the agenda, a heartbeat for the live session, the minutes, the certificate); on the
local stack `?tick=2` makes that every two seconds, which these tests use. Minutes are credited per conference
minute, so a test moves the clock a minute forward to see the next heartbeat counted."""

from __future__ import annotations

import email
import re
import time
import uuid
from datetime import datetime
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from infra.organiser_sign_in import organiser_token
from infra.samples import individual
from shared.api.pages import content_security_policy
from tests.e2e import test_registration_page as registration_page

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# The registration page's fixtures, shared rather than copied: Debian's chromium with its flags, and a page that fails
# its test on a script error or a Content-Security-Policy violation.
browser = registration_page.browser
page = registration_page.page
phone = registration_page.phone

EVENT = "nasro-2020"
KEYNOTE = "d1-implicit-bias"  # Wednesday 5 August 2020, 11:30 to 12:45 in Chicago
JOIN_URL = "https://stream.example.org/nasro-2020/keynote"
SESSION_KEY = "conference-attendee-session"
TICK = "?tick=2"
SUPERSEDED = "You signed in on another device; this page stopped counting your attendance"
CODE_SENT = "If that email holds a paid seat, we sent a new code."


# ---------- the stack, over HTTP ----------
def set_clock(stack: RunningStack, moment: str) -> None:
    requests.post(f"{stack.api}/_local/clock", json={"now": moment}, timeout=5).raise_for_status()


def drain(stack: RunningStack) -> None:
    assert requests.post(f"{stack.api}/_local/drain", timeout=70).json() == {"drained": True}


def admin_headers(stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {organiser_token(stack.api, 'admin')}"}


def emails_to(stack: RunningStack, address: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        e for e in requests.get(f"{stack.api}/_local/emails", timeout=5).json() if address in str(e["to"])
    ]
    return found


def plain_text(stack: RunningStack, email_id: str) -> str:
    raw = requests.get(f"{stack.api}/_local/emails/{email_id}.eml", timeout=5).content
    message = email.message_from_bytes(raw, policy=default_policy)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def subject_of(stack: RunningStack, email_id: str) -> str:
    raw = requests.get(f"{stack.api}/_local/emails/{email_id}.eml", timeout=5).content
    return str(email.message_from_bytes(raw, policy=default_policy)["Subject"])


def paid_attendee(stack: RunningStack, name: str) -> dict[str, str]:
    """A paid individual seat: its email, the confirmation's `Sign in:` link and the access code."""
    address = f"attend.{name}.{uuid.uuid4().hex[:8]}@example.org"
    set_clock(stack, "2020-07-22T09:00:00-05:00")  # registration is open until the conference ends
    created = requests.post(f"{stack.api}/registrations", json=individual(email=address), timeout=10)
    assert created.status_code == 201, created.text
    checkout = created.json()["checkout_url"].rsplit("/", 1)[-1]
    requests.post(f"{stack.stripe}/_test/checkout_sessions/{checkout}/pay", json={}, timeout=10).raise_for_status()
    drain(stack)
    (confirmation,) = [e for e in emails_to(stack, address) if "confirmed" in subject_of(stack, e["id"]).lower()]
    text = plain_text(stack, confirmation["id"])
    (link,) = re.findall(r"^Sign in: (\S+?)\r?$", text, flags=re.MULTILINE)
    (code,) = re.findall(r"^Access code: (\S+?)\r?$", text, flags=re.MULTILINE)
    return {"email": address, "link": link, "code": code}


def with_tick(link: str) -> str:
    """The confirmation's link with the page's test tick: <site>/attend?tick=2#email=...&code=..."""
    parts = urlsplit(link)
    return f"{parts.scheme}://{parts.netloc}{parts.path}{TICK}#{parts.fragment}"


def put_join_link(stack: RunningStack, session_id: str, join_url: str) -> None:
    """As an organiser does it: the event's document, with the session's join link, over the version read."""
    headers = admin_headers(stack)
    current = requests.get(f"{stack.api}/admin/events/{EVENT}", headers=headers, timeout=10)
    current.raise_for_status()
    document = current.json()["document"]
    for session in document["agenda"]:
        if session["id"] == session_id:
            session["join_url"] = join_url
    saved = requests.put(
        f"{stack.api}/admin/events/{EVENT}",
        json=document,
        headers=headers | {"If-Match": current.headers["ETag"]},
        timeout=10,
    )
    assert saved.status_code == 200, saved.text


@pytest.fixture(scope="module")
def keynote_link(local_stack: RunningStack) -> str:
    """The keynote's join link, saved once per stack (attendees get it only from 15 minutes before it starts)."""
    put_join_link(local_stack, KEYNOTE, JOIN_URL)
    return JOIN_URL


# ---------- the page ----------
def kept_session(page: Page) -> dict[str, Any] | None:
    kept: dict[str, Any] | None = page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key))", SESSION_KEY)
    return kept


def bearer(page: Page) -> dict[str, str]:
    kept = kept_session(page)
    assert kept is not None
    return {"Authorization": f"Bearer {kept['token']}"}


def session_item(page: Page, session_id: str) -> Any:
    return page.locator(f'#agenda li.session[data-session-id="{session_id}"]')


def sign_in_with_the_form(page: Page, address: str, code: str) -> None:
    page.goto("/attend" + TICK)
    form = page.locator("#signin-form")
    expect(form.get_by_label("Email", exact=True)).to_be_focused()
    form.get_by_label("Email", exact=True).fill(address)
    form.get_by_label("Access code").fill(code)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#attendee-view")).to_be_visible()


def second_page(browser: Browser, stack: RunningStack, **context: Any) -> tuple[Page, list[str]]:
    """Another browser context: another device, with its own sessionStorage."""
    other = browser.new_context(viewport=registration_page.DESKTOP, base_url=stack.api, **context)  # type: ignore[arg-type]
    other.set_default_timeout(15_000)
    page = other.new_page()
    faults: list[str] = []
    page.on("pageerror", lambda error: faults.append(f"script error: {error}"))
    page.on(
        "console", lambda message: faults.append(message.text) if "Content Security Policy" in message.text else None
    )
    return page, faults


def instant(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


# Every piece of text shown, with its contrast against what is behind it (WCAG 2's relative luminance): 4.5 to 1, or 3
# to 1 for large text (24 px, or 18.66 px bold). A disabled control is exempt, as WCAG has it.
LOW_CONTRAST = r"""() => {
  const rgba = (css) => {
    const parts = (css.match(/rgba?\(([^)]+)\)/)?.[1] ?? "").split(/[\s,\/]+/).filter(Boolean).map(Number);
    return parts.length >= 3 ? [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1] : null;
  };
  const over = (top, [r, g, b]) => [0, 1, 2].map((i) => top[i] * top[3] + [r, g, b][i] * (1 - top[3]));
  const behind = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour && colour[3] > 0) layers.push(colour);
      if (colour && colour[3] >= 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255]);
  };
  const luminance = (rgb) => rgb.map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const found = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(element)) continue;
    seen.add(element);
    if (!element.checkVisibility() || element.closest(":disabled, noscript")) continue;
    const style = getComputedStyle(element);
    const background = behind(element);
    const [a, b] = [luminance(over(rgba(style.color), background)), luminance(background)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    found.push({ text: walker.currentNode.textContent.trim().slice(0, 40), ratio, least: large ? 3 : 4.5 });
  }
  return found;
}"""


def too_faint(page: Page) -> list[dict[str, Any]]:
    """The shown text whose contrast is below WCAG AA's; it fails loudly when the page shows hardly any text."""
    shown: list[dict[str, Any]] = page.evaluate(LOW_CONTRAST)
    assert len(shown) >= 10, shown
    return [text for text in shown if text["ratio"] < text["least"]]


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375


# ---------- the tests ----------
def test_the_attend_page_is_served_with_a_strict_policy(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api}/attend", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert policy == content_security_policy(response.text)  # its own inline style by hash, scripts from here
    assert "script-src 'self';" in policy  # no inline script: the page's own is /assets/attend.js
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/]+=*';", policy)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    html = response.text
    assert "<script>" not in html and " style=" not in html  # the policy would refuse either
    assert re.search(r'<script src="/assets/attend\.js\?v=\w+">', html)
    assert re.search(r"\son[a-z]+=", html) is None  # no inline handlers: the policy would refuse them
    assert '<label for="signin-code">Access code</label>' in html


def test_the_sign_in_link_signs_in_joins_counts_and_is_superseded_by_another_device(
    page: Page, browser: Browser, local_stack: RunningStack, keynote_link: str
) -> None:
    attendee = paid_attendee(local_stack, "ana")
    link = urlsplit(attendee["link"])
    assert attendee["link"].startswith(f"{local_stack.api}/attend#")
    assert parse_qs(link.fragment) == {"email": [attendee["email"]], "code": [attendee["code"]]}
    set_clock(local_stack, "2020-08-05T08:00:00-05:00")  # the first morning, before anything starts

    page.goto(with_tick(attendee["link"]))

    # Signed in with one click; the code left the address bar (and the history entry) at once.
    expect(page.locator("#attendee-name")).to_have_text("Ana Lopez")
    expect(page.locator("#welcome")).to_be_focused()
    assert page.url == f"{local_stack.api}/attend{TICK}"
    assert attendee["code"] not in page.evaluate("location.href + history.length")
    kept = kept_session(page)
    assert kept is not None and kept["email"] == attendee["email"] and kept["token"]
    assert page.evaluate("localStorage.length") == 0
    # The agenda: the sessions of the day, none live yet, no join link before 15 minutes ahead of a start.
    expect(session_item(page, "d1-welcome")).to_be_visible()
    expect(session_item(page, KEYNOTE)).to_contain_text("11:30 AM – 12:45 PM CDT")
    expect(page.locator("#agenda li.session.is-live")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Join"))).to_have_count(0)
    expect(page.locator("#counting")).to_have_attribute("data-state", "idle")

    # Into the keynote: it is highlighted, Join opens its link in a new tab, and the page counts the minute.
    set_clock(local_stack, "2020-08-05T11:30:05-05:00")
    keynote = session_item(page, KEYNOTE)
    expect(keynote).to_have_class(re.compile(r"\bis-live\b"), timeout=45_000)  # the event cache: up to 30 s
    expect(keynote).to_have_attribute("aria-current", "time")
    expect(keynote).to_contain_text("Live now")
    join = keynote.get_by_role("link", name=re.compile("^Join"))
    expect(join).to_have_attribute("href", keynote_link, timeout=45_000)
    expect(join).to_have_attribute("target", "_blank")
    expect(join).to_have_attribute("rel", "noopener")
    expect(page.get_by_role("heading", name="Today's agenda")).to_be_visible()
    expect(page.locator("#agenda li.session")).to_have_count(5)  # Wednesday's five sessions only
    expect(page.locator("#counting")).to_have_attribute("data-state", "counting")
    minutes = keynote.locator(".minutes")
    expect(minutes).to_have_attribute("data-minutes", "1")
    expect(minutes).to_have_text("1 of 75 minutes attended")

    set_clock(local_stack, "2020-08-05T11:31:05-05:00")  # a minute later: the next heartbeat is a new minute
    expect(minutes).to_have_attribute("data-minutes", "2")
    mine = requests.get(f"{local_stack.api}/me/attendance", headers=bearer(page), timeout=5).json()
    assert next(s for s in mine["sessions"] if s["session_id"] == KEYNOTE)["minutes_attended"] == 2

    # Eligibility: the server's reasons, as sentences, refreshed with the minutes.
    expect(page.locator("#eligibility")).to_have_text("Not eligible for a certificate yet")
    expect(page.locator("#reasons li")).to_have_text(mine["reasons"])
    expect(page.locator("#reasons")).to_contain_text("You attended 2 of")
    expect(page.locator("#days")).to_have_text("1")

    # Another device signs in with the same code: this page stops counting and says why.
    other, faults = second_page(browser, local_stack)
    try:
        sign_in_with_the_form(other, attendee["email"], attendee["code"])
        notice = page.locator("#superseded")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(SUPERSEDED)
        expect(notice).to_be_focused()
        expect(page.locator("#counting")).to_have_attribute("data-state", "stopped")
        heartbeats: list[str] = []
        page.on("request", lambda r: heartbeats.append(r.url) if r.url.endswith("/attendance/heartbeats") else None)
        page.wait_for_timeout(5000)  # two ticks and more: nothing is sent any more
        assert heartbeats == []

        # The code is still at hand (it came with the link): "Count here instead" signs in again, one click.
        page.get_by_role("button", name="Count here instead").click()
        expect(notice).to_be_hidden()
        expect(page.locator("#counting")).to_have_attribute("data-state", "counting")
        expect(other.locator("#superseded")).to_be_visible()  # and now the other device is the one that stopped
        expect(other.locator("#superseded")).to_contain_text(SUPERSEDED)
        # The other device typed its code but then reloaded: the code is gone, so the page asks for it again.
        other.reload()
        expect(other.locator("#superseded")).to_be_visible()
        other.get_by_role("button", name="Count here instead").click()
        again = other.locator("#again-form")
        expect(again.get_by_label("Access code")).to_be_focused()
        again.get_by_label("Access code").fill(attendee["code"].lower().replace("-", ""))  # as a person may type it
        again.get_by_role("button", name="Count here", exact=True).click()
        expect(other.locator("#superseded")).to_be_hidden()
        expect(page.locator("#superseded")).to_be_visible()
    finally:
        other.context.close()
    assert faults == []


def test_times_are_also_shown_in_the_browser_s_zone_when_it_differs(
    browser: Browser, local_stack: RunningStack
) -> None:
    attendee = paid_attendee(local_stack, "berlin")
    set_clock(local_stack, "2020-08-06T08:00:00-05:00")
    for zone, shown in (("Europe/Berlin", True), ("America/Chicago", False)):
        page, faults = second_page(browser, local_stack, timezone_id=zone)
        try:
            page.goto(with_tick(attendee["link"]))
            town_hall = session_item(page, "d2-town-hall-covid")
            expect(town_hall).to_contain_text("9:00 – 10:30 AM CDT")
            if shown:
                expect(town_hall.locator(".local-time")).to_have_text("Your time: 4:00 – 5:30 PM GMT+2")
                expect(page.locator("#agenda-note")).to_contain_text("Central European Summer Time")
            else:
                expect(town_hall.locator(".local-time")).to_have_count(0)
        finally:
            page.context.close()
        assert faults == []


def test_a_wrong_code_is_refused_and_signing_out_ends_the_session(page: Page, local_stack: RunningStack) -> None:
    attendee = paid_attendee(local_stack, "ben")
    set_clock(local_stack, "2020-07-30T10:00:00-05:00")  # a week before the conference
    page.goto("/attend" + TICK)
    form = page.locator("#signin-form")
    form.get_by_role("button", name="Sign in").click()  # nothing filled in: the browser's checks, shown on the fields
    expect(form.get_by_label("Email", exact=True)).to_be_focused()
    expect(page.locator("#signin-email-error")).to_be_visible()

    form.get_by_label("Email", exact=True).fill(attendee["email"])
    form.get_by_label("Access code").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    form.get_by_role("button", name="Sign in").click()

    expect(page.locator("#signin-error")).to_contain_text("do not match a paid seat")
    expect(form.get_by_label("Access code")).to_be_focused()
    expect(form.get_by_label("Access code")).to_have_attribute("aria-invalid", "true")
    assert kept_session(page) is None
    assert "{" not in page.locator("#signin-view").inner_text()  # never raw JSON

    form.get_by_label("Access code").fill(attendee["code"])
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#attendee-name")).to_have_text("Ana Lopez")
    # Before the conference: its first day, and the whole agenda a click away.
    expect(page.locator("#agenda-note")).to_contain_text("The conference starts on Wednesday, August 5.")
    expect(page.locator("#agenda li.session")).to_have_count(5)
    page.get_by_role("button", name="Show all days").click()
    expect(page.locator("#agenda .agenda-day")).to_have_count(3)
    expect(page.get_by_role("button", name="Show one day")).to_have_attribute("aria-expanded", "true")
    headers = bearer(page)
    page.reload()  # the session is kept for the tab
    expect(page.locator("#attendee-name")).to_have_text("Ana Lopez")

    signed_out: list[str] = []
    page.on("request", lambda r: signed_out.append(r.method) if r.url.endswith("/me/session") else None)
    page.get_by_role("button", name="Sign out").click()

    expect(page.locator("#signin-view")).to_be_visible()
    expect(page.locator("#signin-message")).to_have_text("You signed out.")
    expect(page.locator("#attendee-view")).to_be_hidden()
    assert signed_out == ["DELETE"]
    assert kept_session(page) is None
    refused = requests.get(f"{local_stack.api}/me", headers=headers, timeout=5)
    assert refused.status_code == 401


def test_email_me_my_code_sends_an_access_code_email_and_says_the_same_for_anyone(
    page: Page, local_stack: RunningStack
) -> None:
    attendee = paid_attendee(local_stack, "cleo")
    before = {e["id"] for e in emails_to(local_stack, attendee["email"])}
    page.goto("/attend")
    form = page.locator("#code-form")

    form.get_by_label("Email").fill(attendee["email"])
    form.get_by_role("button", name="Email me my code").click()

    expect(page.locator("#code-message")).to_have_text(CODE_SENT)
    drain(local_stack)
    deadline = time.monotonic() + 20
    while not (new := [e for e in emails_to(local_stack, attendee["email"]) if e["id"] not in before]):
        assert time.monotonic() < deadline, "no access-code email arrived"
        time.sleep(0.5)
        drain(local_stack)
    (sent,) = new
    assert "access code" in (subject_of(local_stack, sent["id"]) + plain_text(local_stack, sent["id"])).lower()
    (code,) = re.findall(r"^Access code: (\S+?)\r?$", plain_text(local_stack, sent["id"]), flags=re.MULTILINE)

    page.reload()
    form.get_by_label("Email").fill(f"nobody.{uuid.uuid4().hex[:8]}@example.org")
    form.get_by_role("button", name="Email me my code").click()
    expect(page.locator("#code-message")).to_have_text(CODE_SENT)  # the same words: nothing is revealed

    sign_in_with_the_form(page, attendee["email"], code)  # the new code signs in
    expect(page.locator("#attendee-name")).to_have_text("Ana Lopez")


def test_the_certificate_downloads_once_issued(page: Page, local_stack: RunningStack) -> None:
    attendee = paid_attendee(local_stack, "dora")
    set_clock(local_stack, "2020-08-05T08:55:00-05:00")
    sign_in_with_the_form(page, attendee["email"], attendee["code"])
    expect(page.locator("#certificate-pending")).to_be_visible()
    expect(page.locator("#certificate-link")).to_be_hidden()

    # Watching more than half the agenda, minute by minute, would take a day: the test sends this session's
    # heartbeats itself, one per conference minute, until the policy's share is reached.
    conference = requests.get(f"{local_stack.api}/conference", timeout=5).json()
    needed = conference["certificate_policy"]["min_attendance_share"] * sum(
        (instant(s["ends_at"]) - instant(s["starts_at"])) // 60 for s in conference["sessions"]
    )
    credited = 0
    with requests.Session() as http:
        headers = bearer(page)
        for session in conference["sessions"]:
            start = instant(session["starts_at"])
            for minute in range((instant(session["ends_at"]) - start) // 60):
                moment = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start + minute * 60 + 1))
                http.post(f"{local_stack.api}/_local/clock", json={"now": moment}, timeout=5).raise_for_status()
                beat = http.post(
                    f"{local_stack.api}/attendance/heartbeats",
                    json={"session_id": session["id"]},
                    headers=headers,
                    timeout=5,
                )
                assert beat.status_code == 204, beat.text
                credited += 1
            if credited >= needed:
                break
    expect(page.locator("#eligibility")).to_have_text("You qualify for a certificate")
    expect(page.locator("#eligibility")).to_have_attribute("data-eligible", "true")

    set_clock(local_stack, "2020-08-08T12:00:00-05:00")  # past the end
    issued = requests.post(
        f"{local_stack.api}/admin/certificates/issue", headers=admin_headers(local_stack), timeout=30
    )
    assert issued.status_code in (200, 202), issued.text
    drain(local_stack)

    link = page.get_by_role("link", name="Download your certificate (PDF)")
    expect(link).to_be_visible(timeout=30_000)
    expect(page.locator("#certificate-pending")).to_be_hidden()
    assert (link.get_attribute("href") or "").startswith("blob:")
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_on_a_phone_nothing_scrolls_sideways(phone: Page, local_stack: RunningStack, keynote_link: str) -> None:
    attendee = paid_attendee(local_stack, "eve")
    phone.goto("/attend")
    expect(phone.locator("#signin-form")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    registration_page.keep(phone, "phone-attend-signin.png")

    set_clock(local_stack, "2020-08-05T11:35:00-05:00")
    phone.goto(with_tick(attendee["link"]))
    expect(session_item(phone, KEYNOTE).get_by_role("link", name=re.compile("^Join"))).to_be_visible(timeout=45_000)
    expect(phone.locator("#reasons li")).not_to_have_count(0)
    assert_no_horizontal_scroll(phone)
    registration_page.keep(phone, "phone-attend.png")


def test_the_page_works_from_the_keyboard_in_reading_order_and_its_text_keeps_enough_contrast(
    page: Page, local_stack: RunningStack, keynote_link: str
) -> None:
    attendee = paid_attendee(local_stack, "kim")
    set_clock(local_stack, "2020-08-05T11:35:00-05:00")  # the keynote is live: its highlight, badge and Join link
    page.goto("/attend" + TICK)
    form = page.locator("#signin-form")
    expect(form.get_by_label("Email", exact=True)).to_be_focused()
    assert too_faint(page) == []

    # Signed in with the keyboard alone, each field next in the order it is read
    page.keyboard.type(attendee["email"])
    page.keyboard.press("Tab")
    expect(form.get_by_label("Access code")).to_be_focused()
    page.keyboard.type(attendee["code"])
    page.keyboard.press("Tab")
    expect(form.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#welcome")).to_be_focused()

    # Then the controls in reading order: sign out, the agenda's other days, the live session's Join link, which
    # shows where the focus is
    join = session_item(page, KEYNOTE).get_by_role("link", name=re.compile("^Join"))
    expect(join).to_have_attribute("href", keynote_link, timeout=45_000)  # the event cache: up to 30 s
    for control in (
        page.get_by_role("button", name="Sign out"),
        page.get_by_role("button", name="Show all days"),
        join,
    ):
        page.keyboard.press("Tab")
        expect(control).to_be_focused()
    outline = page.evaluate("[getComputedStyle(document.activeElement).outlineStyle, document.activeElement.id]")
    assert outline[0] != "none", outline
    # The agenda is drawn anew each tick: the focus stays on the Join link through the redraw
    drawn = session_item(page, KEYNOTE).element_handle()
    page.wait_for_function("(item) => !item.isConnected", arg=drawn)
    expect(join).to_be_focused()
    expect(session_item(page, KEYNOTE)).to_have_class(re.compile(r"\bis-live\b"))
    expect(page.locator("#counting")).to_have_attribute("data-state", "counting")
    assert too_faint(page) == []

    # And out, with the keyboard too
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Sign out")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#signin-message")).to_have_text("You signed out.")
