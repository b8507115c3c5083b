"""GET /verify/{certificate_id}: the page a person sees after scanning a certificate's QR code.

It answers one question, "is this certificate genuine and still valid?", with what the PDF already shows and nothing
more personal: valid or revoked and since when, the name, the conference, the hours and the issue date. No email, no
organization, no licence id, no sessions. No script; one small inline style (allowed by its hash, shared/api/pages.py).
Pure: a certificate in, HTML out.
"""

from __future__ import annotations

from datetime import UTC
from html import escape

from shared.certificates.formats import day_month_year, format_hours
from shared.certificates.models import Certificate, CertificateStatus

ERASED = "erased"  # what the privacy erasure leaves in place of a name (shared/admin/privacy.py)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:36rem;margin:2rem auto;padding:1.5rem 1.75rem;background:#fff;border:1px solid #d8dbe0;border-radius:8px}
h1{font-size:1.35rem;margin:0 0 1rem;color:#1f3a5f}
.status{font-size:1.15rem;font-weight:600;padding:.75rem 1rem;border-radius:6px;margin:0 0 1.25rem}
.valid{background:#e6f4ea;color:#135e2b;border:1px solid #9bd3ae}
.revoked{background:#fdecea;color:#8a1c13;border:1px solid #f0a9a2}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1rem;margin:0}
dt{font-weight:600;color:#555}dd{margin:0;overflow-wrap:anywhere}
p.note{color:#555;font-size:.9rem;margin:1.25rem 0 0}
"""


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # The page names a person: search engines are asked not to keep it.
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def verification_page(certificate: Certificate) -> str:
    valid = certificate.status is CertificateStatus.VALID
    if valid:
        status = f"Valid: issued on {day_month_year(certificate.issued_at)}"
    elif certificate.revoked_at is not None:
        status = f"Revoked on {day_month_year(certificate.revoked_at.astimezone(UTC).date())}"
    else:
        status = "Revoked"
    name = certificate.attendee_name
    shown_name = "(removed at the holder's request)" if name == ERASED else name
    rows = [
        ("Certificate ID", certificate.certificate_id),
        ("Name", shown_name),
        ("Conference", certificate.conference),
        ("Hours attended", format_hours(certificate.hours)),
        ("Issued on", day_month_year(certificate.issued_at)),
    ]
    details = "\n".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in rows)
    if valid:
        note = "This certificate of attendance was issued by the conference and has not been revoked."
    elif certificate.replaced_by:
        note = "This certificate was revoked and replaced by a corrected one; ask its holder for the current one."
    else:
        note = "This certificate was revoked: it no longer certifies attendance."
    body = (
        "<h1>Certificate of attendance</h1>\n"
        f'<p class="status {"valid" if valid else "revoked"}" role="status">{escape(status)}</p>\n'
        f"<dl>\n{details}\n</dl>\n"
        f'<p class="note">{escape(note)}</p>'
    )
    return _document(f"Certificate {'valid' if valid else 'revoked'}: {certificate.conference}", body)


def not_found_page(certificate_id: str) -> str:
    body = (
        "<h1>Certificate not found</h1>\n"
        '<p class="status revoked" role="status">No certificate has this id.</p>\n'
        f"<dl>\n<dt>Certificate ID</dt><dd>{escape(certificate_id[:120])}</dd>\n</dl>\n"
        '<p class="note">Check the address against the one printed on the certificate: the id is '
        "<code>crt_</code> followed by letters and digits.</p>"
    )
    return _document("Certificate not found", body)
