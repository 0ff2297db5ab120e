"""Privacy end to end over moto: consent, verification, every right across contexts, deadlines."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import urllib.parse
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from functions.privacy.store import privacy_store
from functions.profiles.store import profile_store
from infra.local.dispatcher import sqs_event
from tests.conftest import visitor
from tests.integration.test_crm_imports import drop

# A TCF v2 string whose core grants purposes 1-10 (CMP 31).
TCF_ALL = "CPXxRfAPXxRfAAfKABENB-CgAP_AAH_AAAYgF5wAQF5gXnABAXmAAAAA"
ANNA_VISITOR = visitor("anon-anna")  # the secret id of Anna's cookie (before and after she signs in)
EVENTS = [  # sent with Anna's storefront session: the customer id is hers to name
    {"type": "product_view", "anonymous_id": ANNA_VISITOR, "item_id": "sku-1", "category": "running-shoes", "timestamp": "2026-11-20T10:00:00Z"},
    {"type": "identify", "anonymous_id": ANNA_VISITOR, "customer_id": "C-1001", "timestamp": "2026-11-20T10:01:00Z"},
    {"type": "product_view", "customer_id": "C-1001", "item_id": "sku-2", "category": "rain-jackets", "timestamp": "2026-11-20T10:02:00Z"},
]


@pytest.fixture
def consent_changes(aws):
    read = aws.capture("ConsentChanged")
    return lambda: [data for _, data in read()]


def submit(aws, subject="C-1001", kind="access", contact="anna.schmidt@example.de", **extra):
    """A request from the address on file for C-1001 (any address does for a visitor's secret id not known as a
    customer; any other id is a customer's, and without an address on file the privacy team verifies)."""
    status, body = aws.api("POST", "/v1/privacy-requests", {"type": kind, "subject_id": subject, "contact": contact, **extra})
    assert status == 202, body
    return body["request_id"]


def token_for(aws, request_id):
    status, messages = aws.api("GET", "/v1/privacy-outbox")
    assert status == 200
    (message,) = [m for m in messages if m["request_id"] == request_id]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(message["link"]).query)
    return query["token"][0]


def verify(aws, request_id):
    status, body = aws.api("POST", f"/v1/privacy-requests/{request_id}/verification", {"token": token_for(aws, request_id)})
    assert status == 200, body
    aws.pump()
    return body


def verify_by_staff(aws, request_id):
    """For a request held without a link (a customer with no address on file): the privacy team verifies."""
    status, body = aws.api("POST", f"/v1/privacy-requests/{request_id}/staff-verification",
                           {"note": "Identity checked by a call back to the number on the last order."})
    assert status == 200, body
    aws.pump()
    return body


