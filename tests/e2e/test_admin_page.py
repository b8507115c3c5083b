"""The organiser's page at `/admin` as an organiser meets it: Debian's chromium, driven by Playwright (the browser and
page fixtures of the registration page's test), against the local stack started as a process. Organisers sign in
through the page's form with the local stack's Cognito accounts (`<group>@example.org`, in moto); the data is made
over HTTP first: registrations paid through the Stripe stand-in's test route, the stack drained."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from playwright.sync_api import Locator, Page, Request, Route, expect

from infra.organiser_sign_in import local_pool, organiser_token
from infra.samples import group, individual
from shared.api.pages import content_security_policy
from tests.e2e import test_registration_page as registration_page

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# The registration page's fixtures, shared rather than copied: Debian's chromium with its flags, and a page that fails
# its test on a script error or a Content-Security-Policy violation.
browser = registration_page.browser
page = registration_page.page

# The local stack's organisers: one account per group, `<group>@example.org`, all with this password.
LOCAL_PASSWORD = os.environ.get("LOCAL_ORGANISER_PASSWORD", "Local-organiser-1")
ADMIN_EMAIL = "admin@example.org"


@pytest.fixture
def admin(local_stack: RunningStack) -> dict[str, str]:
    """The admin organiser's headers (a fresh access token per test)."""
    return {"Authorization": f"Bearer {organiser_token(local_stack.api, 'admin')}"}


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


def sign_in(page: Page, email: str = ADMIN_EMAIL, password: str = LOCAL_PASSWORD) -> None:
    """Through the page's sign-in form, as an organiser does (the page asks Cognito for the tokens)."""
    page.goto("/admin")
    form = page.locator("#signin-view")
    expect(form.get_by_label("Email", exact=True)).to_be_focused()
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in", exact=True).click()


def signed_in(page: Page, email: str = ADMIN_EMAIL, password: str = LOCAL_PASSWORD) -> None:
    """Signed in and the workspace open."""
    sign_in(page, email, password)
    expect(page.locator("#signin-view")).to_be_hidden()
    expect(page.locator("#workspace")).to_be_visible()


SESSION_KEY = "conference-admin-session"


def kept_session(page: Page) -> dict[str, Any] | None:
    """The tokens the page keeps in the tab's sessionStorage."""
    kept: dict[str, Any] | None = page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key))", SESSION_KEY)
    return kept


def change_session(page: Page, **changes: Any) -> None:
    page.evaluate(
        """([key, changes]) => {
            const kept = JSON.parse(sessionStorage.getItem(key));
            sessionStorage.setItem(key, JSON.stringify({ ...kept, ...changes }));
        }""",
        [SESSION_KEY, changes],
    )


def row_of(page: Page, registration_id: str) -> Locator:
    return page.locator(f'#registrations-rows tr[data-registration-id="{registration_id}"]')


def test_the_admin_page_is_served_with_a_strict_policy(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api}/admin", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    # Fetch to this origin, and to the deployment's Cognito (locally moto, on loopback) for the sign-in.
    cognito = requests.get(f"{local_stack.api}/site-config.json", timeout=5).json()["cognito"]["endpoint"]
    assert cognito.startswith("http://127.0.0.1:")
    assert policy == content_security_policy(response.text, connect_src=[cognito])
    assert f"connect-src 'self' {cognito};" in policy
    assert "script-src 'self';" in policy  # no inline script: the page's own is /assets/admin.js
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/]+=*';", policy)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and re.search(r'<script src="/assets/admin\.js\?v=\w+">', response.text)
    # The organiser's data needs a signed-in organiser's access token; the page itself holds no account.
    refused = requests.get(f"{local_stack.api}/admin/registrations", timeout=5)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert LOCAL_PASSWORD not in response.text and ADMIN_EMAIL not in response.text


