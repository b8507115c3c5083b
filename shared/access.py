"""Personal access codes: random, shown once in the confirmation email, stored only as a digest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

# 100 random bits in five groups of four base32 characters (no 0/1/8/9 confusion, no whitespace):
# typed by people from an email, and far beyond guessing even without the login throttle.
_GROUPS, _GROUP = 5, 4
# Beside the confirmation's code (or the organiser's latest resend), the codes an attendee asked for with
# POST /access-codes keep working: the newest four, each for 30 days. So at most five codes open one seat, and a
# code asked for weeks before the conference still works on its days (asking again sends another).
REQUESTED_CODES_KEPT = 4
REQUESTED_CODE_LIFETIME = timedelta(days=30)


def new_access_code() -> str:
    alphabet = base64.b32encode(secrets.token_bytes(13)).decode()[: _GROUPS * _GROUP]
    return "-".join(alphabet[i : i + _GROUP] for i in range(0, len(alphabet), _GROUP))


def normalize_access_code(code: str) -> str:
    """What a person may type: any case, with or without the hyphens or surrounding spaces."""
    return code.strip().upper().replace("-", "").replace(" ", "")


def hash_access_code(code: str) -> str:
    # A fast hash is enough for 100-bit random secrets (no dictionary to attack).
    return hashlib.sha256(normalize_access_code(code).encode()).hexdigest()


def access_code_matches(code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_access_code(code), stored_hash)
