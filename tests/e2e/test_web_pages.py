"""The web pages in a real browser (Debian's chromium driven by Playwright) against
`persona up`. Screenshots of each page (and of each dashboard section) land in
test-artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import visitor
from tests.e2e.conftest import (
    CONTRAST_JS,
    backend,
    choices_shown,
    confirm_and_download,
    consented,
    customers_on_file,
    eventually,
    http,
    outbox_link,
    overflowing,
    privacy_centre_ready,
    send_privacy_request,
    signed_in,
    tab_order,
)
from tests.e2e.test_persona_up import REPO_ROOT, _aws, start_persona_up

pytestmark = pytest.mark.e2e
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    yield from start_persona_up(tmp_path_factory, "--no-demo")


def test_the_dashboard_shows_the_privacy_queue_and_the_outbox(running, browser):
    _, endpoints, state_dir = running
    api = endpoints["api_url"]
    # A visitor's id (the secret of their cookie): the link goes to the address they typed.
    status, created = http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": visitor("anon-web"), "contact": "web@example.org"})
    assert status == 202
    # A customer id Persona holds no address for gets no link (anyone could type one): the privacy team verifies the person.
    status, held = http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": "C-WEB", "contact": "web@example.org"})
    assert status == 202 and held["status"] == "pending_verification"
    outbox = subprocess.run([sys.executable, "-m", "persona.cli", "outbox", "--json", "--state-dir", str(state_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    link = next(m["link"] for m in json.loads(outbox.stdout) if m["request_id"] == created["request_id"])
    assert not [m for m in json.loads(outbox.stdout) if m["request_id"] == held["request_id"]]

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(api + "/dashboard.html")
    page.get_by_label("Admin API key").fill("wrong-key")
    page.get_by_role("button", name="Show").click()
    page.get_by_text("Could not load").wait_for()  # a wrong key is refused, and said so

    page.get_by_label("Admin API key").fill(endpoints["admin_api_key"])
    page.get_by_role("button", name="Show").click()
    queue = page.locator("#queue tbody tr", has_text=created["request_id"])
    queue.wait_for()
    assert "pending_verification" in queue.inner_text() and "link sent" in queue.inner_text()  # a visitor's request
    held_row = page.locator("#queue tbody tr", has_text=held["request_id"])
    assert "pending_verification" in held_row.inner_text() and "no contact on file" in held_row.inner_text()
    message = page.locator("#outbox tbody tr", has_text=created["request_id"])
    assert "web@example.org" in message.inner_text()
    assert message.get_by_role("link").get_attribute("href") == link
    page.wait_for_function("!document.querySelector('[aria-busy]')")  # every section has loaded
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-privacy.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # phone width: nothing overflows the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.close()


# ---------------------------------------------------------------- the marketer dashboard (issue 9)

EXPERIMENT = "checkout-copy"
UNITS = 40
CUSTOMERS_CSV = b"""customer_id,email,phone,first_name,last_name,birth_date,country,email_opt_in,created_at
C-100,anna@example.org,+4915112345678,Anna,Schmidt,1985-04-12,DE,true,2025-01-10
C-101,not-an-email,+4915112345679,Ben,Meyer,1990-02-01,DE,false,2025-02-11
C-102,carl@example.org,,Carl,Jones,,GB,true,2025-03-12
,nobody@example.org,,No,Id,,FR,true,2025-03-12
"""
TODAY = datetime.now(UTC).date()
ORDERS_CSV = ("order_id,customer_id,ordered_at,amount,currency\n" + "".join(  # recent orders: live segments
    f"{order},{customer},{TODAY - timedelta(days=days)},{amount},EUR\n"
    for order, customer, days, amount in [("O-1", "C-100", 25, "120.50"), ("O-2", "C-100", 6, "80.00"),
                                          ("O-3", "C-101", 55, "45.00"), ("O-4", "C-102", 177, "19.99")]
) + "O-5,C-102,not-a-date,19.99,EUR\n").encode()


def _admin(endpoints):
    return {"x-api-key": endpoints["admin_api_key"]}


@pytest.fixture(scope="module")
def experiment(running):
    """A running A/B test with results: 40 consenting visitors assigned through the public API,
    a page view each and purchases (more in the treatment); returns (key, units assigned, conversions)."""
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], _admin(endpoints)
    definition = {"key": EXPERIMENT, "hypothesis": "Showing the delivery date next to the button lifts conversion",
                  "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
                  "primary_metric": "conversion_rate"}
    assert http("POST", api + "/v1/experiments", definition, admin)[0] == 201
    assert http("PATCH", api + f"/v1/experiments/{EXPERIMENT}", {"status": "running"}, admin)[0] == 200
    units = [visitor(f"web-visitor-{i}") for i in range(UNITS)]  # visitor ids are secrets (shared/trust.py)
    devices = {u: "mobile" if i % 2 == 0 else "desktop" for i, u in enumerate(units)}
    consent = {"purposes": {"analytics": True}, "source": "banner", "policy_version": "web-test"}

    def assign(unit):  # the experiments context learns the consent through a queue
        def answer():
            status, body = http("POST", api + "/v1/assignments", {"anonymous_id": unit, "context": {"device": devices[unit]}})
            return body if status == 200 and body["excluded_reason"] not in ("unknown_visitor", "no_consent") else None
        body = eventually(answer, timeout_s=20)
        return next((a["variant"] for a in body["assignments"] if a["experiment"] == EXPERIMENT), None)

    with ThreadPoolExecutor(8) as pool:
        assert all(s == 200 for s, _ in pool.map(lambda u: http("PUT", api + f"/v1/consents/{u}", consent), units))
        variants = dict(zip(units, pool.map(assign, units), strict=True))
    now = datetime.now(UTC).isoformat()
    buyers = [u for i, u in enumerate(units) if variants[u] and (i % 3 != 0 if variants[u] == "treatment" else i % 3 == 0)]
    events = [{"type": "page_view", "anonymous_id": u, "timestamp": now} for u in units]
    orders = [{"type": "purchase", "anonymous_id": u, "value": 40, "currency": "EUR", "timestamp": now} for u in buyers]
    assert http("POST", api + "/v1/events", {"events": events})[1]["accepted"] == len(units)  # the storefront's
    # The purchases from the retailer's backend: only it sends purchases with their value (shared/trust.py).
    answer = http("POST", api + "/v1/server/events", {"events": orders}, backend(endpoints))[1]
    assert (answer["accepted"], answer["rejected"], answer["changed"]) == (len(buyers), [], [])
    assigned = sum(1 for v in variants.values() if v)

    def counted():
        body = http("GET", api + f"/v1/experiments/{EXPERIMENT}/results?min_units=5", None, admin)[1]
        overall = body.get("overall")
        if not overall:
            return None
        arms = [overall["control"], *overall["variants"]]
        converted = round(sum(a["n"] * a["mean"] for a in arms))
        return body if sum(a["n"] for a in arms) == assigned and converted == len(buyers) else None

    eventually(counted, timeout_s=30, interval_s=0.5)
    return EXPERIMENT, assigned, len(buyers)


def open_dashboard(browser, endpoints, width=1200):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(endpoints["api_url"] + "/dashboard.html")
    page.get_by_label("Admin API key").fill(endpoints["admin_api_key"])
    page.get_by_role("button", name="Show").click()
    page.wait_for_function("['ok', 'warn', 'bad'].includes(document.getElementById('key-status').className)")
    status = page.locator("#key-status")
    assert status.get_attribute("class") == "ok", (status.inner_text(), page.locator("main .bad").all_inner_texts())  # all loaded
    page.errors = errors  # uncaught script errors, checked by the tests
    return page


def screenshot(page, section, name):
    """A screenshot of one section (the sticky nav is unstuck so that it does not cover the stitched image)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.add_style_tag(content="nav.sections { position: static !important; }")
    page.locator(f"#{section}-section").screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"))


