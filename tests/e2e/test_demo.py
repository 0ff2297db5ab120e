"""`make up`'s demo data: storefront events, CDNOW's real orders imported, segments computed."""

from __future__ import annotations

import pytest

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

    def all_counted():  # the demo customer has 4 events; they arrive through the queue
        status, profile = get(endpoints, "/v1/profiles/cust-demo-42")
        return profile if status == 200 and profile["interactions"]["total"] >= 4 else None

    profile = eventually(all_counted, timeout_s=60)
    assert profile["interactions"]["by_type"]["purchase"] == 1 and profile["linked_ids"] == ["anon-demo-2"]


def test_the_demo_imports_cdnow_and_segments_it(demo):
    _, endpoints, _ = demo

    def cdnow():
        _, body = get(endpoints, "/v1/imports")
        return [i for i in body["imports"] if i["key"] == "orders/CDNOW_master.txt" and i["status"] == "completed"]

    (report,) = eventually(cdnow, timeout_s=180)
    assert (report["rows_read"], report["accepted"], report["quarantined"], report["profiles_written"]) == (69_659, 69_659, 0, 23_570)

    def segmented():
        status, body = get(endpoints, "/v1/segments")
        return body if status == 200 and body["profiles"] >= 23_570 else None

    counts = eventually(segmented, timeout_s=240, interval_s=2)
    by_name = {s["name"]: s["count"] for s in counts["segments"]}
    assert counts["as_of"].startswith("1998-07-01")  # historical data: as of the day after its newest order
    assert sum(v for k, v in by_name.items() if k.startswith("rfm:")) == 23_570
    assert by_name["customer:new"] + by_name["customer:returning"] == 23_570
    status, profile = get(endpoints, "/v1/profiles/00002")
    assert status == 200 and profile["orders"]["order_count"] == 2 and profile["segments"]


def test_the_demo_shop_recommends_to_its_consenting_visitor(demo):
    _, endpoints, _ = demo
    api = endpoints["api_url"] + "/v1/recommendations?placement=home&n=5"

    def personalized():
        status, answer = http("GET", api + "&anonymous_id=anon-demo-3")
        return answer if status == 200 and answer["personalized"] else None

    answer = eventually(personalized, timeout_s=60)  # the visitor's views arrive through the queue
    assert len(answer["items"]) == 5 and answer["items"][0]["reason"]["basis_item_id"] in {"sku-1001", "sku-1002"}
    stranger = http("GET", api + "&anonymous_id=anon-nobody")[1]
    assert not stranger["personalized"] and stranger["fallback_reason"] == "unknown_visitor" and len(stranger["items"]) == 5


def test_the_demo_runs_a_hero_banner_experiment(demo):
    _, endpoints, _ = demo
    status, answer = http("POST", endpoints["api_url"] + "/v1/assignments", {"anonymous_id": "anon-demo-3"})
    assert status == 200 and answer["excluded_reason"] is None
    assert [a["experiment"] for a in answer["assignments"]] == ["hero-banner"]
    again = http("POST", endpoints["api_url"] + "/v1/assignments", {"anonymous_id": "anon-demo-3"})[1]
    assert again["assignments"][0]["variant"] == answer["assignments"][0]["variant"]  # sticky
