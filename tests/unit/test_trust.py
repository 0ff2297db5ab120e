"""The trust model's pure pieces: visitor ids that are secrets, strict token parsing, one normal form of
identifiers, CSV cells that stay text."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared import sessions, signing
from shared.csv_cells import safe_cell
from shared.pseudonyms import normalise, pseudonym
from shared.trust import Caller, is_visitor_id, new_visitor_id

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_ids_the_storefront_makes_are_secrets_every_time():
    assert all(is_visitor_id(new_visitor_id()) for _ in range(5000))
    assert all(is_visitor_id(secrets.token_hex(16)) for _ in range(5000))  # 32 hex digits, another common shape
    assert sum(is_visitor_id(str(uuid.uuid4())) for _ in range(5000)) == 5000


@pytest.mark.parametrize("guessable", [
    "anon-1", "anon-demo-3", "00004", "C-1001", "cust-demo-42", "a" * 64, "1234567890" * 4,
    "abcdefghijklmnopqrstuvwxyz0123456789", "anon-" + "ab" * 30, "visitor-visitor-visitor-visitor-visitor",
])
def test_short_or_simple_ids_are_not_secrets(guessable):
    assert not is_visitor_id(guessable)


@pytest.mark.parametrize("malformed", ["", ".", "².x", "²." + "A" * 43, "1." + "A" * 42, "1." + "A" * 44, "-1." + "A" * 43,
                                       "1 ." + "A" * 43, "9" * 13 + "." + "A" * 43, "1." + "A" * 42 + "=", "１." + "A" * 43])
def test_a_malformed_token_is_not_a_token_and_never_raises(malformed):
    assert not signing.well_formed(malformed)
    assert signing.expiry("k", "session", "C-1", malformed) is None
    assert sessions.state("k", "C-1", malformed, NOW) == ("invalid" if malformed else "missing")


def test_a_session_proves_one_customer_until_it_expires():
    session = sessions.issue("k", "C-1", NOW)
    caller = Caller(now=NOW, session=session, session_key=lambda: "k")
    assert caller.proves("C-1") and not caller.proves("C-2") and not caller.proves("c-1")
    later = Caller(now=NOW + timedelta(hours=13), session=session, session_key=lambda: "k")
    assert later.session_state("C-1") == "expired" and not later.proves("C-1")
    assert Caller(now=NOW, backend=True).proves("anyone")
    assert not Caller(now=NOW).proves("C-1")


def test_ids_are_hashed_exactly_and_addresses_case_insensitively():
    assert normalise("  c-1001 ") == "c-1001" and normalise("C-1001") == "C-1001"
    assert pseudonym("c-1001", "k") != pseudonym("C-1001", "k")  # erasing a visitor `c-1001` must not suppress customer C-1001
    assert pseudonym(" Anna@Example.org", "k") == pseudonym("anna@example.org", "k")


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(text):
    assert safe_cell(text) == "'" + text


def test_other_cells_stay_as_they_are():
    assert [safe_cell(v) for v in ("rain jacket", "a=b", -3, 2.5, None, True)] == ["rain jacket", "a=b", -3, 2.5, None, True]


def test_a_request_is_served_as_the_customer_only_when_the_caller_proves_them():
    from shared.errors import BadRequest

    visitor = new_visitor_id()
    signed_in = Caller(now=NOW, session=sessions.issue("k", "C-1", NOW), session_key=lambda: "k")
    assert signed_in.served_as("C-1", visitor) == ("C-1", visitor)
    assert signed_in.served_as("C-2", visitor) == (None, visitor)  # someone else's id: the visitor they are
    assert Caller(now=NOW).served_as("C-1", None) == (None, None)
    assert Caller(now=NOW, backend=True).served_as("C-9", None) == ("C-9", None)
    with pytest.raises(BadRequest, match="128 random bits"):
        signed_in.served_as("C-1", "anon-1")