def chart_state(page):
    return page.evaluate("""() => {
        const canvas = document.getElementById('lift-chart');
        const chart = window.Chart && Chart.getChart(canvas);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let drawn = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
        return {labels: chart ? chart.data.labels : null, drawn,
                datasets: chart ? chart.data.datasets.map((d) => ({type: d.type, label: d.label, data: d.data})) : null};
    }""")


def test_the_dashboard_shows_an_experiment_with_its_verdict_chart_and_conclusion(running, browser, experiment):
    _, endpoints, _ = running
    key, assigned, conversions = experiment
    api, admin = endpoints["api_url"], _admin(endpoints)
    page = open_dashboard(browser, endpoints)
    row = page.locator("#experiments tbody tr", has_text=key)
    assert "running" in row.inner_text()

    page.locator("#results-experiment").select_option(key)
    page.get_by_label("Minimum units per variant").fill("5")
    page.get_by_label("device").check()
    page.get_by_role("button", name="Get results").click()
    results = http("GET", api + f"/v1/experiments/{key}/results?engine=frequentist&min_units=5&breakdown=device", None, admin)[1]
    page.locator("#verdict", has_text=results["verdict"]).wait_for()
    assert page.locator("#srm-warning").is_hidden()  # the split is the configured one
    variants = page.locator("#variants tbody tr")
    assert variants.count() == 2
    control, treatment = results["overall"]["control"], results["overall"]["variants"][0]
    assert variants.nth(0).locator("td").first.inner_text() == str(control["n"])
    assert variants.nth(1).locator("td").first.inner_text() == str(treatment["n"])
    assert control["n"] + treatment["n"] == assigned
    assert re.search(r"[+-]\d", variants.nth(1).inner_text())  # the lift, signed
    assert page.locator("#cells tbody tr").count() == len(results["cells"]) >= 1

    chart = chart_state(page)  # one point (no daily history yet): the current lift with its interval
    assert len(chart["labels"]) == 1 and chart["labels"][0].startswith("now")
    lift_line = next(d for d in chart["datasets"] if d["type"] == "line")
    interval_bar = next(d for d in chart["datasets"] if d["type"] == "bar")
    assert lift_line["data"] == [pytest.approx(treatment["lift"])]
    assert interval_bar["data"] == [[pytest.approx(treatment["ci"][0]), pytest.approx(treatment["ci"][1])]]
    assert chart["drawn"] > 1000  # the canvas has been drawn on

    page.get_by_label("Summary").fill("Promising; keep it running for the full two weeks.")
    page.locator("#conclusion-form select[name=decision]").select_option("iterate")
    page.get_by_role("button", name="Save conclusion").click()
    page.locator("#conclusion", has_text="iterate: Promising").wait_for()
    stored = http("GET", api + f"/v1/experiments/{key}/results?min_units=5", None, admin)[1]["conclusion"]
    assert stored["decision"] == "iterate" and stored["summary"].startswith("Promising")
    screenshot(page, "experiments", "experiments")

    page.set_viewport_size({"width": 390, "height": 844})  # phone width: tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), overflowing(page)
    screenshot(page, "experiments", "experiments-phone")
    assert page.errors == []
    page.close()


