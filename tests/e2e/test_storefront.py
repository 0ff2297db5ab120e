"""The demo storefront (web/index.html) in a real browser (Debian's chromium driven by
Playwright) against `persona up` with its demo shop: consent banner, anonymous browsing that
personalizes the home page, login that merges the profile, rejection that keeps everything
neutral, the hero-banner experiment, search, cart cross-sell and checkout, phone width.
Screenshots land in test-artifacts/screenshots/storefront-*.png."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlparse

import boto3
import pytest

from infra.topology import TOPOLOGY
from shared.bucketing import in_global_holdout
from tests.conftest import visitor
from tests.e2e.conftest import (
    CONTRAST_JS,
    choices_shown,
    confirm_and_download,
    customers_on_file,
    eventually,
    http,
    outbox_link,
    overflowing,
    privacy_centre_ready,
    send_privacy_request,
    signed_in,
)
from tests.e2e.test_persona_up import REPO_ROOT, start_persona_up

pytestmark = pytest.mark.e2e
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
HOLDOUT_SHARE = float(dict(TOPOLOGY.function("recommend_api").env)["GLOBAL_HOLDOUT_SHARE"])
BROWSING = {"page_view", "product_view", "search", "add_to_cart", "remove_from_cart"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """`persona up` with the demo shop: its catalog, a model trained on its simulated shoppers and
    the hero-banner test, opened with the demo's own code (infra/local/demo.py). Not the rest of
    `make up`'s demo data: its CDNOW import and segmentation keep the local DynamoDB busy for
    minutes (test_demo.py covers them), which stretched these tests to over four minutes, with
    timeouts, on a 2-core machine."""
    session = start_persona_up(tmp_path_factory, "--no-demo")
    running = next(session)
    try:
        _, endpoints, state_dir = running
        open_demo_shop(endpoints, state_dir)
        yield running
    finally:
        session.close()


def open_demo_shop(endpoints: dict, state_dir) -> None:
    from infra.local import demo
    from infra.local.runtime import read_state
    from shared.aws import clients

    api, admin = endpoints["api_url"], {"x-api-key": endpoints["admin_api_key"]}
    local = {"AWS_ENDPOINT_URL": endpoints["aws_endpoint_url"], "AWS_DEFAULT_REGION": endpoints["region"],
             "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    try:
        with pytest.MonkeyPatch.context() as env:  # the AWS adapters talk to this instance's moto, for this call only
            for name, value in local.items():
                env.setenv(name, value)
            clients.reset()
            shop = demo.open_shop(read_state(state_dir), state_dir)
    finally:
        clients.reset()
    assert http("POST", f"{api}/v1/experiments", demo.HERO_EXPERIMENT, headers=admin)[0] == 201
    assert http("PATCH", f"{api}/v1/experiments/{demo.HERO_EXPERIMENT['key']}", {"status": "running"}, headers=admin)[0] == 200
    eventually(lambda: recommendations(api, anonymous_id=visitor("anon-warm-up"))["model_version"] == shop["model_version"], timeout_s=30)


def outside_holdout(prefix: str) -> str:
    """A fresh id that is not in the 5 % global holdout (which is never personalized)."""
    while in_global_holdout(candidate := f"{prefix}{secrets.token_hex(16)}", HOLDOUT_SHARE):
        pass
    return candidate


class Visit:
    """One browser context (one visitor's device) with every event and API call the page sent."""

    def __init__(self, browser, api: str, *, anonymous_id: str | None = None, width: int = 1200, height: int = 900,
                 locale: str = "en-GB") -> None:
        self.api = api
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        if anonymous_id:  # as if the page had generated it on an earlier visit
            self.context.add_init_script(f"localStorage.getItem('persona.anonymous_id') || "
                                         f"localStorage.setItem('persona.anonymous_id', {json.dumps(json.dumps(anonymous_id))})")
        self.page = self.context.new_page()
        self.page.set_default_timeout(45_000)  # the demo's CDNOW import keeps the local runtime busy at first
        self.events: list[dict] = []
        self.sessions: list[str | None] = []  # the X-Persona-Session each of `events` went with
        self.calls: list[str] = []
        self.call_sessions: list[str | None] = []  # the same for `calls`
        self.orders: list[dict] = []  # what the checkout handed the retailer's order system (POST /local/orders)
        self.errors: list[str] = []
        self.page.on("request", self._record)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _record(self, request) -> None:
        session = request.headers.get("x-persona-session")
        if "/v1/" in request.url:
            self.calls.append(f"{request.method} {request.url}")
            self.call_sessions.append(session)
        if request.method == "POST" and request.url.endswith("/v1/events"):
            sent = json.loads(request.post_data)["events"]
            self.events.extend(sent)
            self.sessions.extend([session] * len(sent))
        if request.method == "POST" and request.url.endswith("/local/orders"):
            self.orders.append(json.loads(request.post_data))

    def open(self, route: str = "#/") -> None:
        self.page.goto(f"{self.api}/{route}")
        self.ready(route.split("/")[1] or "home")

    def ready(self, route: str) -> None:
        self.page.locator(f"#view[data-ready=true][data-route={route}]").wait_for()

    def home(self) -> dict:
        """(Re)load the home page; its recommendations as the page shows them."""
        if urlparse(self.page.url).fragment in ("", "/"):
            self.page.reload()
        else:
            self.page.goto(f"{self.api}/#/")
        self.ready("home")
        section = self.page.locator("#home-recs")
        return {"personalized": section.get_attribute("data-personalized") == "true",
                "fallback": section.get_attribute("data-fallback"),
                "items": section.locator("li.card").evaluate_all("cards => cards.map(c => c.dataset.itemId)"),
                "reasons": section.locator("li.card").evaluate_all("cards => cards.map(c => c.dataset.reason)")}

    def shot(self, name: str, full_page: bool = True) -> None:
        self.page.evaluate("(t => { if (t) { t.style.transition = 'none'; t.classList.remove('shown'); } })(document.getElementById('toast'))")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"storefront-{name}.png"), full_page=full_page)

    def no_overflow(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    def low_contrast(self) -> list[str]:
        return self.page.evaluate(CONTRAST_JS)

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


def recommendations(api: str, headers: dict[str, str] | None = None, **params) -> dict:
    status, answer = http("GET", f"{api}/v1/recommendations?{urlencode({'placement': 'home', 'n': 8, **params})}", headers=headers)
    assert status == 200, answer
    return answer


def accept_all(visit: Visit, anonymous_id: str, endpoints: dict) -> None:
    banner = visit.page.get_by_role("dialog", name="Your privacy choices")
    banner.wait_for()
    visit.page.get_by_role("button", name="Accept all").click()
    banner.wait_for(state="hidden")
    # The choice reaches the recommend and profiles contexts through the bus: from then on the visitor's
    # views are kept (before, they are withheld at the door and dropped as unconsented).
    eventually(lambda: recommendations(visit.api, anonymous_id=anonymous_id)["fallback_reason"] == "no_history", timeout_s=45)
    profiles = boto3.client("dynamodb", endpoint_url=endpoints["aws_endpoint_url"], region_name=endpoints["region"],
                            aws_access_key_id="local", aws_secret_access_key="local")
    eventually(lambda: profiles.get_item(TableName=endpoints["tables"]["profiles"], ConsistentRead=True,
                                         Key={"pk": {"S": f"CONSENT#{anonymous_id}"}, "sk": {"S": "STATE"}}).get("Item"), timeout_s=45)


def test_anonymous_browsing_personalizes_the_home_page(browser, shop):
    _, endpoints, _ = shop
    api, anonymous_id = endpoints["api_url"], outside_holdout("anon-")
    visit = Visit(browser, api, anonymous_id=anonymous_id)
    visit.open()
    accept_all(visit, anonymous_id, endpoints)
    consent = http("GET", f"{api}/v1/consents/{anonymous_id}")[1]
    assert consent["effective"]["personalization"] and consent["effective"]["analytics"]
    assert {r["source"] for r in consent["purposes"].values()} == {"banner"}

    before = visit.home()
    assert not before["personalized"] and len(before["items"]) == 8
    assert "Not personalized" in visit.page.locator("#home-recs .note").inner_text()

    page = visit.page
    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Tents").click()
    visit.ready("catalog")
    viewed = {}
    for sku in ("sku-8001", "sku-8002", "sku-8003"):
        page.locator(f'#catalog-list a[href="#/product/{sku}"]').click()
        page.locator(f"article.product[data-item-id={sku}]").wait_for()
        visit.ready("product")
        viewed[sku] = page.get_by_role("heading", level=1).inner_text()
        if sku != "sku-8003":
            page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Tents").click()
            visit.ready("catalog")
    page.locator("#similar[data-state=loaded] li.card").first.get_by_role("button", name="Why am I seeing this?").click()
    assert page.locator("#similar .why-text").first.inner_text().startswith("Similar to ")
    page.locator("#same-brand[data-state=loaded]").wait_for()
    assert page.get_by_role("heading", name=f"More from {page.locator('.brand a').inner_text()}").is_visible()
    visit.shot("product")

    views = [e for e in visit.events if e["type"] == "product_view"]
    assert [e["item_id"] for e in views] == list(viewed)
    for event in views:
        assert (event["anonymous_id"], event["category"], event["context"]["locale"], event["context"]["device"]) == (
            anonymous_id, "tents", "en-GB", "desktop")
        assert event["brand"] and event["context"]["page"].endswith(f"#/product/{event['item_id']}") and "customer_id" not in event
        datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))

    page.get_by_role("link", name="Persona Outdoor").click()
    visit.ready("home")
    after = eventually(lambda: (home := visit.home())["personalized"] and home, timeout_s=45, interval_s=1)
    assert after["items"] != before["items"] and "viewed" in after["reasons"]
    assert visit.page.locator("#home-recs .note").is_hidden()
    card = page.locator('#home-recs li.card[data-reason="viewed"]').first
    why = card.get_by_role("button", name="Why am I seeing this?")
    why.click()
    assert why.get_attribute("aria-expanded") == "true"
    reason = card.locator(".why-text").inner_text()
    assert reason.startswith("Because you viewed ") and reason.removeprefix("Because you viewed ") in viewed.values()
    visit.shot("home")
    visit.close()