def test_a_wrong_password_is_refused_and_the_right_one_lists_filters_and_searches(
    page: Page, local_stack: RunningStack, paid: dict[str, str]
) -> None:
    sign_in(page, ADMIN_EMAIL, "Not-the-password-1")

    form = page.locator("#signin-view")
    expect(page.locator("#signin-error")).to_have_text("The email or password is not right.")
    expect(page.locator("#workspace")).to_be_hidden()
    expect(form.get_by_label("Password", exact=True)).to_be_focused()
    expect(form.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")

    form.get_by_label("Password", exact=True).fill(LOCAL_PASSWORD)
    form.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.locator("#signin-view")).to_be_hidden()
    expect(page.get_by_role("heading", name="Registrations")).to_be_focused()
    expect(page.locator("#who-email")).to_have_text(ADMIN_EMAIL)
    expect(page.locator("#who-groups")).to_have_text("Group: admin")
    assert kept_session(page) is not None and page.evaluate("localStorage.length") == 0  # this tab only
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
    signed_in(page)
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
    page.reload()  # the session is kept for the tab

    expect(row.locator(".status-word")).to_have_text("Refunded")
    expect(row).to_have_attribute("data-status", "refunded")
    expect(row.get_by_role("button")).to_have_count(0)  # nothing more to refund or resend
    assert email in row.inner_text()


def test_issuing_certificates_shows_the_counts_and_an_export_downloads(
    page: Page, local_stack: RunningStack, paid: dict[str, str], admin: dict[str, str]
) -> None:
    signed_in(page)

    page.get_by_role("button", name="Issue certificates").click()

    expect(page.locator("#issue-result")).to_be_visible()
    eligible = requests.post(f"{local_stack.api}/admin/certificates/issue", headers=admin, timeout=10).json()
    expect(page.locator("#issue-eligible")).to_have_text(str(eligible["eligible"]))
    expect(page.locator("#issue-queued")).to_have_text(re.compile(r"^\d+$"))

    # A problem is shown by its detail, never as JSON.
    page.get_by_label("Attendee id").fill("att_unknown")
    page.get_by_role("button", name="Reissue certificate").click()
    refused = requests.post(
        f"{local_stack.api}/admin/attendees/att_unknown/certificate/reissue", headers=admin, timeout=10
    ).json()
    expect(page.locator("#reissue-error")).to_have_text(refused["detail"])

    with page.expect_download() as started:
        page.get_by_role("button", name="Download registrations.csv").click()
    download = started.value

    # Named after the event it is of (the featured one, selected by default).
    featured = next(
        e["id"]
        for e in requests.get(f"{local_stack.api}/admin/events", headers=admin, timeout=5).json()["items"]
        if e["featured"]
    )
    assert download.suggested_filename == f"registrations-{featured}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "registration_id" in text.splitlines()[0]
    assert all(registration_id in text for registration_id in paid.values())
    expect(page.locator("#exports-message")).to_contain_text(f"registrations-{featured}.csv downloaded")


def test_a_person_s_data_is_downloaded_then_erased_from_the_page(
    page: Page, local_stack: RunningStack, admin: dict[str, str]
) -> None:
    # Given a paid registrant of their own (the module's others are used by the other tests)
    email = f"admin.erase.{uuid.uuid4().hex[:8]}@example.org"
    registration_id = paid_registration(local_stack, email)
    drain(local_stack)
    signed_in(page)

    # When the organiser downloads their data
    page.locator("#people").get_by_label("Email", exact=True).fill(email)
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
    gone = requests.post(f"{local_stack.api}/admin/people/export", json={"email": email}, headers=admin, timeout=5)
    assert gone.status_code == 404