def anna_everywhere(aws):
    """Data about C-1001 in every context that exists: profiles (CRM, orders, storefront), privacy (consent),
    recommend (browsing history), experiments (assignment, consent projection), results (her outcomes)."""
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, aws_context(), "orders.csv.gz", "orders/shop.csv.gz")
    # As a visitor Anna allowed analytics on the banner: what she browsed before signing in is kept under her cookie's id.
    assert aws.api("PUT", f"/v1/consents/{ANNA_VISITOR}", {"purposes": {"analytics": True}, "source": "banner",
                                                           "policy_version": "v3"})[0] == 200
    anna = aws.signed_in("C-1001")  # her storefront session: her consents, events and variants are hers alone
    assert aws.api("PUT", "/v1/consents/C-1001", {"purposes": {"analytics": True, "personalization": True}, "source": "banner",
                                                  "policy_version": "v3"}, headers=anna)[0] == 200
    aws.pump()  # recommend keeps history only once personalization is allowed; experiments need analytics
    status, body = aws.api("POST", "/v1/events", {"events": EVENTS}, headers=anna)
    assert status == 202 and body["accepted"] == len(EVENTS), body
    # An experiment she takes part in: an assignment (experiments) and her outcome (results).
    aws.api("POST", "/v1/experiments", {"key": "anna-test", "hypothesis": "h", "primary_metric": "conversion_rate",
                                        "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]})
    aws.api("PATCH", "/v1/experiments/anna-test", {"status": "running"})
    assert aws.api("POST", "/v1/assignments", {"user_id": "C-1001", "anonymous_id": ANNA_VISITOR}, headers=anna)[1]["assignments"]
    aws.pump()


def aws_context():
    from tests.integration.conftest import FakeLambdaContext

    return FakeLambdaContext()


def test_consent_is_recorded_per_purpose_with_history_and_published(aws, consent_changes):
    session = aws.signed_in("C-9")  # a customer's consents need their session
    status, view = aws.api("GET", "/v1/consents/C-9", headers=session)
    assert status == 200 and view["purposes"] == {} and not any(view["effective"].values())  # EU default: nothing
    status, view = aws.api("PUT", "/v1/consents/C-9", {"purposes": {"personalization": True, "email_marketing": True},
                                                        "source": "banner", "policy_version": "2026-11"}, headers=session)
    assert status == 200 and view["effective"]["personalization"] and view["purposes"]["email_marketing"]["source"] == "banner"
    # Withdrawing is as easy as giving; history keeps both.
    status, view = aws.api("PUT", "/v1/consents/C-9", {"purposes": {"personalization": False}, "source": "privacy_centre", "policy_version": "2026-11"},
                           headers=session)
    assert view["effective"] == {"analytics": False, "personalization": False, "email_marketing": True, "sms_marketing": False, "profiling": False}
    assert [(h["purpose"], h["granted"]) for h in view["history"]] == [("personalization", False), ("personalization", True), ("email_marketing", True)]
    changes = consent_changes()
    assert [c["effective"]["personalization"] for c in changes] == [True, False]


def test_a_tcf_string_is_decoded_into_purposes_and_a_bad_one_is_a_400(aws):
    session = aws.signed_in("C-8")
    status, view = aws.api("PUT", "/v1/consents/C-8", {"tcf_string": TCF_ALL, "source": "banner", "policy_version": "tcf-4"}, headers=session)
    assert status == 200 and view["effective"]["personalization"] and view["effective"]["analytics"] and not view["effective"]["email_marketing"]
    for bad in ("not-a-tcf-string!", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", ""):  # junk, a TCF v1 string, empty
        status, body = aws.api("PUT", "/v1/consents/C-8", {"tcf_string": bad, "source": "banner", "policy_version": "x"}, headers=session)
        assert status == 400, (bad, body)
    assert aws.api("PUT", "/v1/consents/C-8", {"purposes": {"marketing": True}, "source": "banner", "policy_version": "x"},
                   headers=session)[0] == 400


def test_bad_privacy_requests_get_clear_4xx(aws):
    cases = [
        ({"type": "forget_me", "subject_id": "C-1", "contact": "a@b.de"}, 400),
        ({"type": "access", "contact": "a@b.de"}, 400),
        ({"type": "rectification", "subject_id": "C-1", "contact": "a@b.de"}, 400),
        ({"type": "objection", "subject_id": "C-1", "contact": "a@b.de"}, 400),
        ({"type": "access", "subject_id": "C-1", "contact": "not-an-email"}, 400),
    ]
    for body, expected in cases:
        status, answer = aws.api("POST", "/v1/privacy-requests", body)
        assert status == expected and answer["error"]["code"] == "invalid_request", body
    request_id = submit(aws, "C-1")
    status, body = aws.api("POST", f"/v1/privacy-requests/{request_id}/verification", {"token": "123.forged"})
    assert status == 403 and body["error"]["code"] == "invalid_token"
    assert aws.api("GET", "/v1/privacy-requests/ffff")[0] == 404


def test_an_expired_token_is_a_410(aws):
    from functions.privacy import verification

    request_id = submit(aws, "C-1")
    stale = verification.issue(_key(aws), request_id, datetime.now(UTC) - timedelta(days=2))
    status, body = aws.api("POST", f"/v1/privacy-requests/{request_id}/verification", {"token": stale})
    assert status == 410 and body["error"]["code"] == "token_expired"


def _key(aws):
    return aws.client("secretsmanager").get_secret_value(SecretId=aws.name("secret", "privacy_keys"))["SecretString"]


def test_requests_are_rate_limited_per_subject(aws):
    for _ in range(5):
        submit(aws, "C-77")
    status, body = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-77", "contact": "a@b.de"})
    assert status == 429 and body["error"]["code"] == "too_many_requests"
    submit(aws, "C-78")  # another person is not affected


def test_nothing_happens_before_verification(aws):
    anna_everywhere(aws)
    request_id = submit(aws, kind="erasure")
    aws.pump()
    status, view = aws.api("GET", f"/v1/privacy-requests/{request_id}")
    assert view["status"] == "pending_verification" and "subject_id" not in view
    assert profile_store().profile("C-1001") is not None


def test_access_gathers_every_context_into_one_bundle(aws):
    anna_everywhere(aws)
    request_id = submit(aws)
    verify(aws, request_id)
    token = token_for(aws, request_id)
    status, view = aws.api("GET", f"/v1/privacy-requests/{request_id}?token={token}")
    assert status == 200 and view["status"] == "completed" and view["download_url"]
    assert aws.api("GET", f"/v1/privacy-requests/{request_id}")[1]["download_url"] is None  # no token, no link
    archive = bundle(aws, request_id, view["download_url"])
    data = json.loads(archive.read("data.json"))
    assert set(data["contexts"]) == {"profiles", "privacy", "recommend", "experiments", "results"}
    profiles = data["contexts"]["profiles"]
    assert {a["attribute"] for a in profiles["attributes"]} >= {"email", "first_name"}
    assert [o["order_id"] for o in profiles["orders"]] == ["O-1", "O-2"]
    assert profiles["identity"] == [{"profile_id": "C-1001", "linked_anonymous_id": ANNA_VISITOR}]
    assert {c["purpose"] for c in data["contexts"]["privacy"]["consents"]} >= {"analytics", "personalization"}  # and the CRM opt-in
    assert [h["item_id"] for h in data["contexts"]["recommend"]["interaction_history"]] == ["sku-2"]
    assert data["contexts"]["experiments"]["consent_projection"][0]["effective"]["personalization"]
    assert [a["experiment"] for a in data["contexts"]["experiments"]["assignments"]] == ["anna-test"]
    assert {o["experiment"] for o in data["contexts"]["results"]["experiment_outcomes"]} >= {"anna-test"}
    assert "profiles/orders.csv" in archive.namelist() and archive.read("profiles/orders.csv").decode().startswith("amount,at,currency")
    steps = [e["step"] for e in aws.api("GET", f"/v1/privacy-requests/{request_id}/audit")[1]["entries"]]
    assert steps[0] == "received" and steps[1] == "verified" and steps[-1] == "completed" and steps.count("task_completed") == 5


def test_access_for_a_subject_without_data_completes_with_an_empty_export(aws):
    request_id = submit(aws, visitor("anon-nobody"))  # a visitor's id: the link goes to the address they typed
    verify(aws, request_id)
    view = aws.api("GET", f"/v1/privacy-requests/{request_id}?token={token_for(aws, request_id)}")[1]
    assert view["status"] == "completed"
    data = json.loads(bundle(aws, request_id, view["download_url"]).read("data.json"))
    assert data["contexts"]["profiles"] == {} and data["contexts"]["privacy"]["consents"] == []


def bundle(aws, request_id, download_url) -> zipfile.ZipFile:
    key = privacy_store().get_request(request_id).export_key
    assert key in download_url and "Signature" in download_url  # a presigned link to that object
    return zipfile.ZipFile(io.BytesIO(aws.client("s3").get_object(Bucket=aws.name("bucket", "exports"), Key=key)["Body"].read()))


def identifier_forms(identifiers: set[str]) -> set[str]:
    """Each identifier as stored or as a careless hash would store it: raw, normalised (trimmed,
    lower-cased) and the md5, sha1 and sha256 hex digests of both."""
    forms = set()
    for identifier in identifiers:
        for variant in {identifier, identifier.strip().lower()}:
            forms.add(variant)
            forms |= {hashlib.new(a, variant.encode()).hexdigest() for a in ("md5", "sha1", "sha256")}
    return forms


def _stored_texts(aws):
    """(where, lower-cased text) of everything stored: every item of every table, every version of every
    object in every bucket (zips and gzips opened), every message waiting in every queue and DLQ."""
    ddb, s3, sqs = aws.client("dynamodb"), aws.client("s3"), aws.client("sqs")
    for (kind, _), name in aws.resources.names.items():
        if kind == "table":
            for page in ddb.get_paginator("scan").paginate(TableName=name):
                for item in page["Items"]:
                    yield f"{name}: {json.dumps(item)[:160]}", json.dumps(item).lower()
        elif kind == "bucket":
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                for marker in page.get("DeleteMarkers", []):
                    yield f"{name}/{marker['Key']} (delete marker)", marker["Key"].lower()
                for version in page.get("Versions", []):
                    key = version["Key"]
                    body = s3.get_object(Bucket=name, Key=key, VersionId=version["VersionId"])["Body"].read()
                    if key.endswith(".gz"):
                        body = gzip.decompress(body)
                    if key.endswith(".zip"):
                        archive = zipfile.ZipFile(io.BytesIO(body))
                        body = b"".join(archive.read(n) for n in archive.namelist())
                    yield f"{name}/{key}@{version['VersionId']}", key.lower() + "\n" + body.decode("utf-8", "replace").lower()
    for url in [*aws.resources.queue_urls.values(), *aws.resources.dlq_urls.values()]:
        seen: list[dict] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", []):
            seen += batch
        for message in seen:  # read, not consumed: visible again at once
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            yield f"{url}: {message['Body'][:160]}", message["Body"].lower()


def _traces(aws, identifiers: set[str]) -> list[str]:
    """Every place in every table, bucket (all versions) and queue where any identifier still appears."""
    wanted = {i.lower() for i in identifiers}
    return [f"{where} <- {i}" for where, text in _stored_texts(aws) for i in wanted if i in text]


ANNA_IDS = {"C-1001", ANNA_VISITOR, "anna.schmidt@example.de", "anna@example.de", "+49 171 1234567", "+491711234567", "Schmidt"}


def publish_models_trained_on(aws, *subjects: str) -> list[str]:
    """Two published model versions (their own salts) whose lineage holds these subjects and another person."""
    import secrets
    from datetime import UTC, datetime

    from functions.recommend.artifacts import Lineage, ModelMetadata, subject_hash
    from functions.recommend.publishing import METADATA_FILE, version_prefix
    from shared.aws.s3 import ObjectStore

    bucket, versions = ObjectStore(aws.name("bucket", "models")), []
    for version in ("20261101T000000Z-test", "20261120T000000Z-test"):
        salt = secrets.token_hex(16)
        lineage = Lineage(salt=salt, subjects=len(subjects) + 1, subject_hashes=sorted(subject_hash(salt, s) for s in (*subjects, "C-1002")))
        metadata = ModelMetadata(model_version=version, trained_at=datetime.now(UTC), algorithm="test", parameters={}, interactions=3,
                                 items=["sku-1"], popularity=[1.0], trending=[0.0], lineage=lineage)
        bucket.put(version_prefix(version) + METADATA_FILE, metadata.model_dump_json().encode(), content_type="application/json")
        versions.append(version)
    return versions


def lineage_traces(aws, identifiers: set[str]) -> list[str]:
    """Every version of every published model's metadata whose lineage still holds one of the identifiers
    (hashed with that model's salt)."""
    from functions.recommend.artifacts import METADATA_FILE, ModelMetadata, subject_hash

    s3, bucket, found = aws.client("s3"), aws.name("bucket", "models"), []
    for version in aws.client("s3").list_object_versions(Bucket=bucket, Prefix="models/").get("Versions", []):
        if version["Key"].endswith("/" + METADATA_FILE):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            lineage = ModelMetadata.model_validate_json(body).lineage
            hashes = {subject_hash(lineage.salt, v) for i in identifiers for v in (i, i.strip().lower())}
            found += [f"{version['Key']}@{version['VersionId']}"] if hashes & set(lineage.subject_hashes) else []
    return found


def test_erasure_leaves_no_trace_and_later_imports_skip_the_person(aws):
    anna_everywhere(aws)
    publish_models_trained_on(aws, "C-1001", ANNA_VISITOR)
    access_id = submit(aws)  # an earlier access export must go too
    verify(aws, access_id)
    assert _traces(aws, ANNA_IDS)  # the scan does find her before
    assert len(lineage_traces(aws, ANNA_IDS)) == 2

    request_id = submit(aws, kind="erasure")
    verify(aws, request_id)
    assert aws.api("GET", f"/v1/privacy-requests/{request_id}")[1]["status"] == "completed"
    assert_erased(aws, ANNA_IDS, request_id)
    # The proof of erasure: a hashed id per id the erasure covered (her customer id and her visitor id), date, request id;
    # the request itself keeps no identifier.
    proofs = [i for i in privacy_store().table.scan() if i["pk"].startswith("ERASED#")]
    assert {p["sk"] for p in proofs} == {request_id} and len(proofs) == 2
    assert privacy_store().get_request(request_id).contact is None

    # A new CRM export with Anna (twice) and others comes in: she stays out, the others are imported.
    report = drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm-2026-12.csv")
    assert report["suppressed"] == 2 and report["rows_read"] == report["accepted"] + report["duplicates"] + report["quarantined"] + report["suppressed"]
    assert profile_store().profile("C-1001") is None and profile_store().profile("C-1002") is not None
    assert_erased(aws, ANNA_IDS, request_id)


def assert_erased(aws, identifiers: set[str], request_id: str) -> None:
    """Nothing left of the person anywhere, raw or hashed, but what an erasure keeps on purpose, keyed
    with a deployment secret: the proof and the person's pseudonymised requests (privacy key), and the
    suppression list that keeps later imports from bringing the person back (profiles key)."""
    from shared.pseudonyms import pseudonym

    assert _traces(aws, identifier_forms(identifiers)) == []
    assert lineage_traces(aws, identifiers) == []
    secrets = aws.client("secretsmanager")
    keys = {kind: secrets.get_secret_value(SecretId=aws.name("secret", kind))["SecretString"] for kind in ("privacy_keys", "profiles_keys")}
    keyed = {pseudonym(i, key) for i in identifiers for key in keys.values()}
    allowed = {(aws.name("table", "privacy"), '"erased#'), (aws.name("table", "privacy"), '"requests"'),
               (aws.name("table", "profiles"), '"suppressed"')}
    kept = [where for where in _traces(aws, keyed) if not any(where.startswith(t) and mark in where.lower() for t, mark in allowed)]
    assert kept == []
    proof = pseudonym("C-1001", keys["privacy_keys"])
    assert [i["sk"] for i in privacy_store().table.scan() if i["pk"] == f"ERASED#{proof}"] == [request_id]


def test_rectification_wins_over_later_imports_of_the_old_value(aws):
    anna_everywhere(aws)
    accepted = aws.capture("PrivacyRequestAccepted")
    request_id = submit(aws, kind="rectification", corrections={"email": "anna@new.example", "phone": "not a phone"})
    verify(aws, request_id)
    # The new values wait in the exports bucket while the contexts work; the event only names them.
    ((_, event),) = accepted()
    assert event["corrections_key"] == f"requests/{request_id}/corrections.json" and "anna@new.example" not in json.dumps(event)
    assert not aws.client("s3").list_objects_v2(Bucket=aws.name("bucket", "exports"), Prefix=event["corrections_key"]).get("Contents")
    # A late duplicate of the event finds the values gone: said so, nothing changed, no retries.
    from functions.profiles.consumers import privacy_handler
    from shared.envelope import new_event

    envelope = new_event("PrivacyRequestAccepted", event, context="privacy", correlation_id="late-duplicate")
    body = {"id": "dup", "source": "persona.privacy", "detail-type": "PrivacyRequestAccepted", "detail": envelope.model_dump(mode="json")}
    message = {"MessageId": "dup", "ReceiptHandle": "r", "MD5OfBody": "x", "Attributes": {}, "Body": json.dumps(body)}
    answers = aws.capture("PrivacyTaskCompleted")
    assert privacy_handler(sqs_event([message], "arn:aws:sqs:eu-west-1:123456789012:q"), aws_context()) == {"batchItemFailures": []}
    assert [a["action"] for _, a in answers()] == ["corrections_unavailable"]
    attributes = profile_store().profile("C-1001").attributes
    assert attributes["email"].value == "anna@new.example" and attributes["email"].source == "data_subject"
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm-again.csv")  # carries the old address
    assert profile_store().profile("C-1001").attributes["email"].value == "anna@new.example"
    tasks = privacy_store().get_request(request_id).tasks
    assert tasks["profiles"].action == "rectified" and tasks["profiles"].records == 1  # the invalid phone was left out


def test_restriction_and_objection_change_what_consent_allows_until_lifted(aws, consent_changes):
    session = aws.signed_in("C-5")
    assert aws.api("PUT", "/v1/consents/C-5", {"purposes": {p: True for p in ("personalization", "profiling", "email_marketing")},
                                               "source": "banner", "policy_version": "v1"}, headers=session)[0] == 200
    # C-5 has no address on file: the privacy team verifies each request.
    objection = submit(aws, "C-5", kind="objection", objection="direct_marketing")
    verify_by_staff(aws, objection)
    view = aws.api("GET", "/v1/consents/C-5", headers=session)[1]
    assert view["objections"] == ["direct_marketing"] and not view["effective"]["email_marketing"] and view["effective"]["personalization"]
    # Granting again does not override an objection (Art. 21(3)).
    aws.api("PUT", "/v1/consents/C-5", {"purposes": {"email_marketing": True}, "source": "banner", "policy_version": "v1"}, headers=session)
    assert not aws.api("GET", "/v1/consents/C-5", headers=session)[1]["effective"]["email_marketing"]

    restriction = submit(aws, "C-5", kind="restriction")
    verify_by_staff(aws, restriction)
    assert not any(aws.api("GET", "/v1/consents/C-5", headers=session)[1]["effective"].values())
    status, lifted = aws.api("POST", f"/v1/privacy-requests/{restriction}/lift")
    assert status == 200 and lifted["status"] == "lifted"
    assert aws.api("GET", "/v1/consents/C-5", headers=session)[1]["effective"]["personalization"]
    assert consent_changes()[-1]["restricted"] is False
    assert aws.api("POST", f"/v1/privacy-requests/{objection}/lift")[0] == 409


def test_crm_opt_outs_and_unsubscribes_become_consent_records(aws):
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, aws_context(), "campaign.jsonl", "campaign/spring.jsonl")
    # The one-click link of Ben's e-mail: its token proves the unsubscribe is his (no session needed).
    status, body = aws.api("POST", "/v1/events", {"events": [{"type": "unsubscribe", "customer_id": "C-1002", "timestamp": "2026-11-21T08:00:00Z",
                                                              "unsubscribe_token": aws.unsubscribe_token("C-1002")}]})
    assert status == 202 and body["accepted"] == 1, body
    aws.pump()
    sources = {h["source"] for s in ("C-1001", "C-1002", "C-1003") for h in aws.api("GET", f"/v1/consents/{s}", headers=aws.signed_in(s))[1]["history"]}
    assert sources >= {"crm_import", "email_unsubscribe"}
    c1003 = aws.api("GET", "/v1/consents/C-1003", headers=aws.signed_in("C-1003"))[1]
    assert c1003["purposes"]["email_marketing"]["granted"] is False  # unsubscribed in the campaign export
    assert aws.api("GET", "/v1/consents/C-1002", headers=aws.signed_in("C-1002"))[1]["purposes"]["email_marketing"]["source"] == "email_unsubscribe"


def test_deadlines_extensions_and_the_sweeper(aws):
    from functions.privacy.consumers import sweeper_handler
    from tests.integration.conftest import FakeLambdaContext

    request_id = submit(aws, "C-3")
    request = privacy_store().get_request(request_id)
    assert request.due_at.month == (request.received_at.month % 12) + 1
    status, extended = aws.api("POST", f"/v1/privacy-requests/{request_id}/extension", {"months": 2, "reason": "Data in archived systems"})
    assert status == 200 and extended["extension_months"] == 2
    assert aws.api("POST", f"/v1/privacy-requests/{request_id}/extension", {"months": 1, "reason": "Still more archives"})[0] == 409

    # A verified request whose profiles task never answered, received long ago: re-published and flagged overdue.
    stuck = submit(aws, "C-4")  # no address on file: verified by the privacy team
    status, _ = aws.api("POST", f"/v1/privacy-requests/{stuck}/staff-verification", {"note": "Identity checked by a call back."})
    assert status == 200
    aws.drain("profiles_privacy")  # the profiles context "lost" it
    aws.pump()
    old = privacy_store().get_request(stuck)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    privacy_store().save_request(old.model_copy(update={"received_at": long_ago, "due_at": long_ago + timedelta(days=30),
                                                        "last_published_at": long_ago}))
    summary = sweeper_handler({"id": "sweep-1"}, FakeLambdaContext())
    assert summary["republished"] == 1 and summary["overdue"] == 1
    status, queue = aws.api("GET", "/v1/privacy-requests?overdue=true")
    assert status == 200 and [r["request_id"] for r in queue["requests"]] == [stuck] and queue["requests"][0]["flag"] == "overdue"
    aws.pump()  # the re-published task is answered now
    assert privacy_store().get_request(stuck).status == "completed"
    steps = [e["step"] for e in aws.api("GET", f"/v1/privacy-requests/{stuck}/audit")[1]["entries"]]
    assert "tasks_republished" in steps and "flagged_overdue" in steps


def test_restriction_stops_segmenting_the_person_until_lifted(aws):
    from functions.profiles.consumers import segments_handler
    from tests.integration.conftest import FakeLambdaContext

    anna_everywhere(aws)
    segments_handler({"id": "sched-1"}, FakeLambdaContext())
    assert profile_store().profile("C-1001").segments
    updates = aws.capture("ProfileUpdated")
    restriction = submit(aws, kind="restriction")
    verify(aws, restriction)
    anna = profile_store().profile("C-1001")
    assert anna.segments == [] and anna.attributes  # data kept, not used
    assert [data["segments"] for _, data in updates()] == [[]]
    segments_handler({"id": "sched-2"}, FakeLambdaContext())  # the full recompute honours it too
    assert profile_store().profile("C-1001").segments == []
    aws.api("POST", f"/v1/privacy-requests/{restriction}/lift")
    aws.pump()
    assert profile_store().profile("C-1001").segments


def test_a_visitors_choices_carry_over_to_the_customer_on_identify(aws):
    anonymous, session = visitor("anon-42"), aws.signed_in("C-42")
    assert aws.api("PUT", f"/v1/consents/{anonymous}", {"purposes": {"personalization": True, "analytics": True}, "source": "banner",
                                                        "policy_version": "v1"})[0] == 200
    assert aws.api("PUT", "/v1/consents/C-42", {"purposes": {"analytics": False}, "source": "privacy_centre", "policy_version": "v1"},
                   headers=session)[0] == 200
    # Signing in on the visitor's cookie: identify, with the customer's session (the only proven link).
    status, body = aws.api("POST", "/v1/events", {"events": [{"type": "identify", "anonymous_id": anonymous, "customer_id": "C-42",
                                                              "timestamp": "2026-11-20T10:00:00Z"}]}, headers=session)
    assert status == 202 and body["accepted"] == 1, body
    aws.pump()
    view = aws.api("GET", "/v1/consents/C-42", headers=session)[1]
    assert view["effective"]["personalization"] is True  # carried over from the banner
    assert view["effective"]["analytics"] is False  # the customer's own choice stays
    assert view["purposes"]["personalization"]["carried_from"] == anonymous  # the history says where it was made
    assert view["purposes"]["analytics"]["carried_from"] is None


def test_rectifying_someone_we_hold_nothing_about_creates_nothing(aws):
    request_id = submit(aws, "C-nobody", kind="rectification", corrections={"email": "new@example.org"})
    assert privacy_store().get_request(request_id).verification == "no_contact_on_file"  # a customer's id, no address on file
    verify_by_staff(aws, request_id)
    assert profile_store().profile("C-nobody") is None
    assert privacy_store().get_request(request_id).tasks["profiles"].action == "nothing_changed"


def test_a_store_throttled_past_the_sdks_retries_answers_503_not_500(aws, monkeypatch):
    from botocore.exceptions import ClientError

    from shared.aws.dynamodb import DynamoTable

    def throttled(self, *args, **kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, "GetItem")

    monkeypatch.setattr(DynamoTable, "get", throttled)
    status, body = aws.api("GET", f"/v1/consents/{visitor('anon-throttled')}")  # a visitor's: read from the store
    assert status == 503 and body["error"]["code"] == "service_unavailable"


def test_an_erasure_for_an_id_nobody_holds_does_not_keep_a_future_customer_out(aws):
    """An id not yet known (and not a visitor's secret) is treated as a customer's with no address on file: the
    privacy team verifies whoever filed. Erasing nothing must not put the id on the suppression list, or a
    customer who later gets it would never be imported."""
    request_id = submit(aws, "C-1002", kind="erasure", contact="someone@example.org")  # before any import
    assert privacy_store().get_request(request_id).verification == "no_contact_on_file"
    verify_by_staff(aws, request_id)
    assert privacy_store().get_request(request_id).tasks["profiles"].action == "nothing_held"
    assert profile_store().suppression_list() == frozenset()
    report = drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    assert report["suppressed"] == 0 and profile_store().profile("C-1002") is not None


def test_an_erasure_covers_the_ids_it_was_verified_for_not_a_link_made_before_it_runs(aws):
    """A visitor erases their own cookie id; before the privacy worker gets to it, a customer signs in on that cookie
    (a proven link). The erasure must not follow the new link into the customer's consents."""
    from infra.local.dispatcher import sqs_event
    from infra.topology import TOPOLOGY

    shared_device = visitor("anon-shared-device")
    grant = {"purposes": {"analytics": True}, "source": "banner", "policy_version": "v1"}
    assert aws.api("PUT", f"/v1/consents/{shared_device}", grant)[0] == 200
    assert aws.api("PUT", "/v1/consents/C-1001", {**grant, "purposes": {"email_marketing": True}}, aws.signed_in("C-1001"))[0] == 200
    aws.pump()
    request_id = submit(aws, subject=shared_device, kind="erasure", contact="someone@example.org")
    assert aws.api("POST", f"/v1/privacy-requests/{request_id}/verification", {"token": token_for(aws, request_id)})[0] == 200
    held = aws.drain("privacy_tasks")  # the privacy worker's task waits while the customer signs in
    assert held
    identify = {"type": "identify", "anonymous_id": shared_device, "customer_id": "C-1001", "timestamp": "2026-12-01T10:00:00Z"}
    assert aws.api("POST", "/v1/events", {"events": [identify]}, aws.signed_in("C-1001"))[1]["accepted"] == 1
    aws.pump()  # the link reaches every context, the privacy context's own links too
    result = aws.invoker.invoke(TOPOLOGY.function("privacy_worker"), sqs_event(held, aws.resources.queue_arns["privacy_tasks"]))
    assert not (result or {}).get("batchItemFailures")
    aws.pump()
    assert aws.api("GET", f"/v1/privacy-requests/{request_id}")[1]["status"] == "completed"
    consents = aws.api("GET", "/v1/consents/C-1001", headers=aws.signed_in("C-1001"))[1]
    assert consents["purposes"]["email_marketing"]["granted"] is True  # the customer's own choice is untouched
