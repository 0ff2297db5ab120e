"""`make up`'s demo data: storefront events, a generated CRM customers export and CDNOW's real orders
(its 1/10 sample) imported, segments computed."""

from __future__ import annotations

import pytest

from infra.local.demo import DEMO_CUSTOMER, DEMO_CUSTOMER_VISITOR, DEMO_VISITOR
from tests.conftest import visitor
from tests.e2e.conftest import eventually, http
from tests.e2e.test_persona_up import start_persona_up

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from start_persona_up(tmp_path_factory)


def get(endpoints, path):
    return http("GET", endpoints["api_url"] + path, headers={"x-api-key": endpoints["admin_api_key"]})


def test_the_demo_storefront_events_arrive(demo):
    _, endpoints, _ = demo

    def all_counted():  # the demo customer has 5 events; they arrive through the queue
        status, profile = get(endpoints, f"/v1/profiles/{DEMO_CUSTOMER}")
        return profile if status == 200 and profile["interactions"]["total"] >= 5 else None

    profile = eventually(all_counted, timeout_s=60)
    # The sign-in (identify, with the customer's session) linked the phone; the order came from the retailer's backend.
    assert profile["interactions"]["by_type"]["purchase"] == 1 and profile["interactions"]["by_type"]["identify"] == 1
    assert profile["linked_ids"] == [DEMO_CUSTOMER_VISITOR] and DEMO_CUSTOMER_VISITOR == visitor("anon-demo-2")
    _, _, state_dir = demo
    log = state_dir / "persona-up.log"
    eventually(lambda: "demo data: 9 storefront events accepted" in log.read_text(), timeout_s=30)  # none rejected


def test_the_demo_imports_its_crm_exports_and_segments_them(demo):
    _, endpoints, _ = demo

    def imported():
        _, body = get(endpoints, "/v1/imports")
        done = {i["key"]: i for i in body["imports"] if i["status"] == "completed"}
        return done if {"orders/cdnow_orders.txt", "customers/crm_customers.csv"} <= set(done) else None

    reports = eventually(imported, timeout_s=180)
    orders, customers = reports["orders/cdnow_orders.txt"], reports["customers/crm_customers.csv"]
    assert (orders["rows_read"], orders["accepted"], orders["quarantined"], orders["profiles_written"]) == (6_919, 6_919, 0, 2_357)
    # The generated export's dirt shows: duplicates, rows without an id quarantined, bad e-mails and missing countries in the field scores.
    assert (customers["rows_read"], customers["accepted"], customers["duplicates"], customers["quarantined"]) == (2_373, 2_357, 11, 5)
    assert 0.95 < customers["fields"]["email"]["validity_rate"] < 1 and 0.95 < customers["fields"]["country"]["fill_rate"] < 1

    def segmented():  # recomputed after each import: wait for the one that saw the orders
        status, body = get(endpoints, "/v1/segments")
        with_orders = status == 200 and any(s["name"].startswith("rfm:") for s in body["segments"])
        return body if with_orders and body["profiles"] >= 2_357 else None

    counts = eventually(segmented, timeout_s=240, interval_s=2)
    by_name = {s["name"]: s["count"] for s in counts["segments"]}
    assert counts["as_of"].startswith("1998-07-01")  # historical data: as of the day after its newest order
    assert sum(v for k, v in by_name.items() if k.startswith("rfm:")) == 2_357
    assert by_name["customer:new"] + by_name["customer:returning"] == 2_357
    status, profile = get(endpoints, "/v1/profiles/00004")
    assert status == 200 and profile["orders"]["order_count"] == 4 and profile["segments"]
    assert profile["attributes"]["email"]["value"].endswith("@example.org")  # the CRM's and the orders' rows are one profile


def test_the_demo_shop_recommends_to_its_consenting_visitor(demo):
    _, endpoints, _ = demo
    api = endpoints["api_url"] + "/v1/recommendations?placement=home&n=5"

    def personalized():
        status, answer = http("GET", api + f"&anonymous_id={DEMO_VISITOR}")
        return answer if status == 200 and answer["personalized"] else None

    answer = eventually(personalized, timeout_s=60)  # the visitor's views arrive through the queue
    assert len(answer["items"]) == 5 and answer["items"][0]["reason"]["basis_item_id"] in {"sku-1001", "sku-1002"}
    stranger = http("GET", api + f"&anonymous_id={visitor('anon-nobody')}")[1]
    assert not stranger["personalized"] and stranger["fallback_reason"] == "unknown_visitor" and len(stranger["items"]) == 5


def test_the_demo_runs_a_hero_banner_experiment(demo):
    _, endpoints, _ = demo
    assert DEMO_VISITOR == visitor("anon-demo-3")  # the id the README names
    status, answer = http("POST", endpoints["api_url"] + "/v1/assignments", {"anonymous_id": DEMO_VISITOR})
    assert status == 200 and answer["excluded_reason"] is None
    assert [a["experiment"] for a in answer["assignments"]] == ["hero-banner"]
    again = http("POST", endpoints["api_url"] + "/v1/assignments", {"anonymous_id": DEMO_VISITOR})[1]
    assert again["assignments"][0]["variant"] == answer["assignments"][0]["variant"]  # sticky