def test_experiments_are_created_started_and_stopped_from_the_dashboard(running, browser):
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], _admin(endpoints)
    page = open_dashboard(browser, endpoints)
    page.get_by_text("Create an experiment", exact=True).click()
    form = page.locator("#experiment-form")
    form.get_by_label("Key", exact=True).fill("hero-copy")
    form.get_by_label("Hypothesis").fill("A shorter hero headline lifts clicks into the catalog")
    form.get_by_label("Variant 2 weight").fill("0.6")
    form.get_by_role("button", name="Create experiment").click()
    alert = page.locator("#experiment-form-status")
    alert.filter(has_text="Not created").wait_for()
    # The API's own message, with its details.
    assert "The request does not match the expected schema." in alert.inner_text()
    assert "variant weights must sum to 1; they sum to 1.1" in alert.inner_text()
    assert http("GET", api + "/v1/experiments/hero-copy", None, admin)[0] == 404

    form.get_by_label("Variant 2 weight").fill("0.5")
    form.get_by_role("button", name="Create experiment").click()
    row = page.locator("#experiments tbody tr", has_text="hero-copy")
    row.get_by_role("cell", name="draft", exact=True).wait_for()
    row.get_by_role("button", name="Start hero-copy").click()
    row.get_by_role("cell", name="running", exact=True).wait_for()
    assert http("GET", api + "/v1/experiments/hero-copy", None, admin)[1]["status"] == "running"
    row.get_by_role("button", name="Stop hero-copy").click()
    row.get_by_role("cell", name="stopped", exact=True).wait_for()
    assert http("GET", api + "/v1/experiments/hero-copy", None, admin)[1]["status"] == "stopped"
    assert row.get_by_role("button", name="Start hero-copy").count() == 0  # a stopped test never restarts
    assert page.errors == []
    page.close()


def test_the_dashboard_plans_and_shows_program_kpis_backlog_and_models(running, browser, experiment):
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], _admin(endpoints)
    page = open_dashboard(browser, endpoints)

    planner = page.locator("#planner-form")
    planner.get_by_label("Baseline conversion rate (%)").fill("3")
    planner.get_by_label("Daily traffic (units)").fill("1000")
    planner.get_by_label("Minimum detectable lift (%)").fill("10")
    planner.get_by_role("button", name="Plan").click()
    expected = http("POST", api + "/v1/planner", {"baseline_rate": 0.03, "daily_traffic": 1000, "variants": 2, "mde": 0.1}, admin)[1]
    page.locator("#plan-result", has_text="days needed").wait_for()
    assert page.locator("#plan-result").inner_text().startswith(f"{expected['days_needed']} days needed")
    planner.get_by_label("the lift reachable in").check()
    planner.get_by_label("Days", exact=True).fill("14")
    planner.get_by_role("button", name="Plan").click()
    page.locator("#plan-result", has_text="smallest detectable lift").wait_for()
    screenshot(page, "planner", "planner")

    page.get_by_label("Program cost (for the ROI)").fill("100")
    page.get_by_role("button", name="Update").click()
    kpis = http("GET", api + "/v1/program?cost=100", None, admin)[1]
    page.locator("#program-facts", has_text="Cost").filter(has_text="100").wait_for()
    rows = page.locator("#program tbody tr")
    assert rows.count() == len(kpis["rows"]) == 4
    assert [rows.nth(i).locator("th").inner_text() for i in range(4)] == [
        "conversion rate", "average order value", "revenue per visitor", "retention"]
    assert kpis["program_units"] > 0 and f"Program units\n{kpis['program_units']}" in page.locator("#program-facts").inner_text()
    screenshot(page, "program", "program")

    page.get_by_text("Add a use case", exact=True).click()
    backlog = page.locator("#backlog-form")
    backlog.get_by_label("Use case").fill("Remind cart abandoners by e-mail")
    backlog.get_by_label("Expected uplift (%)").fill("20")
    backlog.get_by_label("Monthly revenue at stake").fill("20000")
    backlog.get_by_label("Effort (days)").fill("5")
    backlog.get_by_label("Baseline conversion rate (%, optional)").fill("5")
    backlog.get_by_label("Daily traffic (optional)").fill("2000")
    backlog.get_by_role("button", name="Add to the backlog").click()
    item = page.locator("#backlog tbody tr", has_text="Remind cart abandoners")
    item.wait_for()
    stored = next(i for i in http("GET", api + "/v1/backlog", None, admin)[1]["items"] if i["title"] == "Remind cart abandoners by e-mail")
    assert stored["feasible"] and item.get_by_role("cell", name="yes", exact=True).count() == 1
    assert str(stored["days_to_detect"]) in item.inner_text()
    screenshot(page, "backlog", "backlog")

    models = http("GET", api + "/v1/models", None, admin)[1]
    table = page.locator("#models tbody").inner_text()
    assert all(m["model_version"] in table for m in models) and (models or "No model published yet" in table)
    screenshot(page, "models", "models")
    assert page.errors == []
    page.close()