# ---------- organisers: their groups, a first sign-in, the session ----------
def test_a_viewer_sees_the_lists_and_exports_but_no_refund_erase_or_edit(
    page: Page, local_stack: RunningStack, paid: dict[str, str]
) -> None:
    signed_in(page, "viewer@example.org")

    expect(page.locator("#who-email")).to_have_text("viewer@example.org")
    expect(page.locator("#who-groups")).to_have_text("Group: viewer")
    (_, first_id), _ = paid.items()
    expect(row_of(page, first_id).locator(".status-word")).to_have_text("Paid")
    expect(page.locator("#registrations-rows").get_by_role("button")).to_have_count(0)  # no refund, no resend
    expect(page.locator("#registrations-role")).to_have_text(
        "Refunds need the finance or admin group; resending confirmations needs the support or admin group."
    )
    expect(page.get_by_role("button", name="Download registrations.csv")).to_be_visible()
    for name in (
        "Erase this person",
        "Download their data (JSON)",
        "Issue certificates",
        "Reissue certificate",
        "New event",
        "Edit this event",
        "Publish",
        "Unpublish",
        "Feature",
        "Save event",
        "Save anyway",
        "Add a session",
    ):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.locator("#people")).to_contain_text("needs the admin group")
    expect(page.locator("#certificates")).to_contain_text("needs the support or admin group")
    # The event is there to read, not to change.
    expect(page.get_by_role("heading", name="Event details")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).not_to_have_value("")
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()

    with page.expect_download() as started:
        page.get_by_role("button", name="Download shipments.csv").click()
    assert started.value.suggested_filename.startswith("shipments")


def test_a_refusal_by_the_server_shows_its_detail(page: Page, local_stack: RunningStack, paid: dict[str, str]) -> None:
    (_, first_id), _ = paid.items()
    viewer = organiser_token(local_stack.api, "viewer")
    refused = requests.post(
        f"{local_stack.api}/admin/registrations/{first_id}/refund",
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=10,
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    # Finance is offered refunds (and not the support's resend).
    signed_in(page, "finance@example.org")
    row = row_of(page, first_id)
    expect(row.get_by_role("button", name=re.compile("^Refund"))).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Resend"))).to_have_count(0)

    # As if their group had changed since they signed in: the refund goes with a viewer's token.
    def as_a_viewer(route: Route) -> None:
        route.continue_(headers={**route.request.headers, "authorization": f"Bearer {viewer}"})

    page.route("**/admin/registrations/*/refund", as_a_viewer)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("^Refund")).click()

    expect(page.locator("#registrations-error")).to_have_text(refused.json()["detail"])
    expect(row.get_by_role("button", name=re.compile("^Refund"))).to_be_enabled()
    expect(page.locator("#workspace")).to_be_visible()  # a 403 is not a sign-out


def test_a_first_sign_in_sets_a_new_password_then_opens_the_page(page: Page, local_stack: RunningStack) -> None:
    # Given an organiser an administrator has just created, with a temporary password, in the support group
    pool, cognito = local_pool(local_stack.api)
    email = f"new.organiser.{uuid.uuid4().hex[:8]}@example.org"
    cognito.admin_create_user(
        UserPoolId=pool["user_pool_id"],
        Username=email,
        TemporaryPassword="Temporary-pass-1",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(UserPoolId=pool["user_pool_id"], Username=email, GroupName="support")

    # When they sign in with it, Cognito asks for their own password: the page's next step, with the pool's rules
    sign_in(page, email, "Temporary-pass-1")
    new_password = page.get_by_label("New password", exact=True)
    expect(new_password).to_be_focused()
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    expect(new_password).to_have_accessible_description(
        re.compile("At least 12 characters.*uppercase.*lowercase.*digit.*symbol")
    )
    expect(page.locator("#signin-status")).to_contain_text("choose your own password")

    # A password the pool would refuse is explained before it is sent
    new_password.fill("tooshort")
    page.get_by_label("New password again").fill("tooshort")
    page.get_by_role("button", name="Set the password and sign in").click()
    expect(page.locator("#signin-error")).to_have_text(
        "The new password needs at least 12 characters, an uppercase letter, a digit, a symbol."
    )
    expect(new_password).to_have_attribute("aria-invalid", "true")
    expect(new_password).to_be_focused()

    new_password.fill("A-new-passphrase-2")
    page.get_by_label("New password again").fill("A-new-passphrase-2")
    page.get_by_role("button", name="Set the password and sign in").click()

    # Then they land on the page, as themselves, offered what support may do
    expect(page.locator("#signin-view")).to_be_hidden()
    expect(page.get_by_role("heading", name="Registrations")).to_be_focused()
    expect(page.locator("#who-email")).to_have_text(email)
    expect(page.locator("#who-groups")).to_have_text("Group: support")
    expect(page.get_by_role("button", name="Issue certificates")).to_be_visible()
    expect(page.get_by_role("button", name="Erase this person")).to_have_count(0)
    # and the new password is theirs now
    signed = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool["client_id"],
        AuthParameters={"USERNAME": email, "PASSWORD": "A-new-passphrase-2"},
    )
    assert "AccessToken" in signed["AuthenticationResult"]


