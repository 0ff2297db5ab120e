"""An attacker's view of the local runtime: one in-process runtime per module, driven over HTTP only,
the way someone with `curl` and a customer id would (issue 17). Each attack must fail; the legitimate
flows next to them must still work."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from infra.local.runtime import LocalRuntime
from tests.e2e.conftest import eventually, http

CUSTOMERS_CSV = (
    "customer_id,email,phone,first_name,last_name,country\n"
    "C-1001,anna.schmidt@example.org,+4917112345670,Anna,Schmidt,DE\n"
    "C-1002,ben.miller@example.org,+442079460958,Ben,Miller,GB\n"
)
ANNA = {"C-1001", "anna.schmidt@example.org", "Anna", "Schmidt", "+4917112345670"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[LocalRuntime]:
    local = LocalRuntime(api_port=0, aws_port=0, state_dir=tmp_path_factory.mktemp("state"), web_root=None)
    local.start()
    yield local
    local.stop()


CATALOG = {"items": [
    {"item_id": "sku-1", "title": "Tent", "category": "tents", "brand": "Stride", "price": 199.0, "stock": 5},
    {"item_id": "sku-2", "title": "Vitamins", "category": "health", "brand": "Vita", "price": 9.9, "stock": 50},
]}


@pytest.fixture(scope="module")
def customers(runtime) -> set[str]:
    """A published catalog (its vocabulary reaches profiles before any storefront event), and two customers imported
    from a CRM export, known to the privacy context with their e-mail on file."""
    runtime.client("s3").put_object(Bucket=runtime.endpoints.buckets["models"], Key="catalog/catalog.json",
                                    Body=json.dumps(CATALOG).encode())
    eventually(lambda: runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["profiles"],
                                                           Key={"pk": {"S": "CATALOG"}, "sk": {"S": "VOCABULARY"}}).get("Item"), 30)
    runtime.client("s3").put_object(Bucket=runtime.endpoints.drop_bucket, Key="customers/crm.csv", Body=CUSTOMERS_CSV.encode())
    eventually(lambda: [i for i in admin(runtime, "GET", "/v1/imports")[1]["imports"] if i["status"] == "completed"], 60)
    eventually(lambda: admin(runtime, "GET", "/v1/profiles/C-1001")[0] == 200, 30)
    # The privacy context hears whom profiles holds (ContactsOnFile) through its own queue.
    eventually(lambda: privacy_item(runtime, "SUBJECT#C-1001", "CONTACT"), 30)
    return {"C-1001", "C-1002"}


def api(runtime: LocalRuntime, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return http(method, runtime.endpoints.api_url + path, body, headers)


def admin(runtime: LocalRuntime, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return api(runtime, method, path, body, {"x-api-key": runtime.endpoints.admin_api_key})


def signed_in(runtime: LocalRuntime, customer_id: str) -> dict[str, str]:
    """What the retailer's sign-in gives the customer (the local runtime plays it)."""
    status, answer = api(runtime, "POST", "/local/storefront-sessions", {"customer_id": customer_id})
    assert status == 200, answer
    return {answer["header"]: answer["session"]}


def backend(runtime: LocalRuntime) -> dict[str, str]:
    return {"x-persona-server-key": runtime.endpoints.server_key}


def privacy_item(runtime: LocalRuntime, pk: str, sk: str) -> dict | None:
    return runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["privacy"], Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                               ConsistentRead=True).get("Item")


def outbox_link(runtime: LocalRuntime, request_id: str) -> str | None:
    found = [m["link"] for m in admin(runtime, "GET", "/v1/privacy-outbox")[1] if m["request_id"] == request_id]
    return found[0] if found else None


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def bundle(runtime: LocalRuntime, request_id: str, token: str) -> dict[str, str]:
    """Every file of a completed access request's bundle, as text."""
    status = eventually(lambda: (s := api(runtime, "GET", f"/v1/privacy-requests/{request_id}?token={token}")[1])["status"] == "completed" and s, 60)
    with urllib.request.urlopen(status["download_url"], timeout=30) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    return {name: archive.read(name).decode() for name in archive.namelist()}


def as_text(files: dict[str, str]) -> str:
    return json.dumps(files)


EVERYTHING = {"purposes": {"analytics": True, "personalization": True, "profiling": True}, "source": "banner", "policy_version": "v1"}


def consented(runtime: LocalRuntime, subject: str, headers: dict[str, str] | None = None) -> str:
    """The subject said yes to analytics, personalization and profiling, and the profiles context knows it
    (its consent projection: what the collection API checks at the door)."""
    status, answer = http("PUT", f"{runtime.endpoints.api_url}/v1/consents/{subject}", EVERYTHING, headers)
    assert status == 200, answer
    eventually(lambda: runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["profiles"], ConsistentRead=True,
                                                           Key={"pk": {"S": f"CONSENT#{subject}"}, "sk": {"S": "STATE"}}).get("Item"), 30)
    return subject