def test_the_dashboard_shows_imports_quality_segments_and_a_profile(running, browser):
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], _admin(endpoints)
    s3 = _aws(endpoints, "s3")
    s3.put_object(Bucket=endpoints["drop_bucket"], Key="customers/web-test.csv", Body=CUSTOMERS_CSV)
    eventually(lambda: any(i["key"] == "customers/web-test.csv" and i["status"] == "completed"
                           for i in http("GET", api + "/v1/imports", None, admin)[1]["imports"]))
    s3.put_object(Bucket=endpoints["drop_bucket"], Key="orders/web-test.csv", Body=ORDERS_CSV)
    eventually(lambda: http("GET", api + "/v1/profiles/C-100", None, admin)[1].get("segments"))  # imported and segmented

    page = open_dashboard(browser, endpoints)
    imports = page.locator("#imports tbody tr", has_text="customers/web-test.csv")
    cells = imports.locator("td")
    assert "completed" in cells.nth(2).inner_text()
    assert [cells.nth(i).inner_text() for i in range(3, 9)] == ["4", "3", "0", "1", "0", "3"]  # read, accepted, dup., quarantined, suppr., written
    email = page.locator("#quality-fields tbody tr", has=page.get_by_role("rowheader", name="email", exact=True)).filter(has_text="customers")
    assert "75% (low)" in email.inner_text()  # filled but not valid: fill is not validity
    page.locator("#segments tbody tr", has_text="rfm:champions").wait_for()
    screenshot(page, "imports", "imports")
    screenshot(page, "segments", "segments")

    page.get_by_label("Profile id").fill("C-100")
    page.get_by_role("button", name="Look up").click()
    page.locator("#profile-heading", has_text="Profile C-100").wait_for()
    attribute = page.locator("#profile-attributes tbody tr", has_text="anna@example.org")
    assert "crm:customers/web-test.csv" in attribute.inner_text()
    assert "2 (200.50 EUR)" in page.locator("#profile-facts").inner_text()
    assert "rfm:champions" in page.locator("#profile-segments").inner_text()
    screenshot(page, "profile", "profile")
    page.get_by_label("Profile id").fill("C-NOBODY")
    page.get_by_role("button", name="Look up").click()
    page.locator("#profile-status", has_text="No profile C-NOBODY").wait_for()
    assert page.errors == []
    page.close()


def test_the_audit_trail_of_a_privacy_request_opens_from_the_queue(running, browser):
    _, endpoints, _ = running
    api, admin = endpoints["api_url"], _admin(endpoints)
    # A visitor's request (their id is the secret of their cookie): the link goes to the typed address.
    request_id = http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": visitor("anon-audit"),
                                                             "contact": "audit@example.org"})[1]["request_id"]
    link = next(m["link"] for m in http("GET", api + "/v1/privacy-outbox", None, admin)[1] if m["request_id"] == request_id)
    token = re.search(r"token=([^&]+)", link).group(1)
    assert http("POST", api + f"/v1/privacy-requests/{request_id}/verification", {"token": token})[0] == 200
    eventually(lambda: http("GET", api + f"/v1/privacy-requests/{request_id}")[1]["status"] == "completed")
    trail = http("GET", api + f"/v1/privacy-requests/{request_id}/audit", None, admin)[1]["entries"]

    page = open_dashboard(browser, endpoints)
    page.get_by_role("button", name=f"Audit trail of {request_id}").click()
    page.locator("#audit-steps li", has_text="received").wait_for()
    steps = page.locator("#audit-steps li strong").all_inner_texts()
    assert steps == [e["step"].replace("_", " ") for e in trail]
    assert steps[:2] == ["received", "verified"] and steps[-1] == "completed"
    contexts = {e["detail"]["context"] for e in trail if e["step"] == "task_completed"}
    assert steps.count("task completed") == len(contexts) >= 4  # one answer per context
    assert all(f"context: {c}" in page.locator("#audit-steps").inner_text() for c in contexts)
    assert page.locator("#audit-title").inner_text() == f"Audit trail of request {request_id}"
    screenshot(page, "privacy", "privacy-audit")
    assert page.errors == []
    page.close()


def test_a_request_held_without_a_link_is_verified_by_staff_from_the_queue(running, browser):
    """A customer known from signing in, with no address on file: their request gets no link. The DPO checks who
    they are another way, says how, and gets the link to hand over; the request goes ahead."""
    _, endpoints, _ = running
    api, admin, customer = endpoints["api_url"], _admin(endpoints), "C-STAFF-VERIFIED"
    signing_in = [{"type": "identify", "anonymous_id": visitor("anon-staff-verified"), "customer_id": customer,
                   "timestamp": datetime.now(UTC).isoformat()}]
    assert http("POST", api + "/v1/events", {"events": signing_in}, signed_in(api, customer))[1]["accepted"] == 1
    # A customer's consents are closed without their session, known or not; and a customer with no address on file
    # gets no link, whether privacy has heard of them yet or not (so nothing here waits for the login to arrive).
    assert http("GET", api + f"/v1/consents/{customer}")[0] == 401
    request_id = http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": customer, "contact": "typed@example.org"})[1]["request_id"]
    assert not [m for m in http("GET", api + "/v1/privacy-outbox", None, admin)[1] if m["request_id"] == request_id]

    page = open_dashboard(browser, endpoints)
    row = page.locator("#queue tbody tr", has_text=request_id)
    assert "no contact on file" in row.inner_text()
    page.get_by_role("button", name=f"Verify the person behind {request_id}").click()
    assert page.locator("#staff-verify-title").inner_text() == f"Verify the person behind request {request_id}"
    note = page.get_by_label("How you checked who they are (kept in the audit trail)")
    note.fill("short")
    page.get_by_role("button", name="Let the request go ahead").click()
    assert http("GET", api + f"/v1/privacy-requests/{request_id}")[1]["status"] == "pending_verification"  # the browser refused it
    note.fill("Called back on the number of the last order; the order details matched.")
    page.get_by_role("button", name="Let the request go ahead").click()
    link = page.locator("#staff-verify-status.ok a")
    link.wait_for()
    status_link = link.get_attribute("href")
    assert status_link.startswith(api + f"/privacy.html?request={request_id}&token=")
    page.locator("#queue tbody tr", has_text=request_id).filter(has_text="by staff").wait_for()  # the queue reloads
    steps = http("GET", api + f"/v1/privacy-requests/{request_id}/audit", None, admin)[1]["entries"]
    assert [e["detail"]["note"] for e in steps if e["step"] == "verified_by_staff"] == [
        "Called back on the number of the last order; the order details matched."]
    screenshot(page, "privacy", "privacy-staff-verification")
    assert page.errors == []
    page.close()
    token = re.search(r"token=([^&]+)", status_link).group(1)  # the link handed over opens the answer
    view = eventually(lambda: (v := http("GET", api + f"/v1/privacy-requests/{request_id}?token={token}")[1])["status"] == "completed" and v,
                      timeout_s=60)
    assert view["download_url"]