def test_an_organiser_with_an_authenticator_app_gives_its_code_as_the_second_step(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a finance organiser who has set up an authenticator app (TOTP) as their preferred MFA
    pool, cognito = local_pool(local_stack.api)
    email = f"mfa.organiser.{uuid.uuid4().hex[:8]}@example.org"
    password = "An-own-passphrase-3"
    cognito.admin_create_user(
        UserPoolId=pool["user_pool_id"],
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool["user_pool_id"], Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool["user_pool_id"], Username=email, GroupName="finance")
    access = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool["client_id"],
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]["AccessToken"]
    cognito.associate_software_token(AccessToken=access)
    cognito.verify_software_token(AccessToken=access, UserCode="123456")  # moto takes any code unless told otherwise
    cognito.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )

    # When they sign in with their password, Cognito asks for the code: the page's next step
    sign_in(page, email, password)
    code = page.get_by_role("textbox", name="Authenticator code")
    expect(code).to_be_focused()
    expect(page.get_by_role("heading", name="Enter your authenticator code")).to_be_visible()
    expect(page.locator("#signin-status")).to_contain_text("enter the code from your authenticator app")
    expect(page.locator("#workspace")).to_be_hidden()

    # A code that cannot be one is explained before it is sent
    answers: list[str] = []
    page.on(
        "request",
        lambda r: (
            answers.append(r.post_data or "")
            if r.headers.get("x-amz-target", "").endswith(".RespondToAuthChallenge")
            else None
        ),
    )
    code.fill("12")
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#signin-error")).to_have_text("Enter the 6-digit code from your authenticator app.")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()
    assert answers == []

    # Then six digits (spaces as the app shows them) answer Cognito's challenge and open the page as them
    code.fill("654 321")
    page.get_by_role("button", name="Verify the code").click()
    expect(page.locator("#signin-view")).to_be_hidden()
    expect(page.locator("#who-email")).to_have_text(email)
    expect(page.locator("#who-groups")).to_have_text("Group: finance")
    (answer,) = answers
    assert json.loads(answer)["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"] == "654321"
    kept = kept_session(page)
    assert kept is not None and kept["access"]


def listing_done(page: Page) -> None:
    """The page's own signal that a listing has ended: every request of it answered, the count written."""
    expect(page.locator("#registrations-table")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#registrations-count")).to_contain_text("loaded")


def test_an_access_token_is_refreshed_before_it_expires_and_once_when_refused(
    page: Page, local_stack: RunningStack
) -> None:
    signed_in(page)
    first = kept_session(page)
    assert first is not None

    # Due within the minute: the next call first gets a new access token with the refresh token
    change_session(page, expiresAt=int(time.time() * 1000) + 30_000)
    with page.expect_request(lambda r: "REFRESH_TOKEN_AUTH" in (r.post_data or "")):
        page.get_by_role("button", name="Refresh", exact=True).click()
    listing_done(page)
    second = kept_session(page)
    assert second is not None and second["access"] != first["access"] and second["refresh"] == first["refresh"]
    assert second["expiresAt"] > time.time() * 1000 + 30 * 60_000

    # Refused (401): renewed once and the call made again
    change_session(page, access="not-a-token")
    sent: list[str] = []

    def note(request: Request) -> None:
        if "/admin/registrations" in request.url:
            sent.append(request.headers.get("authorization", ""))

    page.on("request", note)
    page.get_by_role("button", name="Refresh", exact=True).click()
    listing_done(page)
    renewed = kept_session(page)
    assert renewed is not None and renewed["access"] not in {"not-a-token", second["access"]}
    assert sent[0] == "Bearer not-a-token" and set(sent[1:]) == {f"Bearer {renewed['access']}"}
    expect(page.locator("#workspace")).to_be_visible()

    # A refresh token Cognito no longer takes: the session has ended
    change_session(page, access="not-a-token", refresh="revoked")
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.locator("#signin-error")).to_have_text("Your session has ended. Sign in again.")
    expect(page.locator("#workspace")).to_be_hidden()
    expect(page.locator("#signin-view").get_by_label("Password", exact=True)).to_be_focused()
    assert kept_session(page) is None


