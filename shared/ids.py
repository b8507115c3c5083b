"""Identifiers: random, unguessable, URL-safe, with a prefix that says what they name."""

from __future__ import annotations

import base64
import re
import secrets

_ID_PATTERN = re.compile(r"^[a-z]{3}_[a-z2-7]{24}$")


def new_id(prefix: str) -> str:
    # 15 random bytes = 120 bits, 24 base32 characters: unguessable and safe in URLs and file names.
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode().lower()}"


def is_id(value: str, prefix: str) -> bool:
    return bool(_ID_PATTERN.match(value)) and value.startswith(f"{prefix}_")