FAKE_RESULTS = {
    "experiment": "checkout-copy", "metric": "conversion_rate", "engine": "frequentist", "alpha": 0.05, "correction": "holm",
    "srm_warning": "The split is off: 612 vs 488 units where 50/50 was configured (p < 0.001).",
    "verdict": "treatment-a wins on conversion, +12.0% [+4.0%, +20.0%]",
    "overall": {"control": {"name": "control", "n": 612, "mean": 0.05, "ci": []},
                "variants": [{"name": "treatment-a", "n": 488, "mean": 0.056, "lift": 0.12, "ci": [0.04, 0.2], "p_value": 0.003, "adjusted_p_value": 0.006},
                             {"name": "treatment-b", "n": 500, "mean": 0.049, "lift": -0.02, "ci": [-0.1, 0.06], "p_value": 0.6, "adjusted_p_value": 0.6}],
                "srm_p_value": 0.0002, "srm_flag": True},
    "breakdown": [], "cells": [], "conclusion": None, "days_running": 3.2, "cuped_variance_reduction": None,
    "history": [{"date": f"2026-11-2{d}", "variants": [
        {"name": "treatment-a", "n": 100 * d, "mean": 0.05, "lift": 0.05 * d, "ci": [0.05 * d - 0.2 / d, 0.05 * d + 0.2 / d]},
        {"name": "treatment-b", "n": 100 * d, "mean": 0.05, "lift": -0.01 * d, "ci": [-0.01 * d - 0.2 / d, -0.01 * d + 0.2 / d]}]}
        for d in (1, 2, 3)],
}


def test_the_results_view_puts_the_srm_warning_first_and_charts_the_daily_history(running, browser, experiment):
    """A sample-ratio mismatch and daily history cannot be produced in a minute of traffic: the page is
    given an answer of the documented shape instead (ExperimentResults in the OpenAPI document)."""
    _, endpoints, _ = running
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.route(re.compile(r"/v1/experiments/[^/]+/results\?"), lambda route: route.fulfill(json=FAKE_RESULTS))
    page.goto(endpoints["api_url"] + "/dashboard.html")
    page.get_by_label("Admin API key").fill(endpoints["admin_api_key"])
    page.get_by_role("button", name="Show").click()
    page.locator("#verdict", has_text="treatment-a wins").wait_for()
    warning = page.locator("#srm-warning")
    assert warning.is_visible() and "The split is off" in warning.inner_text()
    assert warning.bounding_box()["y"] < page.locator("#verdict").bounding_box()["y"]
    assert page.evaluate("document.getElementById('results').firstElementChild.id") == "srm-warning"
    chart = chart_state(page)
    assert chart["labels"] == ["2026-11-21", "2026-11-22", "2026-11-23"]
    lines = {d["label"]: d["data"] for d in chart["datasets"] if d["type"] == "line"}
    assert lines == {"treatment-a: lift": pytest.approx([0.05, 0.1, 0.15]), "treatment-b: lift": pytest.approx([-0.01, -0.02, -0.03])}
    assert all(len(d["data"]) == 3 and None not in d["data"] for d in chart["datasets"] if d["type"] == "bar")
    assert chart["drawn"] > 1000
    screenshot(page, "experiments", "results-srm-history")
    page.close()


# ---------------------------------------------------------------- the privacy centre (issues 9 and 17)

def page_screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_privacy_centre(browser, api, *, anonymous_id=None, customer=None, session=None, width=1000, height=900):
    """The privacy centre on a device of its own, its storage as the demo shop (web/store.js) leaves it: this
    browser's visitor id and, signed in, the customer id with the session the shop's sign-in gave. Nothing is typed."""
    context = browser.new_context(viewport={"width": width, "height": height})
    storage = {}
    if anonymous_id:
        storage["persona.anonymous_id"] = anonymous_id
    if customer:
        (header, token), = session.items()
        storage["persona.customer_id"] = customer
        storage["persona.session"] = {"customer_id": customer, "session": token, "header": header}
    if storage:  # on the device's first page only: what the page itself stores later stays
        context.add_init_script(f"""if (!localStorage.getItem('seeded-by-test')) {{
            for (const [k, v] of Object.entries({json.dumps(storage)})) localStorage.setItem(k, JSON.stringify(v));
            localStorage.setItem('seeded-by-test', '1'); }}""")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    return page


def typed_fields(page):
    """The fields of the page a shopper types into (outside the shop's search box)."""
    return page.locator("main input:not([type=checkbox]), main select, main textarea").evaluate_all("fields => fields.map(f => f.id)")


