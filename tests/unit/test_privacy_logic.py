"""Pure privacy logic: tokens, deadlines, consent rules, TCF decoding, bundles."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from functions.privacy import consent, requests, verification
from shared import sessions
from functions.privacy.schemas import ConsentRecord, ConsentUpdate, Extension, PrivacyRequestIn
from shared.consent import allowed, effective
from shared.errors import BadRequest, Conflict, Forbidden, Gone, Unauthorized
from shared import contacts
from shared.privacy_tasks import PrivacyTaskCompleted
from shared.pseudonyms import pseudonym

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)


def test_tokens_are_bound_to_the_request_and_expire():
    token = verification.issue("k", "r1", NOW)
    verification.check("k", "r1", token, NOW + timedelta(hours=23))
    with pytest.raises(Forbidden):
        verification.check("k", "r2", token, NOW)  # another request
    with pytest.raises(Forbidden):
        verification.check("other-key", "r1", token, NOW)
    with pytest.raises(Forbidden):
        verification.check("k", "r1", "9999999999." + token.split(".")[1], NOW)  # a longer life, same signature
    with pytest.raises(Gone):
        verification.check("k", "r1", token, NOW + timedelta(hours=25))


def test_sessions_are_bound_to_the_customer_and_expire_and_are_no_verification_tokens():
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    session = sessions.issue("k", "C-1001", now)
    sessions.check("k", "C-1001", session, now + timedelta(hours=11))
    for customer, token, key, at, code in (
        ("C-1001", None, "k", now, "session_required"),
        ("C-1002", session, "k", now, "invalid_session"),  # another customer's
        ("C-1001", session, "other", now, "invalid_session"),  # another deployment's key
        ("C-1001", session, "k", now + timedelta(hours=13), "session_expired"),
        ("C-1001", verification.issue("k", "C-1001", now), "k", now, "invalid_session"),  # a verification token is not a session
    ):
        with pytest.raises(Unauthorized) as refused:
            sessions.check(key, customer, token, at)
        assert refused.value.code == code
    with pytest.raises(Forbidden):  # nor is a session a verification token
        verification.check("k", "C-1001", session, now)


def test_a_customers_link_goes_only_to_the_address_on_file():
    key = "contact-key"
    anna = verification.OnFile("C-1001", contacts.fingerprint("anna.schmidt@example.de", key))
    assert verification.route(anna, "Anna.Schmidt@Example.DE ", key) == "link_sent"  # case and spaces do not matter
    assert verification.route(anna, "mallory@example.org", key) == "contact_not_on_file"
    assert verification.route(anna, "anna.schmidt@example.de", "another-key") == "contact_not_on_file"  # keyed, not a plain hash
    assert verification.route(verification.OnFile("C-1003", None), "chloe@example.fr", key) == "no_contact_on_file"
    assert verification.route(None, "visitor@example.org", key) == "link_sent"  # an anonymous visitor: the id is the secret


def test_contacts_are_reported_as_keyed_fingerprints_in_bounded_events():
    now = datetime(2026, 11, 26, tzinfo=UTC)
    emails = {f"C-{n}": (f"c{n}@example.org" if n % 2 else None) for n in range(contacts.PER_EVENT + 3)}
    reports = list(contacts.reports(emails, "k", now))
    assert [len(r.contacts) for r in reports] == [contacts.PER_EVENT, 3]
    flat = [c for r in reports for c in r.contacts]
    assert [c.customer_id for c in flat] == list(emails)
    assert flat[1].email_fingerprint == pseudonym("c1@example.org", "k") and flat[0].email_fingerprint is None
    assert max(len(r.model_dump_json()) for r in reports) < 256 * 1024 // 4  # far below EventBridge's entry limit
    assert "example.org" not in "".join(r.model_dump_json() for r in reports)


@pytest.mark.parametrize(("received", "due"), [
    (datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),  # no 31 February: the month's last day
    (datetime(2026, 3, 15, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC)),
    (datetime(2026, 12, 10, tzinfo=UTC), datetime(2027, 1, 10, tzinfo=UTC)),
])
def test_the_deadline_is_one_month_from_receipt(received, due):
    assert requests.add_months(received, 1) == due


def _request(**changes):
    body = PrivacyRequestIn(type="access", subject_id="C-1", contact="a@b.de")
    return requests.new_request(body, NOW).model_copy(update=changes)


def test_extensions_add_at_most_two_months_and_flags_follow_the_deadline():
    request = _request()
    assert requests.flag(request, NOW) == "on_track"
    assert requests.flag(request, request.due_at - timedelta(days=3)) == "at_risk"
    assert requests.flag(request, request.due_at + timedelta(seconds=1)) == "overdue"
    extended = requests.extend(request, Extension(months=1, reason="complex and numerous"))
    assert extended.due_at == requests.add_months(NOW, 2) and extended.extension_months == 1
    assert requests.extend(extended, Extension(months=1, reason="still complex")).due_at == requests.add_months(NOW, 3)
    with pytest.raises(Conflict):
        requests.extend(extended, Extension(months=2, reason="three months in all"))
    assert requests.flag(_request(status="completed"), NOW + timedelta(days=90)) is None


def test_a_request_completes_when_every_context_answered_once():
    request = requests.verified(_request(), ["privacy", "profiles"], NOW, ["C-1001"])
    answer = PrivacyTaskCompleted(request_id=request.request_id, context="profiles", type="access", action="exported", records=3, completed_at=NOW)
    request, new = requests.record_task(request, answer)
    assert new and not requests.all_answered(request) and requests.unanswered(request) == ["privacy"]
    assert requests.record_task(request, answer)[1] is False  # a redelivered answer
    assert requests.needs_republish(request, NOW + requests.REPUBLISH_AFTER) and not requests.needs_republish(request, NOW)
    request, _ = requests.record_task(request, answer.model_copy(update={"context": "privacy"}))
    assert requests.all_answered(request) and not requests.needs_republish(request, NOW + timedelta(days=1))


def test_request_bodies_are_checked_per_type():
    PrivacyRequestIn(type="rectification", subject_id="C-1", contact="a@b.de", corrections={"email": "x@y.de"})
    for bad in (
        {"type": "rectification"},
        {"type": "access", "corrections": {"email": "x@y.de"}},
        {"type": "objection"},
        {"type": "erasure", "objection": "profiling"},
    ):
        with pytest.raises(ValueError):
            PrivacyRequestIn(subject_id="C-1", contact="a@b.de", **bad)


def test_effective_consent_honours_restriction_and_objections():
    granted = {"personalization": True, "email_marketing": True, "profiling": True}
    assert effective(granted, restricted=False, objections=[])["personalization"]
    assert not any(effective(granted, restricted=True, objections=[]).values())
    objected = effective(granted, restricted=False, objections=["profiling"])
    assert not objected["personalization"] and not objected["profiling"] and objected["email_marketing"]
    assert not effective(granted, restricted=False, objections=["direct_marketing"])["email_marketing"]
    assert allowed(None, "personalization") is False and allowed(None, "personalization", "opt_out") is True
    assert allowed({"personalization": True}, "personalization") and not allowed({"personalization": True}, "profiling")


def test_an_older_choice_never_overrides_a_newer_one():
    now = ConsentRecord(purpose="email_marketing", granted=False, at=NOW, source="privacy_centre")
    older = ConsentRecord(purpose="email_marketing", granted=True, at=NOW - timedelta(days=7), source="crm_import")
    current, applied = consent.apply({"email_marketing": now}, [older])
    assert current["email_marketing"] is now and applied == []
    newer = older.model_copy(update={"at": NOW + timedelta(days=1)})
    assert consent.apply(current, [newer])[0]["email_marketing"] is newer


def test_tcf_strings_map_onto_our_purposes():
    records = consent.records_for(ConsentUpdate(tcf_string="CPXxRfAPXxRfAAfKABENB-CgAP_AAH_AAAYgF5wAQF5gXnABAXmAAAAA",
                                                purposes={"analytics": False}, source="banner", policy_version="v"), NOW)
    by_purpose = {r.purpose: r.granted for r in records}
    assert by_purpose == {"personalization": True, "profiling": True, "analytics": False}  # explicit choices win
    # Purposes 1-10 refused: a string with an all-zero purposes field.
    refused = consent.decode_tcf("COw4XqLOw4XqLAAAAAENAXCAAAAAAAAAAAAAAAAAAAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw")
    assert refused == {"personalization": False, "profiling": False, "analytics": False}
    for bad in ("%%%", "AAAA", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"):
        with pytest.raises(BadRequest):
            consent.decode_tcf(bad)


def test_the_bundle_has_json_and_a_csv_per_table():
    parts = {"profiles": {"orders": [{"order_id": "O-1", "amount": "9.90", "items": ["a", "b"]}], "attributes": []}}
    archive = zipfile.ZipFile(io.BytesIO(requests.bundle(_request(), parts, NOW)))
    assert set(archive.namelist()) == {"data.json", "profiles/orders.csv", "profiles/attributes.csv", "README.txt"}
    assert json.loads(archive.read("data.json"))["contexts"] == parts
    assert archive.read("profiles/orders.csv").decode().splitlines() == ["amount,items,order_id", '9.90,"[""a"", ""b""]",O-1']


def test_pseudonyms_are_keyed_and_normalised():
    assert pseudonym(" Anna@Example.de ", "k") == pseudonym("anna@example.de", "k") != pseudonym("anna@example.de", "k2")
    assert len(pseudonym("C-1", "k")) == 64 and "C-1" not in pseudonym("C-1", "k")


def test_quarantined_lines_are_matched_on_whole_fields():
    from functions.profiles.subject_rights import field_values, without_identifiers

    assert {"c-1001", "anna@example.de"} <= field_values('C-1001;"Anna";anna@example.de;DE')
    assert "c-1001" not in field_values("C-10011;Bob;bob@example.de")
    assert "c-3" in field_values('{"customer_id": "C-3", "event": "open"}')
    lines = [json.dumps({"row": n, "raw": raw, "reasons": []}).encode() for n, raw in
             enumerate(["C-1001;Anna;ANNA@example.de", "C-10011;Bob;bob@example.de"])]
    assert without_identifiers(lines, {"anna@example.de"}) == lines[1:]


def test_corrections_pass_the_import_rules_or_are_left_out():
    from functions.profiles.subject_rights import valid_corrections

    valid, rejected = valid_corrections({"email": " Anna@New.Example ", "phone": "not a phone", "country": "de"})
    assert valid == {"email": "anna@new.example", "country": "DE"} and rejected == ["phone"]
