"""The verification page's HTML (shared/certificates/page.py): what it says of a valid, revoked, replaced or erased
certificate, that it says nothing more personal, and that what a certificate holds is escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser

from shared.admin.privacy import ERASED as PRIVACY_ERASED
from shared.api.pages import content_security_policy
from shared.certificates.models import Certificate, CertificateStatus, CertifiedSession
from shared.certificates.page import ERASED, not_found_page, verification_page

CERTIFICATE = Certificate(
    certificate_id="crt_abcdefghijklmnop_1qrstuvwxyz234567",
    attendee_id="att_1",
    registration_id="reg_1",
    attendee_name="Łukasz Nguyễn",
    conference="2020 NASRO Virtual National School Safety Conference",
    hours=15.5,
    issued_at=date(2020, 8, 7),
    created_at=datetime(2020, 8, 8, 3, tzinfo=UTC),
    organization="Springfield PD",
    license_id="IL-12345",
    sessions=(CertifiedSession(session_id="s", title="Legal Update", day=date(2020, 8, 7), minutes=75),),
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_a_valid_certificate_shows_its_facts_and_nothing_more_personal() -> None:
    html = verification_page(CERTIFICATE)
    text = text_of(html)
    assert "Valid: issued on 7 August 2020" in text
    assert "Name Łukasz Nguyễn" in text and "Hours attended 15.5 hours" in text
    assert "Conference 2020 NASRO Virtual National School Safety Conference" in text
    assert CERTIFICATE.certificate_id in text
    # Not the organization, licence id, sessions or ids of the person or registration
    assert all(private not in html for private in ("Springfield", "IL-12345", "Legal Update", "att_1", "reg_1"))
    assert '<html lang="en">' in html and 'content="noindex, nofollow"' in html
    assert "<script" not in html  # nothing to run; the one style is allowed by its hash
    assert "'sha256-" in content_security_policy(html)


def test_a_revoked_certificate_says_since_when_and_whether_it_was_replaced() -> None:
    revoked = CERTIFICATE.model_copy(
        update={
            "status": CertificateStatus.REVOKED,
            "revoked_at": datetime(2020, 8, 12, 15, tzinfo=UTC),
            "replaced_by": "crt_other",
        }
    )
    text = text_of(verification_page(revoked))
    assert "Revoked on 12 August 2020" in text and "replaced by a corrected one" in text
    assert "crt_other" not in text and "Valid" not in text
    # Revoked before the date was kept: revoked, without a date
    unknown = revoked.model_copy(update={"revoked_at": None, "replaced_by": None})
    assert "Revoked Certificate ID" in text_of(verification_page(unknown))


def test_an_erased_person_s_name_is_not_shown() -> None:
    assert ERASED == PRIVACY_ERASED
    erased = CERTIFICATE.model_copy(update={"attendee_name": ERASED, "status": CertificateStatus.REVOKED})
    assert "Name (removed at the holder's request)" in text_of(verification_page(erased))


def test_what_the_page_shows_is_escaped() -> None:
    hostile = CERTIFICATE.model_copy(update={"attendee_name": "<script>alert(1)</script> & Co"})
    html = verification_page(hostile)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in not_found_page("<script>x</script>")
