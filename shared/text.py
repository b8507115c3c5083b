"""Text fields people type: printable Unicode, no control characters, bounded length."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

# Categories never allowed in a name or an address: controls (CR, LF, NUL...), surrogates,
# private use, unassigned, and line/paragraph separators that would break a MIME header or CSV row.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
# Format characters that reorder text (bidi overrides) let a name display as something else.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _printable(value: object) -> object:
    # Runs before whitespace is stripped: a trailing CR/LF is rejected, not silently dropped.
    if not isinstance(value, str):
        return value
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValueError("must not contain control or invisible formatting characters")
    return value


# What a name shown in an email's header and printed on a certificate can never contain: any format character
# (zero-width spaces and joiners, direction marks, the soft hyphen: invisible, they make one name look like another)
# and text that mail readers decode as an RFC 2047 encoded-word ("=?utf-8?q?...?=": it would display as other text).
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


_ZWJ = "\u200d"


def _joins_emoji(value: str, at: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👩‍🚀: a symbol, maybe its skin tone or emoji presentation, the
    joiner, a symbol) is part of a visible picture, not hidden text."""
    before = value[at - 1] if at > 0 else ""
    after = value[at + 1] if at + 1 < len(value) else ""
    shown_before = before != "" and (unicodedata.category(before) in {"So", "Sk"} or before == "\ufe0f")
    return shown_before and after != "" and unicodedata.category(after) == "So"


def _name_text(value: object) -> object:
    if not isinstance(value, str):
        return value
    hidden = (
        at
        for at, char in enumerate(value)
        if unicodedata.category(char) == "Cf" and not (char == _ZWJ and _joins_emoji(value, at))
    )
    if next(hidden, None) is not None:
        raise ValueError("must not contain invisible formatting characters (zero-width, direction marks, soft hyphen)")
    if _ENCODED_WORD.search(value):
        raise ValueError("must not contain an encoded-word (=?...?=)")
    return value


def _typed_text(max_length: int, *checks: Any) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        BeforeValidator(_printable),
        *(BeforeValidator(check) for check in checks),
    ]


Name = _typed_text(100, _name_text)  # names: up to 100 printable characters, nothing invisible (API.md)
Text = _typed_text(200)  # every other text field: up to 200
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ().\-]{2,28}[0-9]$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


def is_printable(value: str) -> bool:
    try:
        _printable(value)
    except ValueError:
        return False
    return True
