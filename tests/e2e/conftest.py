from __future__ import annotations

import dataclasses
import json
import shutil
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def signed_in(api_url: str, customer_id: str) -> dict[str, str]:
    """The header that proves a customer (shared/trust.py), from the local runtime's stand-in for the retailer's
    sign-in (POST /local/storefront-sessions), as the demo shop gets it."""
    status, answer = http("POST", api_url + "/local/storefront-sessions", {"customer_id": customer_id})
    assert status == 200, answer
    return {answer["header"]: answer["session"]}


def backend(endpoints: dict[str, Any]) -> dict[str, str]:
    """The header of the retailer's backend on `/v1/server/` routes locally (an IAM signature in AWS)."""
    return {"x-persona-server-key": endpoints["server_key"]}


def eventually(check, timeout_s: float = 20.0, interval_s: float = 0.2):
    """Poll `check` until it returns something truthy (queues are asynchronous)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            last = exc  # a busy local instance (an import in the background) is "not yet", not a failure
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")


def _aws(endpoints: dict[str, Any], service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoints["aws_endpoint_url"], region_name=endpoints["region"],
                        aws_access_key_id="local", aws_secret_access_key="local")


EVERYTHING = {"purposes": {"analytics": True, "personalization": True, "profiling": True}, "source": "banner", "policy_version": "v1"}


def consented(endpoints: Any, subject: str, headers: dict[str, str] | None = None) -> str:
    """The subject said yes in the banner (a customer with their session in `headers`), and the profiles context knows
    it: the collection API stores a subject's browsing only with consent, checked at the door against its projection
    of ConsentChanged, which a queue brings. `endpoints`: the state file's, or a LocalRuntime's."""
    if not isinstance(endpoints, dict):
        endpoints = dataclasses.asdict(endpoints)
    status, answer = http("PUT", f"{endpoints['api_url']}/v1/consents/{subject}", EVERYTHING, headers)
    assert status == 200, answer
    dynamodb = _aws(endpoints, "dynamodb")
    eventually(lambda: dynamodb.get_item(TableName=endpoints["tables"]["profiles"], ConsistentRead=True,
                                         Key={"pk": {"S": f"CONSENT#{subject}"}, "sk": {"S": "STATE"}}).get("Item"), timeout_s=30)
    return subject


CUSTOMERS_HEADER = "customer_id,email,phone,first_name,last_name,birth_date,country,email_opt_in,created_at\n"


def customers_on_file(endpoints: dict[str, Any], name: str, customers: dict[str, str]) -> None:
    """Customers the retailer's CRM holds, with their e-mail address (customer id -> address), imported through the
    drop bucket as an export would be. A customer's privacy request gets its confirmation link only at the address
    on file (a customer id anyone could type proves nothing), so this returns once the import is done and the
    privacy context has learnt the addresses (its queue is empty)."""
    def aws(service: str) -> Any:
        return _aws(endpoints, service)

    key = f"customers/{name}.csv"
    rows = "".join(f"{customer},{email},,Test,Customer,1980-01-01,DE,false,2025-01-10\n" for customer, email in customers.items())
    aws("s3").put_object(Bucket=endpoints["drop_bucket"], Key=key, Body=(CUSTOMERS_HEADER + rows).encode())
    admin = {"x-api-key": endpoints["admin_api_key"]}
    eventually(lambda: any(i["key"] == key and i["status"] == "completed"
                           for i in http("GET", endpoints["api_url"] + "/v1/imports", headers=admin)[1]["imports"]), timeout_s=60)
    sqs = aws("sqs")
    queue = sqs.get_queue_url(QueueName="persona-privacy-contacts")["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    eventually(lambda: not any(int(n) for n in sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"].values()),
               timeout_s=30)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (its own browser downloads are not used)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make install installs it where apt-get can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()