def test_signing_out_ends_the_session_and_returns_to_the_form(page: Page, local_stack: RunningStack) -> None:
    signed_in(page, "support@example.org")
    expect(page.locator("#registrations-rows tr")).not_to_have_count(0)
    kept = kept_session(page)
    assert kept is not None

    page.get_by_role("button", name="Sign out").click()

    form = page.locator("#signin-view")
    expect(form).to_be_visible()
    expect(page.locator("#signin-status")).to_have_text("You are signed out.")
    expect(form.get_by_label("Email", exact=True)).to_be_focused()
    expect(form.get_by_label("Email", exact=True)).to_have_value("")
    expect(page.locator("#workspace")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.locator("#registrations-rows tr")).to_have_count(0)  # nothing of theirs is left on the page
    assert kept_session(page) is None
    # Cognito ended the session (GlobalSignOut): its refresh token is refused
    pool, cognito = local_pool(local_stack.api)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            AuthFlow="REFRESH_TOKEN_AUTH", ClientId=pool["client_id"], AuthParameters={"REFRESH_TOKEN": kept["refresh"]}
        )
    page.reload()
    expect(form.get_by_label("Email", exact=True)).to_be_focused()


# ---------- events: the switcher and the editor ----------
SEED = Path(__file__).resolve().parents[2] / "shared" / "conference" / "nasro-2020.json"