def test_login_merges_the_visitors_profile(browser, shop):
    _, endpoints, _ = shop
    api, admin = endpoints["api_url"], {"x-api-key": endpoints["admin_api_key"]}
    anonymous_id, customer = outside_holdout("anon-"), outside_holdout("C-")
    visit = Visit(browser, api, anonymous_id=anonymous_id)
    visit.open()
    accept_all(visit, anonymous_id, endpoints)
    for sku in ("sku-6001", "sku-6002"):  # backpacks
        visit.page.goto(f"{api}/#/product/{sku}")
        visit.page.locator(f"article.product[data-item-id={sku}]").wait_for()

    page = visit.page
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Customer id").fill(customer)
    # The identify follows the sign-in (it goes with the session the sign-in gives): wait for it to leave the page.
    with page.expect_request(lambda r: r.url.endswith("/v1/events") and '"type":"identify"' in (r.post_data or "")):
        page.locator("#login-panel").get_by_role("button", name="Log in").click()
    assert page.locator("#signed-in").is_visible() and page.locator("#customer-name").inner_text() == customer
    identify = eventually(lambda: [e for e in visit.events if e["type"] == "identify"])
    assert (identify[0]["anonymous_id"], identify[0]["customer_id"]) == (anonymous_id, customer)
    # The link needs the customer's proof: the session the shop's sign-in gave, sent along with the identify.
    session = page.evaluate("JSON.parse(localStorage.getItem('persona.session'))")
    assert session["customer_id"] == customer and session["header"] == "X-Persona-Session"
    proof = {session["header"]: session["session"]}
    assert visit.sessions[visit.events.index(identify[0])] == session["session"]

    def linked():
        status, profile = http("GET", f"{api}/v1/profiles/{customer}", headers=admin)
        return status == 200 and anonymous_id in profile["linked_ids"] and profile

    profile = eventually(linked, timeout_s=45, interval_s=0.5)
    assert profile["interactions"]["by_type"].get("product_view", 0) >= 2  # the visitor's history moved to the customer

    home = eventually(lambda: (h := visit.home())["personalized"] and h, timeout_s=45, interval_s=1)
    assert "viewed" in home["reasons"]
    last_asked = [i for i, c in enumerate(visit.calls) if "/v1/recommendations" in c][-1]
    asked = parse_qs(urlparse(visit.calls[last_asked].split(" ", 1)[1]).query)
    assert (asked["user_id"], asked["anonymous_id"], asked["placement"], asked["n"]) == ([customer], [anonymous_id], ["home"], ["8"])
    assert visit.call_sessions[last_asked] == session["session"]  # a user_id counts only with the customer's session
    # The customer alone (e.g. on another device, signed in) is personalized too: history and consent followed the link.
    eventually(lambda: recommendations(api, proof, user_id=customer)["personalized"], timeout_s=45, interval_s=0.5)
    # ... and only with their session: a customer id anyone could type is served as an unknown visitor.
    stranger = recommendations(api, user_id=customer)
    assert (stranger["personalized"], stranger["fallback_reason"]) == (False, "unknown_visitor")
    later = [e for e in visit.events if e["type"] == "page_view"][-1]
    assert (later["customer_id"], later["anonymous_id"]) == (customer, anonymous_id)
    assert visit.sessions[visit.events.index(later)] == session["session"]

    # A known customer's consents are closed to anyone without their session (the privacy context learns of
    # the customer from the login) ... and open in the privacy centre to the customer signed in to the shop.
    assert eventually(lambda: http("GET", f"{api}/v1/consents/{customer}")[0] == 401, timeout_s=45, interval_s=0.5)
    centre = page.context.new_page()  # the same site's storage: the shop's session
    centre.goto(api + "/privacy.html")
    privacy_centre_ready(centre)
    assert centre.locator("#who-title").inner_text() == f"Signed in as customer {customer}"
    centre.get_by_role("checkbox", name="SMS marketing", exact=True).check()
    centre.get_by_role("button", name="Save my choices").click()
    centre.locator("#consent-status.ok").wait_for()
    assert "SMS marketing" in centre.locator("#consent-status").inner_text()
    assert http("GET", f"{api}/v1/consents/{customer}", headers=proof)[1]["purposes"]["sms_marketing"]["granted"]
    centre.close()

    # A session that does not prove the customer (forged, or signed with another key) opens nothing: the page says
    # why and shows this browser's visitor instead.
    forged = {**session, "session": session["session"].split(".")[0] + ".bm90LXRoZS1zaWduYXR1cmUtb2YtdGhpcy1jdXN0b21lcg"}
    centre = page.context.new_page()
    centre.add_init_script(f"localStorage.setItem('persona.session', {json.dumps(json.dumps(forged))})")
    centre.goto(api + "/privacy.html")
    centre.locator("#who-note", has_text="sign in again").wait_for()
    privacy_centre_ready(centre)
    assert centre.locator("#who-title").inner_text() == "You are browsing as a visitor on this device"
    assert not choices_shown(centre)["sms_marketing"]  # not the customer's choice
    centre.close()
    page.evaluate(f"localStorage.setItem('persona.session', {json.dumps(json.dumps(session))})")

    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.evaluate("localStorage.getItem('persona.customer_id')") is None
    assert page.evaluate("localStorage.getItem('persona.session')") is None
    centre = page.context.new_page()  # signed out: the customer's choices stay closed; the device's new visitor is shown
    asked = []
    centre.on("request", lambda r: asked.append(r.url))
    centre.goto(api + "/privacy.html")
    privacy_centre_ready(centre)
    assert centre.locator("#who-title").inner_text() == "You are browsing as a visitor on this device"
    assert centre.locator("#signed-in").is_hidden() and centre.get_by_role("link", name="Log in to the shop").is_visible()
    assert not [url for url in asked if customer in url]  # the page asked nothing about the customer
    assert not choices_shown(centre)["sms_marketing"]
    centre.close()
    visit.close()