def test_the_privacy_centre_changes_consents_exports_and_erases(running, browser):
    """A customer signed in to the shop, in the privacy centre: who they are is taken from the shop's session (no id to
    type), each purpose explained, choices saved and shown again, an access request confirmed from the outbox link,
    followed to the end and downloaded, listed in their history of requests, then an erasure that removes the profile."""
    _, endpoints, _ = running
    api, admin, subject = endpoints["api_url"], _admin(endpoints), "C-PRIVACY-CENTRE"
    # A customer of the retailer's CRM (their requests' links go to the address on file), signed in to the shop.
    customers_on_file(endpoints, "privacy-centre", {subject: "privacy-centre@example.org"})
    session = signed_in(api, subject)
    consented(endpoints, subject, session)  # in the shop's banner: browsing is stored only with consent
    assert http("POST", api + "/v1/events", {"events": [
        {"type": "product_view", "customer_id": subject, "item_id": "sku-privacy-1", "category": "tents",
         "timestamp": datetime.now(UTC).isoformat()}]}, session)[1]["accepted"] == 1
    eventually(lambda: (p := http("GET", api + f"/v1/profiles/{subject}", None, admin))[0] == 200 and p[1]["interactions"]["total"] >= 1,
               timeout_s=60)
    # The CRM row's e-mail opt-in (no) reaches the privacy context as the customer's choice, through a queue.
    eventually(lambda: http("GET", api + f"/v1/consents/{subject}", headers=session)[1]["purposes"].get("email_marketing"), timeout_s=30)

    sent = []  # every call the page made to the API for the customer, with the session it carried
    page = open_privacy_centre(browser, api, anonymous_id=visitor("anon-privacy-centre-device"), customer=subject, session=session)
    page.on("request", lambda r: subject in r.url and sent.append((r.url, r.headers.get("x-persona-session"))))
    page.reload()
    privacy_centre_ready(page)
    assert page.locator("#who-title").inner_text() == f"Signed in as customer {subject}"
    assert page.locator("#customer-name").inner_text() == subject and page.locator("#login-link").is_hidden()  # the shop's header too
    assert typed_fields(page) == ["request-type", "request-contact", "request-correction"]  # no id to type, anywhere
    assert sent and {proof for _, proof in sent} == {next(iter(session.values()))}  # the customer's calls went with their session

    # The choices the API holds (the banner's), each purpose said in plain words.
    assert choices_shown(page) == {"analytics": True, "personalization": True, "email_marketing": False, "sms_marketing": False,
                                   "profiling": True}
    assert re.fullmatch(r"Allowed since .+, in the shop's privacy banner\.", page.locator("#state-analytics").inner_text())
    crm_choice = page.locator("#state-email_marketing").inner_text()
    assert re.fullmatch(r"Not allowed since .+, as recorded in your customer account\.", crm_choice)
    assert page.locator("#state-sms_marketing").inner_text() == "Not decided yet, so not used."
    for purpose in ("analytics", "personalization", "email_marketing", "sms_marketing", "profiling"):
        about = page.locator(f"#about-{purpose}")
        assert about.locator("dt").all_inner_texts() == ["What we do", "Who", "If you say no"]
        assert all(len(text) > 10 for text in about.locator("dd").all_inner_texts())
    profiling = page.get_by_role("checkbox", name="Profiling", exact=True)
    described = "e => e.getAttribute('aria-describedby').split(' ').map(i => document.getElementById(i).textContent).join(' ')"
    assert "If you say no" in profiling.evaluate(described)  # read out with the checkbox
    assert page.locator("#limits").is_hidden()  # no restriction, no objection

    profiling.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.locator("#consent-status.ok").wait_for()
    assert page.locator("#consent-status").inner_text() == "Saved: you allow analytics and personalization, nothing else."
    consents = http("GET", api + f"/v1/consents/{subject}", headers=session)[1]["purposes"]
    assert consents["analytics"]["granted"] and consents["personalization"]["granted"] and not consents["profiling"]["granted"]
    # Saving is deciding: what was not decided yet is recorded too.
    assert (consents["profiling"]["source"], consents["sms_marketing"]["source"]) == ("privacy_centre", "privacy_centre")
    assert (consents["email_marketing"]["granted"], consents["email_marketing"]["source"]) == (False, "crm_import")  # unchanged: not sent
    page.reload()  # shown again from the API, not from the page's memory
    privacy_centre_ready(page)
    assert choices_shown(page) == {"analytics": True, "personalization": True, "email_marketing": False, "sms_marketing": False,
                                   "profiling": False}
    assert re.fullmatch(r"Not allowed since .+, here in the privacy centre\.", page.locator("#state-profiling").inner_text())
    newest, banner, crm = page.locator("#consent-history li").all()  # newest first
    assert newest.get_attribute("data-source") == "privacy_centre" and "Not allowed SMS marketing, Profiling" in newest.inner_text()
    assert "Here in the privacy centre." in newest.inner_text()
    assert banner.get_attribute("data-source") == "banner" and "Allowed Analytics, Personalization, Profiling" in banner.inner_text()
    assert crm.get_attribute("data-source") == "crm_import" and "Not allowed E-mail marketing" in crm.inner_text()
    assert page.get_by_text("You have not asked us for anything yet.").is_visible()

    # Access: sent from the form, confirmed from the link in the outbox, followed, downloaded, listed in the history.
    request_id = send_privacy_request(page, "access", "privacy-centre@example.org")
    queued = http("GET", api + "/v1/privacy-requests", None, admin)[1]["requests"]
    assert [r["subject_id"] for r in queued if r["request_id"] == request_id] == [subject]  # about the signed-in customer
    listed = page.locator(f"#requests li[data-request-id='{request_id}']")
    assert "Waiting for your confirmation" in listed.inner_text() and "Access" in listed.inner_text()
    message = outbox_link(endpoints, request_id)
    assert message["to"] == "privacy-centre@example.org"
    page.goto(message["link"])
    page.get_by_role("button", name="Confirm my request").wait_for()
    page_screenshot(page, "privacy-confirm")
    exported = confirm_and_download(page, message["link"])
    assert subject in exported and "sku-privacy-1" in exported and "personalization" in exported
    page.locator(f"#requests li[data-request-id='{request_id}'][data-status=completed]").wait_for()
    assert "Done" in page.locator(f"#requests li[data-request-id='{request_id}']").inner_text()
    page_screenshot(page, "privacy-done")
    page.goto(message["link"])  # the link again later: the status, no second confirmation
    page.get_by_role("link", name="Download your data").wait_for()
    assert page.get_by_role("button", name="Confirm my request").is_hidden()

    # Erasure: the profile is gone when the page says done.
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    erasure = send_privacy_request(page, "erasure", "privacy-centre@example.org")
    page.goto(outbox_link(endpoints, erasure)["link"])
    page.get_by_role("button", name="Confirm my request").click()
    page.locator("#confirm-status.ok", has_text="Done.").wait_for(timeout=60_000)
    assert page.locator("#fact-request").inner_text() == "Erasure"
    assert http("GET", api + f"/v1/profiles/{subject}", None, admin)[0] == 404
    assert http("GET", api + f"/v1/consents/{subject}", headers=session)[1]["purposes"].get("analytics", {}).get("granted") is not True

    # Keyboard and phone width: everything reachable by Tab in reading order, with a visible focus; nothing overflows.
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    reached = tab_order(page, "request-send")
    assert reached[0] == "a.skip-link"
    wanted = ["search-q", "who-action", *[f"purpose-{p}" for p in ("analytics", "personalization", "email_marketing", "sms_marketing",
                                                                   "profiling")], "consent-save", "request-type", "request-contact",
              "request-send"]
    assert [i for i in reached if i in wanted] == wanted, reached
    page.set_viewport_size({"width": 375, "height": 812})
    assert not overflowing(page) and page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(CONTRAST_JS) == []
    page_screenshot(page, "privacy-phone")
    assert page.errors == []
    page.context.close()


