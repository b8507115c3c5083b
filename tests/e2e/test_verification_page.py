"""The certificate's verification page as a person meets it: Debian's chromium (the registration page's browser and
page fixtures, which fail a test on a script error or a Content-Security-Policy violation) against the local stack
started as a process. The attendee qualifies through the streaming platform's participant reports (the organiser's
Zoom import, over HTTP), the certificate email is read from the local mailbox, and its URL opened as the QR code
would open it: valid, then revoked by a reissue, and an unknown id."""

from __future__ import annotations

import email
import io
import re
from email.policy import default
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from infra.organiser_sign_in import organiser_token
from shared.conference import load_conference
from tests.e2e import test_attend_page as attend_page
from tests.e2e import test_registration_page as registration_page

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

browser = registration_page.browser
page = registration_page.page


def zoom_report(email: str, session_id: str) -> bytes:
    """The session's whole length, as Zoom's participant report has it for one person who joined once."""
    session = load_conference().session(session_id)
    assert session is not None
    stamp = "%m/%d/%Y %I:%M:%S %p"
    return (
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\r\n"
        f"Dora,{email},{session.starts_at.strftime(stamp)},{session.ends_at.strftime(stamp)},"
        f"{session.scheduled_minutes},No\r\n"
    ).encode()


def certificate_email(stack: RunningStack, address: str) -> tuple[str, str, bytes]:
    """(certificate id, verification URL, PDF) of the newest certificate email to `address`."""
    emails = [e for e in attend_page.emails_to(stack, address) if "Certificate" in e["subject"]]
    text = attend_page.plain_text(stack, emails[-1]["id"])
    (certificate_id,) = re.findall(r"^Certificate ID: (\S+?)\r?$", text, flags=re.MULTILINE)
    (url,) = re.findall(r"(http\S+/verify/\S+?)\r?$", text, flags=re.MULTILINE)
    raw = requests.get(f"{stack.api}/_local/emails/{emails[-1]['id']}.eml", timeout=5).content
    message = email.message_from_bytes(raw, policy=default)
    (pdf,) = [
        p.get_payload(decode=True) for p in message.iter_attachments() if p.get_content_type() == "application/pdf"
    ]
    assert isinstance(pdf, bytes)
    return certificate_id, url, pdf


def test_the_qr_code_s_page_says_valid_then_revoked_and_an_unknown_id_is_a_404_page(
    page: Page, local_stack: RunningStack
) -> None:
    # Given an attendee in every session's Zoom report (imported by the support organiser), issued a certificate
    attendee = attend_page.paid_attendee(local_stack, "verify")
    support = {"Authorization": f"Bearer {organiser_token(local_stack.api, 'support')}", "Content-Type": "text/csv"}
    for session in load_conference().sessions:
        imported = requests.post(
            f"{local_stack.api}/admin/sessions/{session.id}/attendance-import",
            data=zoom_report(attendee["email"], session.id),
            headers=support,
            timeout=10,
        )
        assert imported.status_code == 200 and imported.json()["matched"] == 1, imported.text
    attend_page.set_clock(local_stack, "2020-08-08T12:00:00-05:00")
    issued = requests.post(
        f"{local_stack.api}/admin/certificates/issue", headers=attend_page.admin_headers(local_stack), timeout=30
    )
    assert issued.status_code == 202, issued.text
    attend_page.drain(local_stack)
    certificate_id, url, pdf = certificate_email(local_stack, attendee["email"])

    # And the PDF prints the URL the email gives, which is the verification page's
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert url == f"{local_stack.api}/verify/{certificate_id}" and url in text

    # When a person opens it
    opened = page.goto(url)

    # Then the page says it is valid, for whom, which conference, the hours and the date; nothing else about them
    assert opened is not None and opened.status == 200
    expect(page).to_have_title("Certificate valid: 2020 NASRO Virtual National School Safety Conference")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of attendance")
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Valid: issued on 8 August 2020$"))
    details = page.locator("dl")
    expect(details).to_contain_text("Ana Lopez")
    expect(details).to_contain_text("15.5 hours")
    expect(details).to_contain_text(certificate_id)
    assert attendee["email"] not in page.content() and "Springfield" not in page.content()

    # When the organiser reissues it (a corrected name), the old URL says revoked and since when
    login = {"email": attendee["email"], "access_code": attendee["code"]}
    attendee_id = requests.post(f"{local_stack.api}/logins", json=login, timeout=10).json()["attendee_id"]
    reissued = requests.post(
        f"{local_stack.api}/admin/attendees/{attendee_id}/certificate/reissue",
        json={"last_name": "López"},
        headers=attend_page.admin_headers(local_stack),
        timeout=30,
    )
    assert reissued.status_code == 202, reissued.text
    attend_page.drain(local_stack)
    page.goto(url)
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Revoked on \d{1,2} \w+ \d{4}$"))
    expect(page.locator("p.note")).to_contain_text("replaced by a corrected one")
    new_id, new_url, _ = certificate_email(local_stack, attendee["email"])
    assert new_id == reissued.json()["certificate_id"]
    page.goto(new_url)
    expect(page.get_by_role("status")).to_have_text(re.compile("^Valid"))
    expect(page.locator("dl")).to_contain_text("Ana López")

    # And an id nobody issued is a page saying so, with a 404
    unknown = page.goto(f"{local_stack.api}/verify/crt_aaaaaaaaaaaaaaaa_1aaaaaaaaaaaaaaaa")
    assert unknown is not None and unknown.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate not found")