def test_the_privacy_centre_knows_the_shopper_who_signed_in(browser, shop):
    """The whole legitimate flow: a visitor accepts the banner and browses, signs in (the local stand-in for the
    retailer's sign-in), opens the privacy centre from the shop's footer and types no id: it says who they are, shows
    the banner choice carried over from the visitor, keeps a changed choice, and an access request confirmed from the
    e-mailed link is listed in their history and downloads their own data (the visitor's browsing included)."""
    _, endpoints, _ = shop
    api, admin = endpoints["api_url"], {"x-api-key": endpoints["admin_api_key"]}
    anonymous_id, customer = outside_holdout("anon-"), outside_holdout("C-")
    email = f"{customer.lower()}@example.org"
    customers_on_file(endpoints, f"privacy-{customer}", {customer: email})  # the retailer's CRM: their address on file
    # The CRM row's e-mail opt-in (no) is the customer's own choice: it must be known before the sign-in (a choice the
    # customer made is not overwritten by the visitor's); a session of the local sign-in, only to look.
    crm = signed_in(api, customer)
    eventually(lambda: http("GET", f"{api}/v1/consents/{customer}", headers=crm)[1]["purposes"].get("email_marketing"), timeout_s=45)

    visit = Visit(browser, api, anonymous_id=anonymous_id)
    visit.open()
    accept_all(visit, anonymous_id, endpoints)
    page = visit.page
    for sku in ("sku-8001", "sku-8002"):
        page.goto(f"{api}/#/product/{sku}")
        page.locator(f"article.product[data-item-id={sku}]").wait_for()
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Customer id").fill(customer)
    with page.expect_request(lambda r: r.url.endswith("/v1/events") and '"type":"identify"' in (r.post_data or "")):
        page.locator("#login-panel").get_by_role("button", name="Log in").click()
    session = page.evaluate("JSON.parse(localStorage.getItem('persona.session'))")
    proof = {session["header"]: session["session"]}

    # The link reaches the privacy context through a queue (IdentityLinked): the banner choice carries over then, and
    # the visitor's browsing moves to the customer's profile.
    def carried():
        history = http("GET", f"{api}/v1/consents/{customer}", headers=proof)[1]["history"]
        return [r for r in history if r.get("carried_from") == anonymous_id]

    # The carried records are history items written one after another: wait for both, not the first one seen.
    eventually(lambda: {r["purpose"] for r in carried()} == {"analytics", "personalization"}, timeout_s=45, interval_s=0.5)
    eventually(lambda: (p := http("GET", f"{api}/v1/profiles/{customer}", headers=admin)[1]).get("interactions", {})
               .get("by_type", {}).get("product_view", 0) >= 2 and anonymous_id in p["linked_ids"], timeout_s=45, interval_s=0.5)

    # The privacy centre, from the shop's footer: nothing to type.
    page.get_by_role("contentinfo").get_by_role("link", name="Privacy centre").click()
    privacy_centre_ready(page)
    assert page.locator("#who-title").inner_text() == f"Signed in as customer {customer}"
    assert page.locator("#customer-name").inner_text() == customer
    assert page.locator("main input:not([type=checkbox])").evaluate_all("f => f.map(e => e.id)") == ["request-contact", "request-correction"]
    mine = [i for i, c in enumerate(visit.calls) if customer in c]
    assert mine and all(visit.call_sessions[i] == session["session"] for i in mine)  # asked as the customer, with the session
    assert choices_shown(page) == {"analytics": True, "personalization": True, "email_marketing": False, "sms_marketing": False,
                                   "profiling": False}
    carried_entry = page.locator("#consent-history li[data-carried=true]")
    assert carried_entry.count() == 1
    text = carried_entry.inner_text()
    assert "Allowed Analytics, Personalization" in text and "In the shop's privacy banner, chosen on this device before you signed in." in text
    assert "chosen on this device before you signed in" in page.locator("#state-analytics").inner_text()
    assert "as recorded in your customer account" in page.locator("#state-email_marketing").inner_text()  # the CRM's no stays
    visit.shot("privacy-signed-in")

    # A choice changed here is saved, and is what the page shows after a reload (from the API) and what the shop follows.
    page.get_by_role("checkbox", name="Personalization", exact=True).uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.locator("#consent-status.ok", has_text="Saved: you allow analytics, nothing else.").wait_for()
    page.reload()
    privacy_centre_ready(page)
    assert choices_shown(page) == {"analytics": True, "personalization": False, "email_marketing": False, "sms_marketing": False,
                                   "profiling": False}
    newest = page.locator("#consent-history li").first
    assert newest.get_attribute("data-source") == "privacy_centre" and "Not allowed Personalization" in newest.inner_text()
    assert http("GET", f"{api}/v1/consents/{customer}", headers=proof)[1]["effective"]["personalization"] is False
    shop_copy = page.evaluate("JSON.parse(localStorage.getItem('persona.consent'))")
    assert shop_copy["purposes"] == {"analytics": True, "personalization": False, "email_marketing": False}

    # An access request: about the signed-in customer, its link at the address on file, confirmed, listed, downloaded.
    request_id = send_privacy_request(page, "access", email)
    assert "Waiting for your confirmation" in page.locator(f"#requests li[data-request-id='{request_id}']").inner_text()
    message = outbox_link(endpoints, request_id)
    assert message["to"] == email
    exported = confirm_and_download(page, message["link"])
    assert customer in exported and anonymous_id in exported and "sku-8001" in exported  # the visitor's browsing, now theirs
    page.locator(f"#requests li[data-request-id='{request_id}'][data-status=completed]").wait_for()
    assert page.locator("#who-title").inner_text() == f"Signed in as customer {customer}"
    visit.shot("privacy-request-done")
    mine = http("GET", f"{api}/v1/privacy-requests/by-subject/{customer}", headers=proof)[1]["requests"]
    assert [(r["request_id"], r["type"], r["status"]) for r in mine] == [(request_id, "access", "completed")]

    # Phone width: the shop's header, no horizontal scrolling, readable contrast.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    assert visit.no_overflow() and not overflowing(page), overflowing(page)
    assert visit.low_contrast() == []
    visit.shot("privacy-phone")
    visit.close()