def test_a_visitor_sees_their_own_choices_and_requests(running, browser):
    """A shopper who never signed in: the privacy centre shows this browser's visitor (the id the shop keeps, nothing to
    type), their banner choice explained, their own requests and nobody else's. A browser that never saw the shop gets a
    visitor id made the way the shop makes it, and what is chosen here is what the shop then follows."""
    _, endpoints, _ = running
    api = endpoints["api_url"]
    anonymous_id, someone_else = "anon-" + secrets.token_hex(16), "anon-" + secrets.token_hex(16)
    banner = {"purposes": {"analytics": True, "personalization": True, "email_marketing": False}, "source": "banner",
              "policy_version": "2026-11"}
    assert http("PUT", api + f"/v1/consents/{anonymous_id}", banner)[0] == 200  # as the shop's banner sends it
    assert http("PUT", api + f"/v1/consents/{someone_else}", {**banner, "purposes": {"email_marketing": True}})[0] == 200
    assert http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": someone_else, "contact": "else@example.org"})[0] == 202

    page = open_privacy_centre(browser, api, anonymous_id=anonymous_id)
    assert page.locator("#who-title").inner_text() == "You are browsing as a visitor on this device"
    assert page.locator("#signed-in").is_hidden() and page.locator("#who-note").is_hidden()
    assert page.get_by_role("link", name="Log in to the shop").get_attribute("href") == "index.html#/"
    assert page.locator("#login-link").is_visible() and typed_fields(page) == ["request-type", "request-contact", "request-correction"]
    assert choices_shown(page) == {"analytics": True, "personalization": True, "email_marketing": False, "sms_marketing": False,
                                   "profiling": False}
    (entry,) = page.locator("#consent-history li").all()  # this visitor's one choice, not the other visitor's
    text = entry.inner_text()
    assert "Allowed Analytics, Personalization" in text and "Not allowed E-mail marketing" in text and "In the shop's privacy banner." in text
    assert page.locator("#requests li").count() == 0 and page.get_by_text("You have not asked us for anything yet.").is_visible()

    request_id = send_privacy_request(page, "access", "visitor@example.org")  # a visitor's link goes to the address typed
    assert page.locator("#requests li").count() == 1
    message = outbox_link(endpoints, request_id)
    assert message["to"] == "visitor@example.org"
    exported = confirm_and_download(page, message["link"])
    assert anonymous_id in exported and someone_else not in exported
    page.locator(f"#requests li[data-request-id='{request_id}'][data-status=completed]").wait_for()
    assert json.loads(page.evaluate("localStorage.getItem('persona.anonymous_id')")) == anonymous_id  # the shop's id, kept

    # An objection to profiling, confirmed: the page says in words what it stops, and holds what it covers.
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    objection = send_privacy_request(page, "objection:profiling", "visitor@example.org")
    page.goto(outbox_link(endpoints, objection)["link"])
    page.get_by_role("button", name="Confirm my request").click()
    page.locator("#confirm-status.ok", has_text="Done.").wait_for(timeout=60_000)
    assert page.locator("#fact-request").inner_text() == "Objection"
    page.goto(api + "/privacy.html")
    privacy_centre_ready(page)
    assert page.locator("#limits").inner_text().startswith("You objected to profiling: we neither group you by your behaviour nor personalize")
    assert re.fullmatch(r"You allowed this on .+, but it is on hold: you objected to profiling\.",
                        page.locator("#state-personalization").inner_text())
    assert page.locator("#state-analytics").inner_text().startswith("Allowed since ")  # not covered by the objection
    assert page.locator("#requests li").evaluate_all("items => items.map(i => [i.dataset.type, i.dataset.status])") == [
        ["objection", "completed"], ["access", "completed"]]  # newest first
    page_screenshot(page, "privacy-visitor")
    assert page.errors == []
    page.context.close()

    # Signed in long ago: an expired session proves nothing, so none is sent; the page says so and shows the visitor.
    expired = open_privacy_centre(browser, api, anonymous_id=anonymous_id, customer="C-EXPIRED",
                                  session={"X-Persona-Session": "1700000000.c2lnbmVkLWxvbmctYWdvLWFuZC1leHBpcmVkLW5vdw"})
    assert expired.locator("#who-title").inner_text() == "You are browsing as a visitor on this device"
    assert expired.locator("#who-note").inner_text() == ("Your sign-in to the shop as C-EXPIRED has expired: "
                                                         "log in again to see that account's choices.")
    assert choices_shown(expired)["personalization"] and expired.locator("#requests li").count() == 2  # this browser's visitor
    assert expired.errors == []
    expired.context.close()

    # A browser that never saw the shop: a visitor of its own, with nothing decided yet.
    fresh = open_privacy_centre(browser, api, width=375, height=812)
    made = json.loads(fresh.evaluate("localStorage.getItem('persona.anonymous_id')"))
    assert re.fullmatch(r"anon-[0-9a-f]{32}", made) and made != anonymous_id
    assert fresh.locator("#who-title").inner_text() == "You are browsing as a visitor on this device"
    assert not any(choices_shown(fresh).values()) and fresh.locator("#state-analytics").inner_text() == "Not decided yet, so not used."
    assert fresh.get_by_text("No choices yet: nothing is used until you decide.").is_visible()
    assert not overflowing(fresh) and fresh.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fresh.evaluate(CONTRAST_JS) == []
    page_screenshot(fresh, "privacy-visitor-phone")
    fresh.get_by_role("checkbox", name="Analytics", exact=True).check()
    fresh.get_by_role("button", name="Save my choices").click()
    fresh.locator("#consent-status.ok", has_text="Saved: you allow analytics, nothing else.").wait_for()
    saved = http("GET", api + f"/v1/consents/{made}")[1]
    assert {p: (r["granted"], r["source"]) for p, r in saved["purposes"].items()} == {
        "analytics": (True, "privacy_centre"), "personalization": (False, "privacy_centre"), "email_marketing": (False, "privacy_centre"),
        "sms_marketing": (False, "privacy_centre"), "profiling": (False, "privacy_centre")}
    # The shop follows the choice made here: no banner asks again, and it is the same visitor.
    fresh.goto(api + "/")
    fresh.wait_for_function("document.getElementById('visitor-id').textContent.length > 0")
    assert fresh.locator("#visitor-id").inner_text() == made and fresh.locator("#consent").is_hidden()
    assert fresh.errors == []
    fresh.context.close()


