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


# ---------------------------------------------------------------- the privacy centre (web/privacy.html)

PURPOSES = ("analytics", "personalization", "email_marketing", "sms_marketing", "profiling")


def privacy_centre_ready(page) -> None:
    """The privacy centre has found out who it shows and loaded their choices and requests (it asks for no id)."""
    page.locator("#consent-form[data-state=loaded]").wait_for(state="attached")
    page.locator("#requests[data-state=loaded]").wait_for(state="attached")


def choices_shown(page) -> dict[str, bool]:
    return {p: page.locator(f"#purpose-{p}").is_checked() for p in PURPOSES}


def send_privacy_request(page, kind: str, contact: str) -> str:
    """A request from the privacy centre's form (about whoever the page shows: there is no subject field); the id of
    the request as the page's history of requests then lists it, waiting for confirmation."""
    before = set(page.locator("#requests li").evaluate_all("items => items.map(i => i.dataset.requestId)"))
    page.get_by_label("Right").select_option("rectification")
    assert page.get_by_label("Correct e-mail address").is_visible()  # asked only for a rectification
    page.get_by_label("Right").select_option(kind)
    assert page.get_by_label("Correct e-mail address").is_hidden()
    page.get_by_label("Your e-mail address").fill(contact)
    page.get_by_role("button", name="Send request").click()
    page.locator("#request-status.ok", has_text="we sent it a link").wait_for()
    listed = page.locator(f"#requests li[data-type={kind.split(':')[0]}][data-status=pending_verification]")

    def new_one():
        ids = set(listed.evaluate_all("items => items.map(i => i.dataset.requestId)")) - before
        return ids and ids.pop()

    return eventually(new_one, timeout_s=10)


def outbox_link(endpoints: dict[str, Any], request_id: str) -> dict[str, str]:
    """The confirmation message for a request (locally the outbox is the mailbox): {"to", "link", ...}."""
    admin = {"x-api-key": endpoints["admin_api_key"]}
    return next(m for m in http("GET", endpoints["api_url"] + "/v1/privacy-outbox", None, admin)[1] if m["request_id"] == request_id)


def confirm_and_download(page, link: str, kind: str = "Access") -> str:
    """Open the confirmation link, confirm, wait until done; the downloaded bundle's text (every file of the zip)."""
    import io
    import zipfile

    page.goto(link)
    page.get_by_role("button", name="Confirm my request").wait_for()
    assert page.locator("#fact-request").inner_text() == kind and page.locator("#fact-status").inner_text() == "pending verification"
    page.get_by_role("button", name="Confirm my request").click()
    download = page.get_by_role("link", name="Download your data")
    download.wait_for(timeout=60_000)
    assert page.locator("#fact-status").inner_text() == "completed" and page.get_by_role("button", name="Confirm my request").is_hidden()
    bundle = page.request.get(download.get_attribute("href"))
    assert bundle.ok
    with zipfile.ZipFile(io.BytesIO(bundle.body())) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def overflowing(page) -> list[str]:
    """Elements wider than a phone's screen that do not scroll inside a container of their own."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll, nav ul'))
        .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)""")


def tab_order(page, stop_at: str, limit: int = 60) -> list[str]:
    """What the keyboard reaches from the top of a freshly loaded page, up to the element with id `stop_at`: ids, or
    `tag.class` for elements without one; each checked for a visible focus indicator."""
    reached = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            const name = e.id || e.tagName.toLowerCase() + (e.classList.length ? '.' + e.classList[0] : '');
            return { id: name, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 }; }""")
        assert focused["outline"], f"no visible focus on {focused['id']}"
        reached.append(focused["id"])
        if focused["id"] == stop_at:
            return reached
    raise AssertionError(f"{stop_at} not reached by Tab: {reached}")


# Every visible element with its own text: the contrast ratio of its colour against the first
# opaque background behind it (WCAG relative luminance); those below 4.5:1.
CONTRAST_JS = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (e) => {
    for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] >= 0.9) return c.slice(0, 3); }
    return [255, 255, 255];
  };
  const low = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length || getComputedStyle(e).visibility === 'hidden' || e.closest('[hidden], .visually-hidden, .toast, svg')) continue;
    const a = lum(rgb(getComputedStyle(e).color).slice(0, 3)), b = lum(background(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${e.tagName}.${e.className}: ${ratio.toFixed(2)} "${e.textContent.trim().slice(0, 30)}"`);
  }
  return low;
}"""