def test_rejecting_consent_keeps_the_shop_neutral(browser, shop):
    _, endpoints, _ = shop
    api = endpoints["api_url"]
    visit = Visit(browser, api)  # a fresh device: the page makes up the visitor id itself
    visit.open()
    page = visit.page
    banner = page.get_by_role("dialog", name="Your privacy choices")
    assert banner.is_visible() and banner.get_by_role("link", name="privacy centre").get_attribute("href") == "privacy.html"
    reject, accept = page.get_by_role("button", name="Reject all"), page.get_by_role("button", name="Accept all")
    style = "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderWidth]; }"
    assert reject.evaluate(style) == accept.evaluate(style)
    assert (reject.bounding_box()["width"], reject.bounding_box()["height"]) == (accept.bounding_box()["width"], accept.bounding_box()["height"])
    page.get_by_text("Choose per purpose").click()
    for purpose in ("Analytics", "Personalization", "E-mail marketing"):
        assert not page.get_by_role("checkbox", name=purpose).is_checked()
    visit.shot("banner", full_page=False)

    with page.expect_response(lambda r: "/v1/consents/" in r.url and r.request.method == "PUT"):  # the choice is saved
        reject.click()
    banner.wait_for(state="hidden")
    anonymous_id = json.loads(page.evaluate("localStorage.getItem('persona.anonymous_id')"))
    assert re.fullmatch(r"anon-[0-9a-f]{32}", anonymous_id)
    consent = http("GET", f"{api}/v1/consents/{anonymous_id}")[1]
    assert {p: r["granted"] for p, r in consent["purposes"].items()} == {"analytics": False, "personalization": False, "email_marketing": False}
    assert {(r["source"], r["policy_version"]) for r in consent["purposes"].values()} == {("banner", "2026-11")}

    expected = "holdout" if in_global_holdout(anonymous_id, HOLDOUT_SHARE) else "no_consent"
    home = eventually(lambda: (h := visit.home())["fallback"] == expected and h, timeout_s=45, interval_s=1)
    assert not home["personalized"] and home["items"]
    note = page.locator("#home-recs .note").inner_text()
    assert note.startswith("Not personalized: ") and (expected != "no_consent" or "you have not allowed personalization" in note)
    answer = recommendations(api, anonymous_id=anonymous_id)
    assert (answer["personalized"], answer["fallback_reason"]) == (False, expected)

    page.goto(f"{api}/#/product/sku-8001")
    page.locator("article.product[data-item-id=sku-8001]").wait_for()
    assert not [e for e in visit.events if e["type"] in BROWSING]  # nothing about browsing leaves the page

    page.get_by_role("button", name="Cookie settings").click()  # reopens the banner with the saved choice
    assert banner.is_visible() and not page.get_by_role("checkbox", name="Personalization").is_checked()
    page.get_by_role("checkbox", name="Analytics").check()
    page.get_by_role("button", name="Save my choices").click()
    banner.wait_for(state="hidden")
    consent = http("GET", f"{api}/v1/consents/{anonymous_id}")[1]
    assert (consent["effective"]["analytics"], consent["effective"]["personalization"]) == (True, False)
    visit.close()