# ---------------------------------------------------------------- staff sign-in as deployed in AWS

def test_in_aws_staff_sign_in_through_the_user_pool_and_the_dashboard_sends_its_token(running, browser):
    """The deployed config.js names a Cognito hosted UI. Here a stand-in answers its two endpoints
    (authorize redirects back with a code; token checks the PKCE verifier) and the admin API is
    reached with the ID token, to which the stand-in gateway adds the local key."""
    import base64
    import hashlib
    from urllib.parse import parse_qs, urlsplit

    _, endpoints, _ = running
    api, hosted_ui = endpoints["api_url"], "https://persona-staff.auth.example.test"
    seen: dict = {"authorization": set()}
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(api + "/config.js", lambda route: route.fulfill(content_type="text/javascript", body=(
        f'window.PERSONA_API = "";\nwindow.PERSONA_AUTH = {{"domain": "{hosted_ui}", "clientId": "dashboard-client"}};\n')))

    def authorize(route):
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = query
        route.fulfill(status=302, headers={"location": f"{query['redirect_uri']}?code=one-time-code&state={query['state']}"})

    def token(route):
        form = {k: v[0] for k, v in parse_qs(route.request.post_data).items()}
        seen["token"] = form
        digest = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=").decode()
        ok = digest == seen["authorize"]["code_challenge"] and form["code"] == "one-time-code"
        route.fulfill(status=200 if ok else 400, content_type="application/json", headers={"access-control-allow-origin": "*"},
                      body=json.dumps({"id_token": "staff-id-token", "expires_in": 3600} if ok else {"error": "invalid_grant"}))

    def admin_api(route):
        seen["authorization"].add(route.request.headers.get("authorization"))
        route.continue_(headers={**route.request.headers, "x-api-key": endpoints["admin_api_key"]})

    page.route(hosted_ui + "/oauth2/authorize*", authorize)
    page.route(hosted_ui + "/oauth2/token", token)
    page.route(re.compile(re.escape(api) + r"/v1/.*"), admin_api)

    page.goto(api + "/dashboard.html")
    assert page.locator("#key-form").is_hidden()  # no key field in AWS
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function("['ok', 'warn', 'bad'].includes(document.getElementById('sign-in-status').className)")
    assert page.locator("#sign-in-status").get_attribute("class") == "ok", page.locator("#sign-in-status").inner_text()
    authorize_query = seen["authorize"]
    assert (authorize_query["response_type"], authorize_query["client_id"], authorize_query["code_challenge_method"]) == (
        "code", "dashboard-client", "S256")
    assert authorize_query["redirect_uri"] == api + "/dashboard.html" and seen["token"]["grant_type"] == "authorization_code"
    assert seen["authorization"] == {"staff-id-token"}  # every admin call carried the ID token
    assert "code=" not in page.url  # the one-time code is taken off the address bar
    page.locator("#queue").wait_for()
    assert errors == []
    page.close()
