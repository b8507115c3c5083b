"""Registration bodies: what is accepted, what is refused, and how refusals name their fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from infra.samples import group, individual
from shared.api.problems import field_errors
from shared.registration.models import registration_request_adapter
from shared.text import is_printable

printable_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=100,
).filter(lambda name: name.strip() and is_printable(name))


@given(printable_names)
def test_any_printable_name_up_to_100_characters_is_accepted(name: str) -> None:
    accepted = registration_request_adapter.validate_python(individual(first_name=name))
    assert accepted.seats[0].first_name == name.strip()


@given(st.text(min_size=1, max_size=20), st.sampled_from(["\r", "\n", "\x00", "\x1b", "\u2028", "\u202e"]))
def test_a_name_with_a_control_character_anywhere_is_refused(text: str, control: str) -> None:
    with pytest.raises(ValidationError):
        registration_request_adapter.validate_python(individual(first_name=text + control))


def test_field_paths_name_list_positions_and_skip_the_kind_tag() -> None:
    body = group(["a@example.org", "not-an-email"])
    with pytest.raises(ValidationError) as raised:
        registration_request_adapter.validate_python(body)
    fields = field_errors(raised.value, ignore_leading=frozenset({"individual", "group"}))
    assert [error.field for error in fields] == ["attendees[1].email"]
    assert "not-an-email" not in fields[0].message


def test_a_missing_or_unknown_kind_is_reported_on_kind() -> None:
    bodies: list[dict[str, object]] = [{"attendee": {}}, {"kind": "vip"}]
    for body in bodies:
        with pytest.raises(ValidationError) as raised:
            registration_request_adapter.validate_python(body)
        assert [error.field for error in field_errors(raised.value)] == ["kind"]