def test_hero_banner_search_cart_cross_sell_and_checkout(browser, shop):
    _, endpoints, _ = shop
    api, anonymous_id = endpoints["api_url"], outside_holdout("anon-")
    visit = Visit(browser, api, anonymous_id=anonymous_id)
    visit.open()
    accept_all(visit, anonymous_id, endpoints)
    page = visit.page

    def assigned():
        visit.home()
        return page.locator("#hero").get_attribute("data-variant") in ("control", "trail-season")

    eventually(assigned, timeout_s=45, interval_s=1)
    variant = page.locator("#hero").get_attribute("data-variant")
    status, assignment = http("POST", f"{api}/v1/assignments", {"anonymous_id": anonymous_id})  # sticky: the same answer
    assert status == 200 and [(a["experiment"], a["variant"]) for a in assignment["assignments"]] == [("hero-banner", variant)]
    assert f"experiment hero-banner: variant {variant}" in page.locator("#experiment-tag").inner_text()
    title = {"trail-season": "Trail season is here", "control": "Gear for every adventure"}[variant]
    assert page.get_by_role("heading", level=1).inner_text() == title
    assert page.locator("#hero svg[role=img]").get_attribute("aria-label")

    page.get_by_role("searchbox", name="Search products").fill("tent")
    page.get_by_role("searchbox", name="Search products").press("Enter")
    visit.ready("search")
    results = page.locator("#catalog-list[data-state=loaded] li.card")
    titles = results.locator(".card-title").all_inner_texts()
    assert len(titles) == 22 and all("Tent" in t for t in titles)
    assert page.locator("#catalog-count").inner_text() == "22 products"
    assert [e["query"] for e in visit.events if e["type"] == "search"] == ["tent"]

    page.locator('#catalog-list a[href="#/product/sku-8001"]').click()
    visit.ready("product")
    product = http("GET", f"{api}/v1/catalog/sku-8001")[1]
    page.get_by_role("button", name="Add to cart").click()
    assert page.locator("#cart-count").inner_text() == "1"
    page.get_by_role("link", name="Cart 1 item").click()
    visit.ready("cart")
    assert page.locator("#cart-lines li").evaluate_all("lines => lines.map(l => l.dataset.itemId)") == ["sku-8001"]
    assert page.locator("#cart-total").inner_text() == f"€{product['price']:.2f}"
    cross_sell = page.locator("#cross-sell[data-state=loaded]")
    assert cross_sell.get_by_role("heading", name="Complete your kit").is_visible()
    card = cross_sell.locator('li.card[data-reason="bought_together"]').first
    card.get_by_role("button", name="Why am I seeing this?").click()
    assert card.locator(".why-text").inner_text() == f"Often bought with {product['title']}"
    visit.shot("cart")

    page.get_by_role("button", name="Checkout").click()
    page.get_by_text("Thank you! Your order of 1 item").wait_for()
    assert page.locator("#cart-count").inner_text() == "0" and page.locator("#cart-empty").is_visible()
    carted = [e for e in visit.events if e["type"] == "add_to_cart"]
    assert [(e["item_id"], e["category"], e["brand"]) for e in carted] == [("sku-8001", "tents", product["brand"])]
    # The order goes to the retailer's order system (locally POST /local/orders), which sends the purchase with its
    # value from the backend: the shop sends no purchase itself (one it sent would be recorded as a page view).
    assert not [e for e in visit.events if e["type"] == "purchase"]
    (order,) = visit.orders
    assert (order["anonymous_id"], "customer_id" in order) == (anonymous_id, False)
    purchases = order["lines"]
    assert [(e["item_id"], e["category"], e["brand"], e["value"], e["currency"]) for e in purchases] == [
        ("sku-8001", "tents", product["brand"], product["price"], "EUR")]

    # Counted as a purchase on the visitor's profile, and as the conversion of its hero-banner variant.
    admin = {"x-api-key": endpoints["admin_api_key"]}
    eventually(lambda: http("GET", f"{api}/v1/profiles/{anonymous_id}", headers=admin)[1]["interactions"]["by_type"].get("purchase") == 1,
               timeout_s=45, interval_s=0.5)

    # The results context's counters of the visitor's variant (straight from its table: a variant may have too few units
    # for the results page yet): this module's only purchase, with its value.
    results = boto3.client("dynamodb", endpoint_url=endpoints["aws_endpoint_url"], region_name=endpoints["region"],
                           aws_access_key_id="local", aws_secret_access_key="local")

    def counters():
        item = results.get_item(TableName=endpoints["tables"]["results"], ConsistentRead=True, Key={
            "pk": {"S": "CELLS#hero-banner"}, "sk": {"S": f"segment=*|device=*|market=*|source=*#{variant}"}}).get("Item", {})
        return {name: Decimal(value["N"]) for name, value in item.items() if "N" in value}

    counted = eventually(lambda: (c := counters()).get("conv") == 1 and c, timeout_s=60, interval_s=1)
    assert (counted["conv"], counted["ord"], counted["rev"]) == (1, 1, Decimal(str(product["price"])))
    visit.close()


