"""The organiser's page and mail that did not arrive (issue 19), in Debian's chromium against the local stack as a
process: an attendee whose address bounced at SES's mailbox simulator is listed with SES's reason, and support
corrects the address from the page; the attendee's confirmation with a new code goes to the corrected address. A
viewer sees the list but is offered no correction."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e import test_admin_page as admin_page

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

browser = admin_page.browser
page = admin_page.page
REASON = "smtp; 550 5.1.1 user unknown"


def bounced(stack: RunningStack) -> tuple[str, str]:
    """A paid seat at SES's bounce simulator (a label of its own per test), its confirmation sent and bounced."""
    address = f"bounce+{uuid.uuid4().hex[:8]}@simulator.amazonses.com"
    registration_id = admin_page.paid_registration(stack, address)
    admin_page.drain(stack)
    return address, registration_id


def emails_to(stack: RunningStack, address: str) -> list[dict]:
    return [e for e in requests.get(f"{stack.api}/_local/emails", timeout=5).json() if address in e["to"]]


def test_support_corrects_a_bounced_address_from_the_page(page: Page, local_stack: RunningStack) -> None:
    # Given an attendee whose confirmation bounced
    address, registration_id = bounced(local_stack)
    admin_page.signed_in(page, "support@example.org")

    # Then the page lists them under the mail that did not arrive, with SES's reason, and marks them in the table
    problem = page.locator("#mail-problems-list li", has_text=address)
    expect(problem).to_contain_text("Bounced")
    expect(problem).to_contain_text(REASON)
    expect(admin_page.row_of(page, registration_id).locator(".mail-status")).to_have_text("Bounced")

    # When support corrects the address: the form opens focused on it, an unchanged address is refused
    problem.get_by_role("button", name="Correct the email").click()
    field = page.get_by_label("Correct email address")
    expect(field).to_be_focused()
    expect(field).to_have_value(address)
    page.get_by_role("button", name="Save and send the confirmation").click()
    expect(page.locator("#correct-error")).to_contain_text("not the one that did not arrive")
    expect(field).to_have_attribute("aria-invalid", "true")
    fixed = f"fixed.{uuid.uuid4().hex[:8]}@example.org"
    field.fill(fixed)
    page.get_by_role("button", name="Save and send the confirmation").click()

    # Then the page says so, the attendee leaves the list and the table shows the new address without a mark
    expect(page.locator("#correct-message")).to_contain_text(f"is now {fixed}")
    expect(page.locator("#mail-problems-list li", has_text=address)).to_have_count(0)
    row = admin_page.row_of(page, registration_id)
    expect(row).to_contain_text(fixed)
    expect(row.locator(".mail-status")).to_have_count(0)
    expect(page.locator("#correct-form")).to_be_hidden()
    # and the confirmation with a new code went to the corrected address
    admin_page.drain(local_stack)
    (confirmation,) = emails_to(local_stack, fixed)
    assert "confirmed" in confirmation["subject"]


def test_a_viewer_sees_the_bounce_but_is_offered_no_correction(page: Page, local_stack: RunningStack) -> None:
    address, _ = bounced(local_stack)
    admin_page.signed_in(page, "viewer@example.org")
    problem = page.locator("#mail-problems-list li", has_text=address)
    expect(problem).to_contain_text("Bounced")
    expect(problem.get_by_role("button")).to_have_count(0)
    expect(page.locator("#mail-problems-role")).to_have_text("Correcting an address needs the support or admin group.")
