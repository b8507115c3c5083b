"""The hosted Checkout page: plain HTML with inline styles and no scripts or external assets."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from infra.stripe_standin.money import format_amount
from infra.stripe_standin.objects import Obj

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1a1f36; background: #f6f9fc; margin: 0; }
main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px;
       box-shadow: 0 1px 3px rgba(0, 0, 0, .15); }
.badge { display: inline-block; margin: 0; padding: .1rem .6rem; border-radius: 4px; background: #ffde92;
         color: #5b3a00; font-size: .8rem; font-weight: 600; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; font-weight: 600; }
th, td { padding: .4rem 0; text-align: left; border-bottom: 1px solid #e3e8ee; }
td.amount, th.amount { text-align: right; }
tfoot th, tfoot td { border-bottom: 0; font-weight: 700; }
label { display: block; margin-bottom: .25rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #8792a2;
        border-radius: 4px; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
.actions form { flex: 1; }
button { width: 100%; padding: .7rem; font: inherit; font-weight: 600; border-radius: 6px; cursor: pointer; }
.pay { background: #0a2540; color: #fff; border: 0; }
.cancel { background: #fff; color: #0a2540; border: 1px solid #0a2540; }
button:focus-visible, input:focus-visible { outline: 3px solid #635bff; outline-offset: 2px; }
"""


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        '<p class="badge">Test mode: Stripe stand-in</p>\n'
        f"{body}</main>\n</body>\n</html>\n"
    )


def checkout_page(session: Obj, line_items: list[Obj]) -> str:
    currency = session["currency"]
    total = format_amount(session["amount_total"], currency)
    rows = "".join(
        f"<tr><td>{escape(item['description'] or '')}</td><td>{item['quantity']}</td>"
        f'<td class="amount">{format_amount(item["amount_total"], currency)}</td></tr>\n'
        for item in line_items
    )
    summary = (
        "<table>\n<caption>Order summary</caption>\n"
        '<thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col" class="amount">Amount</th>'
        "</tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n"
        f'<tfoot><tr><th scope="row" colspan="2">Total</th><td class="amount">{total}</td></tr></tfoot>\n'
        "</table>\n"
    )
    heading = f"<h1>Pay {escape(total)}</h1>\n"
    status = session["status"]
    if status != "open":
        message = "This Checkout Session is complete." if status == "complete" else "This Checkout Session has expired."
        return _document("Checkout", f'{heading}{summary}<p role="status">{message}</p>\n')

    session_id = escape(session["id"])
    email = session["customer_email"]
    if email:
        contact = f"<p>Email: <strong>{escape(email)}</strong></p>\n"
        email_field = ""
    else:
        # Without a prefilled email Checkout asks for one; it goes with the Pay form.
        contact = ""
        email_field = (
            '<label for="email">Email</label>\n'
            '<input id="email" name="email" type="email" autocomplete="email" required form="pay">\n'
        )
    cancel = (
        f'<form method="post" action="/checkout/{session_id}/cancel">'
        '<button class="cancel" type="submit">Cancel</button></form>\n'
        if session["cancel_url"]
        else ""
    )
    actions = (
        '<div class="actions">\n'
        f'<form id="pay" method="post" action="/checkout/{session_id}/pay">'
        '<button class="pay" type="submit">Pay</button></form>\n'
        f"{cancel}</div>\n"
    )
    return _document(f"Pay {total}", f"{heading}{summary}{contact}{email_field}{actions}")


def message_page(title: str, message: str) -> str:
    return _document(title, f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>\n")


def invoice_page(invoice: Obj, customer: Obj) -> str:
    """Stripe's hosted invoice page: the lines, the due date, the custom fields (a PO number), and Pay while open."""
    currency = invoice["currency"]
    total = format_amount(invoice["amount_due"], currency)
    rows = "".join(
        f"<tr><td>{escape(line['description'] or '')}</td><td>{line['quantity']}</td>"
        f'<td class="amount">{format_amount(line["amount"], currency)}</td></tr>\n'
        for line in invoice["lines"]["data"]
    )
    summary = (
        f"<table>\n<caption>Invoice {escape(invoice['number'] or '')}</caption>\n"
        '<thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col" class="amount">Amount</th>'
        "</tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n"
        f'<tfoot><tr><th scope="row" colspan="2">Amount due</th><td class="amount">{total}</td></tr></tfoot>\n'
        "</table>\n"
    )
    details = f"<p>Billed to: <strong>{escape(customer['name'] or customer['email'] or '')}</strong></p>\n"
    for field in invoice["custom_fields"] or []:
        details += f"<p>{escape(field['name'])}: <strong>{escape(field['value'])}</strong></p>\n"
    if invoice["due_date"]:
        due = datetime.fromtimestamp(invoice["due_date"], UTC).strftime("%B %-d, %Y")
        details += f"<p>Due: <strong>{due}</strong></p>\n"
    heading = f"<h1>Invoice: {escape(total)}</h1>\n"
    status = invoice["status"]
    if status not in ("open", "uncollectible"):
        message = "This invoice has been paid." if status == "paid" else "This invoice has been voided."
        return _document("Invoice", f'{heading}{summary}{details}<p role="status">{message}</p>\n')
    pay = (
        f'<div class="actions">\n<form method="post" action="/invoice/{escape(invoice["id"])}/pay">'
        '<button class="pay" type="submit">Pay</button></form>\n</div>\n'
    )
    return _document(f"Invoice {total}", f"{heading}{summary}{details}{pay}")