@pytest.fixture
def new_event(local_stack: RunningStack, admin: dict[str, str]) -> str:
    """An unpublished event of its own (the seed's document under another name), so edits touch no other test."""
    document = json.loads(SEED.read_text(encoding="utf-8"))
    del document["id"]
    document["name"] = f"Editor test {uuid.uuid4().hex[:8]}"
    created = requests.post(f"{local_stack.api}/admin/events", json=document, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    event_id: str = created.json()["event_id"]
    return event_id


def event_detail(stack: RunningStack, event_id: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {organiser_token(stack.api, 'viewer')}"}  # reading is every group's
    detail = requests.get(f"{stack.api}/admin/events/{event_id}", headers=headers, timeout=5)
    assert detail.status_code == 200
    return detail


def open_event(page: Page, event_id: str) -> None:
    signed_in(page)
    page.get_by_label("Event", exact=True).select_option(event_id)
    expect(page.locator("#editor-meta")).to_contain_text(f"Event id {event_id}, version")


def session_row(page: Page, index: int) -> Locator:
    return page.locator("#agenda-rows fieldset.session").nth(index)


def test_switching_events_lists_exports_and_edits_the_selected_one(
    page: Page, local_stack: RunningStack, paid: dict[str, str], new_event: str
) -> None:
    signed_in(page)
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
    page: Page, local_stack: RunningStack, new_event: str, admin: dict[str, str]
) -> None:
    open_event(page, new_event)
    current = event_detail(local_stack, new_event)
    renamed = current.json()["document"] | {"name": "Renamed elsewhere"}
    behind = requests.put(
        f"{local_stack.api}/admin/events/{new_event}",
        json=renamed,
        headers={**admin, "If-Match": current.headers["ETag"]},
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


def test_finance_approves_an_invoice_request_and_the_row_shows_its_due_date(
    page: Page, local_stack: RunningStack
) -> None:
    # Given an agency's request to pay by invoice
    body = individual(email=f"admin.invoice.{uuid.uuid4().hex[:8]}@example.org") | {
        "payment": {"method": "invoice", "po_number": "PO-77", "billing_email": "ap@example.org", "billing_name": "AP"}
    }
    created = requests.post(f"{local_stack.api}/registrations", json=body, timeout=10)
    assert created.status_code == 201
    registration_id = created.json()["registration_id"]
    signed_in(page, "finance@example.org")
    row = row_of(page, registration_id)
    expect(row.locator(".status-word")).to_have_text("Invoice requested")
    expect(row.get_by_role("button", name=re.compile("^Reject"))).to_be_visible()

    # When finance approves it (the page asks first)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("^Approve invoice")).click()

    # Then Stripe sent the invoice, and the row is invoiced with its due date and the invoice's page
    expect(page.locator("#registrations-message")).to_contain_text(re.compile(r"Invoice in_\w+ sent"))
    expect(row.locator(".status-word")).to_have_text("Invoiced")
    expect(row.locator(".invoice-due")).to_contain_text("Due ")
    expect(row.locator(".invoice-due a")).to_have_attribute("href", re.compile(r"/invoice/in_\w+$"))
    expect(row.get_by_role("button")).to_have_count(0)


def test_support_substitutes_an_officer_from_the_registration_s_detail(page: Page, local_stack: RunningStack) -> None:
    # Given a paid group of two officers
    tag = uuid.uuid4().hex[:8]
    officers = [f"admin.officer{n}.{tag}@example.org" for n in (1, 2)]
    created = requests.post(f"{local_stack.api}/registrations", json=group(officers), timeout=10)
    assert created.status_code == 201
    registration_id = created.json()["registration_id"]
    session_id = created.json()["checkout_url"].rsplit("/", 1)[-1]
    requests.post(
        f"{local_stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10
    ).raise_for_status()
    drain(local_stack)
    signed_in(page, "support@example.org")

    # When support opens the registration and substitutes the first officer
    row_of(page, registration_id).get_by_role("link", name=registration_id).click()
    detail = page.locator("#registration-detail")
    expect(page.locator("#detail-heading")).to_be_focused()
    seat = detail.locator("#detail-seats li", has_text=officers[0])
    expect(seat.get_by_role("button", name=re.compile("^Resend code"))).to_be_visible()
    seat.get_by_role("button", name=re.compile("^Substitute")).click()
    form = page.locator("#seat-form")
    newcomer = f"admin.newcomer.{tag}@example.org"
    form.get_by_label("First name").fill("Dana")
    form.get_by_label("Last name").fill("Reyes")
    form.get_by_label("Email").fill(newcomer)
    form.get_by_label("Job title (optional)").fill("Sergeant")
    form.get_by_role("button", name="Substitute and send the confirmation").click()

    # Then the seat is Dana's, the officer is listed as replaced, the history says so, and Dana's confirmation is sent
    expect(page.locator("#detail-message")).to_contain_text("Dana Reyes now holds the seat")
    expect(form).to_be_hidden()
    expect(detail.locator("#detail-seats li", has_text=newcomer)).to_contain_text("Active")
    expect(detail.locator("#detail-seats li.former", has_text=officers[0])).to_contain_text("Replaced")
    expect(detail.locator('#detail-history li[data-action="attendee.substituted"]')).to_contain_text(
        "support@example.org"
    )
    drain(local_stack)
    sent = requests.get(f"{local_stack.api}/_local/emails", timeout=5).json()
    assert [m["subject"] for m in sent if newcomer in m["to"] and "confirmed" in m["subject"]]

    # And a viewer sees the same detail without the seat's actions
    page.locator("#sign-out").click()
    expect(page.locator("#signin-view")).to_be_visible()
    expect(detail).to_be_hidden()  # nothing of the organiser's data is left on the page
    signed_in(page, "viewer@example.org")
    row_of(page, registration_id).get_by_role("link", name=registration_id).click()
    expect(page.locator("#detail-role")).to_be_visible()
    expect(detail.locator("#detail-seats").get_by_role("button")).to_have_count(0)