def test_phone_width(browser, shop):
    _, endpoints, _ = shop
    api, anonymous_id = endpoints["api_url"], outside_holdout("anon-")
    visit = Visit(browser, api, anonymous_id=anonymous_id, width=390, height=844, locale="de-DE")
    visit.open()
    page = visit.page
    reject, accept = page.get_by_role("button", name="Reject all"), page.get_by_role("button", name="Accept all")
    boxes = [reject.bounding_box(), accept.bounding_box()]
    assert boxes[0]["width"] == boxes[1]["width"] and boxes[0]["height"] == boxes[1]["height"] and boxes[0]["y"] == boxes[1]["y"]
    assert boxes[0]["width"] >= 120 and boxes[0]["height"] >= 44  # easy to hit
    assert visit.no_overflow() and visit.low_contrast() == []
    visit.shot("phone-banner", full_page=False)
    accept.click()
    # The page asks again while the choice travels through the queue; then the note says why.
    page.locator("#home-recs[data-fallback=no_history]").wait_for()
    assert "you like yet" in page.locator("#home-recs .note").inner_text()
    assert visit.no_overflow() and visit.low_contrast() == []
    visit.shot("phone")
    for route, name in (("#/product/sku-1001", "product"), ("#/catalog/running-shoes", "catalog"), ("#/search?q=stride%20socks", "search")):
        page.goto(f"{api}/{route}")
        visit.ready(name)
        assert visit.no_overflow(), route
    page.get_by_role("button", name="Log in").click()
    assert visit.no_overflow()
    page.goto(f"{api}/#/product/sku-1001")
    visit.ready("product")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{api}/#/cart")
    page.locator("#cross-sell[data-state=loaded]").wait_for()
    assert visit.no_overflow()
    sent = [e for e in visit.events if e["type"] == "product_view"][0]
    assert (sent["context"]["device"], sent["context"]["locale"]) == ("mobile", "de-DE")

    # Accessibility basics: landmarks, labelled controls, alt texts, no clickable non-buttons, contrast.
    for role in ("banner", "main", "contentinfo", "navigation", "search"):
        assert page.get_by_role(role).count() >= 1, role
    unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)""")
    assert unlabelled == []
    assert page.evaluate("[...document.querySelectorAll('img:not([alt]), svg[role=img]:not([aria-label])')].length") == 0
    assert page.evaluate("[...document.querySelectorAll('[onclick], div[tabindex], span[tabindex]')].length") == 0
    assert visit.low_contrast() == []
    visit.close()
