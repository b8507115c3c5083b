"""Certificate ids that verify themselves: a random part and an HMAC of it under a versioned key.

`crt_<16 random base32>_<key version><16 base32 of the HMAC>`: unguessable (80 random bits), impossible
to forge or alter without the key (80 bits of HMAC-SHA256), and the key can be rotated: each id names
the version that signed it, and old versions stay to verify old certificates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

# The key version is a number of any length (1, 2, ... 10, 11: rotation never runs out); the HMAC's fixed 16
# characters after it tell where it ends.
_ID = re.compile(r"^crt_([a-z2-7]{16})_([1-9][0-9]{0,8})([a-z2-7]{16})$")


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().lower().rstrip("=")


class CertificateIds(Protocol):
    """What the certificate service needs of its keys: new ids, and checking one."""

    def new_id(self) -> str: ...

    def verifies(self, certificate_id: str) -> bool: ...


@dataclass(frozen=True)
class CertificateKeys:
    current: str  # the version new ids are signed with
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        versions = [self.current, *self.keys]
        if not all(re.fullmatch(r"[1-9][0-9]{0,8}", version) for version in versions) or self.current not in self.keys:
            raise ValueError("certificate key versions are numbers from 1, and the current one must have a key")

    def _mac(self, version: str, random_part: str) -> str:
        digest = hmac.new(self.keys[version], f"certificate|{random_part}".encode(), hashlib.sha256).digest()
        return _b32(digest)[:16]

    def new_id(self) -> str:
        random_part = _b32(secrets.token_bytes(10))
        return f"crt_{random_part}_{self.current}{self._mac(self.current, random_part)}"

    def verifies(self, certificate_id: str) -> bool:
        found = _ID.match(certificate_id)
        if not found or found.group(2) not in self.keys:
            return False
        random_part, version, mac = found.groups()
        return hmac.compare_digest(self._mac(version, random_part), mac)
