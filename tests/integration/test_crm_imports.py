"""CRM imports through the real consumer on moto: reports, profiles, quarantine, idempotency."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from functions.profiles.consumers import crm_drop_handler
from functions.profiles.handlers import admin_handler
from functions.profiles.store import profile_store
from infra.local.dispatcher import sqs_event
from tests.conftest import load_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"


@pytest.fixture
def completions(aws):
    read = aws.capture("CrmImportCompleted")
    return lambda: [data for _, data in read()]


def drop(aws, context, fixture: str, key: str, *, mapping: str | None = None) -> dict:
    """Put a file into the drop bucket and deliver its notification to the import function."""
    s3, bucket = aws.client("s3"), aws.name("bucket", "crm_drop")
    if mapping:
        s3.put_object(Bucket=bucket, Key=key + ".mapping.json", Body=(FIXTURES / mapping).read_bytes())
    s3.put_object(Bucket=bucket, Key=key, Body=(FIXTURES / fixture).read_bytes())
    notification = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2026-11-24T10:00:00Z",
                                 "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": {"key": quote_plus(key)}}}]}
    message = {"MessageId": "m-" + key, "ReceiptHandle": "r", "Body": json.dumps(notification), "MD5OfBody": "x", "Attributes": {}}
    assert crm_drop_handler(sqs_event([message], "arn:aws:sqs:eu-west-1:123456789012:persona-profiles-crm-drops"), context) == {"batchItemFailures": []}
    return latest_report(context, key)


def latest_report(context, key: str) -> dict:
    listing = json.loads(admin_handler(load_event("apigw_get_imports.json"), context)["body"])["imports"]
    (report,) = [r for r in listing if r["key"] == key]
    return report


def stored(aws, customer: str, sort_key: str) -> dict | None:
    return profile_store().table.get({"pk": f"CUSTOMER#{customer}", "sk": sort_key})


def test_customers_import_reports_counts_rates_and_quarantine(aws, context, completions):
    report = drop(aws, context, "customers_semicolon_bom.csv", "customers/crm export 2026-11.csv")
    assert report["status"] == "completed"
    assert (report["rows_read"], report["accepted"], report["duplicates"], report["quarantined"]) == (7, 4, 1, 2)
    assert report["rows_read"] == report["accepted"] + report["duplicates"] + report["quarantined"]
    assert report["fields"]["email"] == {"filled": 6, "valid": 5, "fill_rate": 1.0, "validity_rate": 0.8333}
    assert report["unmapped_columns"] == ["Loyalty Tier"] and report["profiles_written"] == 4
    assert report["duration_ms"] >= 0
    quarantine = aws.client("s3").get_object(Bucket=aws.name("bucket", "quarantine"), Key=report["quarantine_key"])["Body"].read()
    lines = [json.loads(line) for line in quarantine.splitlines()]
    assert [line["row"] for line in lines] == [5, 8] and lines[1]["reasons"] == ["expected 11 fields, found 12"]
    anna = stored(aws, "C-1001", "ATTRIBUTES")["attributes"]
    assert anna["email"] == {"value": "anna.schmidt@example.de", "source": "crm:customers/crm export 2026-11.csv", "at": report["started_at"].replace("Z", "+00:00")}
    (event,) = completions()
    assert event["status"] == "completed" and event["accepted"] == 4 and "email" not in json.dumps(event)


def test_orders_dedup_across_files_and_redelivery(aws, context):
    first = drop(aws, context, "orders.csv.gz", "orders/2026-11.csv.gz")
    assert (first["accepted"], first["duplicates"], first["quarantined"]) == (4, 1, 3)
    orders = stored(aws, "C-1001", "ORDERS")
    assert sorted(orders["orders"]) == ["O-1", "O-2"] and orders["order_count"] == 2 and orders["revenue"] == {"EUR": "179.90"}
    # Delivered again: the finished import is not run twice.
    again = drop(aws, context, "orders.csv.gz", "orders/2026-11.csv.gz")
    assert again == first
    # The same orders in another file: every row is a duplicate, nothing is written.
    copy = drop(aws, context, "orders.csv.gz", "orders/copy-of-2026-11.csv.gz")
    assert (copy["accepted"], copy["duplicates"], copy["quarantined"], copy["profiles_written"]) == (0, 5, 3, 0)
    assert stored(aws, "C-1001", "ORDERS")["order_count"] == 2


def test_campaign_reactions_become_engagement(aws, context):
    report = drop(aws, context, "campaign.jsonl", "campaign/spring.jsonl")
    assert (report["accepted"], report["duplicates"], report["quarantined"]) == (6, 1, 3)
    anna = stored(aws, "C-1001", "CAMPAIGN")
    assert anna["event_counts"] == {"send": 1, "open": 1, "click": 1} and anna["last_engaged_at"] == "2026-03-01T09:13:00+00:00"
    assert stored(aws, "C-1003", "CAMPAIGN")["unsubscribed"] is True


def test_a_mapping_file_next_to_the_export_is_used(aws, context):
    report = drop(aws, context, "legacy_orders.txt", "orders/legacy.txt", mapping="legacy_orders.txt.mapping.json")
    assert (report["status"], report["accepted"]) == ("completed", 3)
    assert stored(aws, "C-1002", "ORDERS")["revenue"] == {"EUR": "2400.00"}


def test_an_unreadable_file_gives_a_failed_report_not_a_stuck_import(aws, context, completions):
    report = drop(aws, context, "not_an_export.bin", "customers/export.xlsx")
    assert report["status"] == "failed" and "not a UTF-8" in report["failure_reason"]
    assert completions()[0]["status"] == "failed"


def test_a_file_outside_the_kind_prefixes_fails_with_guidance(aws, context):
    report = drop(aws, context, "orders.csv.gz", "misc/orders.csv.gz")
    assert report["status"] == "failed" and "customers/, orders/ or campaign/" in report["failure_reason"]


def test_a_broken_mapping_file_fails_the_import(aws, context, tmp_path):
    aws.client("s3").put_object(Bucket=aws.name("bucket", "crm_drop"), Key="orders/x.txt.mapping.json", Body=b'{"delimiter": "::"}')
    report = drop(aws, context, "legacy_orders.txt", "orders/x.txt")
    assert report["status"] == "failed" and "not a valid mapping" in report["failure_reason"]


def test_cdnow_orders_import_through_the_store(aws, context, tmp_path):
    """A slice of CDNOW (real orders) with its mapping, merged into DynamoDB."""
    from tests.unit.test_crm_import import cdnow_path

    lines = cdnow_path().read_text().splitlines()[:2001]
    sample = tmp_path / "cdnow.txt"
    sample.write_text("\n".join(lines) + "\n")
    mapping = {"delimiter": "whitespace", "date_format": "%Y%m%d", "currency": "USD", "derive_order_id": True,
               "columns": {"customer_id": "customer_id", "ordered_at": "date", "quantity": "number_of_cds", "amount": "dollar_value"}}
    s3, bucket = aws.client("s3"), aws.name("bucket", "crm_drop")
    s3.put_object(Bucket=bucket, Key="orders/cdnow.txt.mapping.json", Body=json.dumps(mapping).encode())
    s3.put_object(Bucket=bucket, Key="orders/cdnow.txt", Body=sample.read_bytes())
    notification = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": "orders%2Fcdnow.txt"}}}]}
    crm_drop_handler(sqs_event([{"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(notification), "MD5OfBody": "x"}], "arn"), context)
    report = latest_report(context, "orders/cdnow.txt")
    customers = {line.split()[0] for line in lines[1:]}
    assert (report["rows_read"], report["accepted"], report["quarantined"]) == (2000, 2000, 0)
    assert report["profiles_written"] == len(customers)


def test_the_profile_joins_every_source(aws, context):
    drop(aws, context, "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, context, "orders.csv.gz", "orders/shop.csv.gz")
    drop(aws, context, "campaign.jsonl", "campaign/mail.jsonl")
    event = load_event("apigw_get_profile.json")
    event["path"], event["pathParameters"] = "/v1/profiles/C-1001", {"profile_id": "C-1001"}
    response = admin_handler(event, context)
    assert response["statusCode"] == 200
    profile = json.loads(response["body"])
    assert profile["attributes"]["email"]["value"] == "anna.schmidt@example.de"
    assert profile["attributes"]["email"]["source"] == "crm:customers/crm.csv"
    assert profile["orders"]["order_count"] == 2 and profile["orders"]["revenue"] == {"EUR": "179.90"}
    assert profile["campaign_engagement"]["event_counts"] == {"send": 1, "open": 1, "click": 1}
    assert profile["interactions"] == {"total": 0, "by_type": {}}


def _admin(context, method, path, body=None):
    event = load_event("apigw_get_imports.json")
    event.update(httpMethod=method, path=path, resource=path, queryStringParameters=None, multiValueQueryStringParameters=None,
                 body=None if body is None else json.dumps(body))
    response = admin_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_registered_mapping_reads_a_sources_exports(aws, context):
    mapping = json.loads((FIXTURES / "legacy_orders.txt.mapping.json").read_text())
    status, body = _admin(context, "PUT", "/v1/imports/mappings/orders/legacy-erp", mapping)
    assert status == 200 and body["source"] == "legacy-erp" and body["mapping"]["decimal_comma"] is True
    assert _admin(context, "GET", "/v1/imports/mappings")[1]["mappings"][0]["source"] == "legacy-erp"
    report = drop(aws, context, "legacy_orders.txt", "orders/legacy-erp/2026-11.txt")
    assert (report["status"], report["accepted"]) == ("completed", 3)
    other = drop(aws, context, "legacy_orders.txt", "orders/other/2026-11.txt")  # no mapping for this source
    assert other["status"] == "failed" and "mapping" in other["failure_reason"]


def test_a_bad_mapping_is_a_400(aws, context):
    status, body = _admin(context, "PUT", "/v1/imports/mappings/orders/x", {"delimiter": "::"})
    assert status == 400 and "delimiter" in json.dumps(body["error"]["details"])
    status, _ = _admin(context, "PUT", "/v1/imports/mappings/invoices/x", {})
    assert status == 400
