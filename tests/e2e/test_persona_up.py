"""End to end: `persona up` as a user runs it, driven over HTTP and with boto3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from infra.topology import TOPOLOGY
from tests.conftest import visitor
from tests.e2e.conftest import consented, customers_on_file, eventually, http, signed_in

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def start_persona_up(tmp_path_factory, *extra_args):
    """`persona up` in a subprocess on free ports; yields (process, endpoints, state_dir)."""
    state_dir = tmp_path_factory.mktemp("state")
    log = (state_dir / "persona-up.log").open("w+")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(
        [sys.executable, "-m", "persona.cli", "up", "--port", "0", "--aws-port", "0", "--state-dir", str(state_dir), *extra_args],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    state_file = state_dir / "local.json"
    try:
        eventually(lambda: state_file.exists() or process.poll() is not None, timeout_s=60)
        assert process.poll() is None, (state_dir / "persona-up.log").read_text()
        endpoints = json.loads(state_file.read_text())
        yield process, endpoints, state_dir
    finally:
        print((state_dir / "persona-up.log").read_text()[-5000:])  # shown by pytest when a test failed
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    # The demo's CDNOW import keeps moto busy for a minute: it has a test module of its own.
    yield from start_persona_up(tmp_path_factory, "--no-demo")


def _aws(endpoints, service):
    return boto3.client(
        service,
        endpoint_url=endpoints["aws_endpoint_url"],
        region_name=endpoints["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_healthz_and_openapi(running):
    _, endpoints, _ = running
    assert http("GET", endpoints["api_url"] + "/healthz") == (200, {"status": "ok", "version": "0.1.0"})
    status, spec = http("GET", endpoints["api_url"] + "/v1/openapi.json")
    assert status == 200 and "/v1/events" in spec["paths"]


def test_event_slice_end_to_end(running):
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], {"x-api-key": endpoints["admin_api_key"]}
    anonymous_id = consented(endpoints, visitor("anon-e2e"))  # browsing is stored only with consent
    now = datetime.now(UTC).isoformat()
    batch = {
        "events": [
            {"type": "page_view", "anonymous_id": anonymous_id, "timestamp": now},
            {"type": "product_view", "anonymous_id": anonymous_id, "item_id": "sku-1", "timestamp": now},
            {"type": "product_view", "anonymous_id": anonymous_id, "timestamp": now},  # no item_id: rejected
            {"type": "page_view", "anonymous_id": "anon-e2e", "timestamp": now},  # a guessable visitor id: rejected
        ]
    }
    status, body = http("POST", api + "/v1/events", batch)
    assert status == 202
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [2, 3]

    def counted():
        status, profile = http("GET", api + f"/v1/profiles/{anonymous_id}", headers=admin)
        return profile if status == 200 and profile["interactions"]["total"] == 2 else None

    profile = eventually(counted)
    assert profile["interactions"]["by_type"] == {"page_view": 1, "product_view": 1}


def test_bad_input_is_a_4xx_with_a_message(running):
    _, endpoints, _ = running
    api = endpoints["api_url"]
    status, body = http("POST", api + "/v1/events", b"{not json")
    assert status == 400 and body["error"]["code"] == "invalid_request" and "JSON" in body["error"]["message"]
    status, body = http("POST", api + "/v1/events", {"evnts": []})
    assert status == 400 and body["error"]["details"]
    status, body = http("GET", api + "/v1/profiles/anon-e2e")  # admin route without the key
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = http("GET", api + "/v1/nowhere")
    assert status == 404 and body["error"]["code"] == "route_not_found"


def test_aws_endpoint_serves_the_topology(running):
    _, endpoints, _ = running
    tables = sorted(f"persona-{t.id}" for t in TOPOLOGY.tables)
    assert sorted(_aws(endpoints, "dynamodb").list_tables()["TableNames"]) == tables
    # The AWS CLI works against it too, as the README shows.
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "--endpoint-url", endpoints["aws_endpoint_url"], "dynamodb", "list-tables", "--output", "json"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": endpoints["region"]},
    )
    assert cli.returncode == 0, cli.stderr
    assert sorted(json.loads(cli.stdout)["TableNames"]) == tables
    buckets = {b["Name"] for b in _aws(endpoints, "s3").list_buckets()["Buckets"]}
    assert endpoints["drop_bucket"] in buckets


def test_persona_drop_imports_an_export_with_its_mapping(running, tmp_path):
    _, endpoints, state_dir = running
    fixtures = REPO_ROOT / "tests" / "fixtures" / "crm"
    export = tmp_path / "legacy orders.txt"
    export.write_bytes((fixtures / "legacy_orders.txt").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "persona.cli", "drop", str(export), "--kind", "orders",
         "--mapping", str(fixtures / "legacy_orders.txt.mapping.json"), "--state-dir", str(state_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    admin = {"x-api-key": endpoints["admin_api_key"]}

    def finished():
        _, body = http("GET", endpoints["api_url"] + "/v1/imports", headers=admin)
        return [i for i in body["imports"] if i["key"] == "orders/legacy orders.txt" and i["status"] in ("completed", "failed")]

    (report,) = eventually(finished, timeout_s=60)
    assert (report["status"], report["accepted"], report["size_bytes"]) == ("completed", 3, export.stat().st_size)
    assert http("GET", endpoints["api_url"] + f"/v1/imports/{report['import_id']}", headers=admin)[1] == report


def test_a_privacy_request_through_the_outbox_and_verification(running):
    _, endpoints, state_dir = running
    api = endpoints["api_url"]
    # A customer of the retailer's CRM: their request's link goes to the address on file (a customer id alone proves nothing).
    customers_on_file(endpoints, "e2e-privacy", {"C-E2E": "e2e@example.org"})
    session = signed_in(api, "C-E2E")  # events and consents naming a customer need the customer's session
    consented(endpoints, "C-E2E", session)  # and browsing is stored only with consent
    events = [{"type": "product_view", "customer_id": "C-E2E", "item_id": "sku-9", "timestamp": datetime.now(UTC).isoformat()}]
    status, answer = http("POST", api + "/v1/events", {"events": events}, session)
    assert (status, answer["accepted"], answer["rejected"], answer.get("withheld", 0)) == (202, 1, [], 0)
    admin = {"x-api-key": endpoints["admin_api_key"]}
    eventually(lambda: (p := http("GET", api + "/v1/profiles/C-E2E", headers=admin))[0] == 200 and p[1]["interactions"]["total"] == 1,
               timeout_s=30)

    status, created = http("POST", api + "/v1/privacy-requests", {"type": "erasure", "subject_id": "C-E2E", "contact": "e2e@example.org"})
    assert status == 202 and created["status"] == "pending_verification"
    outbox = subprocess.run([sys.executable, "-m", "persona.cli", "outbox", "--json", "--state-dir", str(state_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert outbox.returncode == 0, outbox.stderr
    (message,) = [m for m in json.loads(outbox.stdout) if m["request_id"] == created["request_id"]]
    assert message["to"] == "e2e@example.org" and message["link"].startswith(api + "/privacy.html?request=")
    token = message["link"].rsplit("token=", 1)[1]
    with urllib.request.urlopen(message["link"], timeout=10) as page:  # the link opens the privacy centre
        assert page.status == 200 and b"Confirm my request" in page.read()
    assert http("POST", api + f"/v1/privacy-requests/{created['request_id']}/verification", {"token": token})[0] == 200

    done = eventually(lambda: http("GET", api + f"/v1/privacy-requests/{created['request_id']}")[1]["status"] == "completed", timeout_s=60)
    assert done
    assert http("GET", api + "/v1/profiles/C-E2E", headers=admin)[0] == 404
    assert http("GET", api + "/v1/consents/C-E2E", headers=session)[1]["history"] == []


def test_train_and_publish_a_model_that_serves_without_a_restart(running, tmp_path):
    from infra.local.demo_catalog import demo_catalog, simulate_shoppers, write_interactions

    _, endpoints, state_dir = running
    url = endpoints["api_url"] + f"/v1/recommendations?placement=product&item_id=sku-1001&anonymous_id={visitor('anon-e2e')}"
    assert http("GET", url)[1]["fallback_reason"] == "no_model"  # nothing published yet: neutral, not a 5xx

    catalog = demo_catalog()
    (tmp_path / "catalog.json").write_text(catalog.model_dump_json())
    interactions = write_interactions(simulate_shoppers(catalog, shoppers=300), tmp_path / "interactions.csv")
    persona = [sys.executable, "-m", "persona.cli"]
    trained = subprocess.run([*persona, "train", "--interactions", str(interactions), "--out", str(tmp_path / "model")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    published = subprocess.run([*persona, "publish", "--model", str(tmp_path / "model"), "--catalog", str(tmp_path / "catalog.json"),
                                "--state-dir", str(state_dir)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert published.returncode == 0 and "published model" in published.stdout, published.stderr
    version = json.loads((tmp_path / "model" / "metadata.json").read_text())["model_version"]
    answer = eventually(lambda: (a := http("GET", url)[1])["model_version"] == version and a, timeout_s=20)
    assert answer["items"] and answer["items"][0]["reason"]["text"].startswith("Similar to ")

    bad = subprocess.run([*persona, "publish", "--catalog", str(interactions), "--state-dir", str(state_dir)],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "catalog" in bad.stderr and "not valid" in bad.stderr


def test_persona_copy_back_leaves_out_people_erased_since_the_restore_point(running):
    """After a point-in-time restore, `persona copy-back RESTORED LIVE` copies items back, but not those about
    someone erased since (docs/operations.md)."""
    _, endpoints, state_dir = running
    api, erased = endpoints["api_url"], "C-COPY-BACK"
    customers_on_file(endpoints, "e2e-copy-back", {erased: "copy-back@example.org"})  # the link goes to the address on file
    events = [{"type": "product_view", "customer_id": erased, "item_id": "sku-9", "timestamp": datetime.now(UTC).isoformat()}]
    assert http("POST", api + "/v1/events", {"events": events}, signed_in(api, erased))[1]["accepted"] == 1
    eventually(lambda: http("GET", api + f"/v1/profiles/{erased}", headers={"x-api-key": endpoints["admin_api_key"]})[0] == 200, timeout_s=30)
    _, created = http("POST", api + "/v1/privacy-requests", {"type": "erasure", "subject_id": erased, "contact": "copy-back@example.org"})
    outbox = subprocess.run([sys.executable, "-m", "persona.cli", "outbox", "--json", "--state-dir", str(state_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    (message,) = [m for m in json.loads(outbox.stdout) if m["request_id"] == created["request_id"]]
    token = message["link"].rsplit("token=", 1)[1]
    assert http("POST", api + f"/v1/privacy-requests/{created['request_id']}/verification", {"token": token})[0] == 200
    eventually(lambda: http("GET", api + f"/v1/privacy-requests/{created['request_id']}")[1]["status"] == "completed", timeout_s=60)

    ddb, live = _aws(endpoints, "dynamodb"), endpoints["tables"]["results"]
    restored = f"{live}-restored"
    ddb.create_table(TableName=restored, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    kept = {"pk": {"S": "UNIT#C-KEPT-BY-COPY-BACK"}, "sk": {"S": "LINKED_TO"}, "customer_id": {"S": "C-KEPT-BY-COPY-BACK"}}
    gone = {"pk": {"S": f"UNIT#{erased}"}, "sk": {"S": "LINKED_TO"}, "customer_id": {"S": erased}}
    for item in (kept, gone):
        ddb.put_item(TableName=restored, Item=item)
    try:
        run = subprocess.run([sys.executable, "-m", "persona.cli", "copy-back", restored, live, "--json", "--state-dir", str(state_dir)],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert (result["scanned"], result["copied"], result["skipped_erased"]) == (2, 1, 1), result
        assert "Item" in ddb.get_item(TableName=live, Key={k: kept[k] for k in ("pk", "sk")})
        assert "Item" not in ddb.get_item(TableName=live, Key={k: gone[k] for k in ("pk", "sk")})
        wrong = subprocess.run([sys.executable, "-m", "persona.cli", "copy-back", "no-such-table", live, "--state-dir", str(state_dir)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert wrong.returncode == 2 and wrong.stderr.startswith("persona copy-back: ") and "Traceback" not in wrong.stderr, wrong.stderr
    finally:
        ddb.delete_table(TableName=restored)
        ddb.delete_item(TableName=live, Key={k: kept[k] for k in ("pk", "sk")})


def test_drop_without_a_running_instance_says_so(tmp_path):
    export = tmp_path / "c.csv"
    export.write_text("id\n1\n")
    result = subprocess.run(
        [sys.executable, "-m", "persona.cli", "drop", str(export), "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "make up" in result.stderr


def test_ctrl_c_stops_cleanly(running):
    process, _, state_dir = running
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    output = (state_dir / "persona-up.log").read_text()
    assert "persona: stopped." in output
    assert not (state_dir / "local.json").exists()
