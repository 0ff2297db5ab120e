"""Recommendations end to end over moto: a model trained with `models/`, published to the
models bucket, served through the API with consent, history, exposures and privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from functions.privacy.store import privacy_store
from functions.recommend.artifacts import METADATA_FILE, ModelMetadata, subject_hash
from functions.recommend.publishing import publish_catalog, publish_model
from functions.recommend.store import recommend_store
from infra.local.demo_catalog import Interaction, demo_catalog, simulate_shoppers, write_interactions
from shared import settings
from shared.aws.s3 import ObjectStore
from shared.trust import is_visitor_id
from tests.conftest import visitor
from tests.integration.test_privacy import _traces, submit, verify_by_staff

NOW = datetime.now(UTC)
# Anna bought rain gear before; her purchases are in the training data of the demo model.
ANNA = [Interaction("C-1001", "sku-2003", "purchase", NOW - timedelta(days=20)),
        Interaction("C-1001", "sku-6002", "purchase", NOW - timedelta(days=20))]


def _train(folder: Path, factors: int) -> Path:
    from models.data import load_interactions
    from models.train import train_model

    catalog = demo_catalog()
    rows = simulate_shoppers(catalog, shoppers=600) + ANNA
    train_model(load_interactions(write_interactions(rows, folder / "interactions.csv")), folder / "model", factors=factors)
    return folder / "model"


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """Two model versions trained on the demo shop (once per test session)."""
    first = _train(tmp_path_factory.mktemp("model-a"), factors=16)
    second = _train(tmp_path_factory.mktemp("model-b"), factors=24)
    return first, second


@pytest.fixture
def shop(aws, trained):
    bucket = ObjectStore(aws.name("bucket", "models"))
    publish_catalog(bucket, demo_catalog())
    publish_model(bucket, trained[0])
    return bucket


def recommend(aws, **query) -> dict:
    """The storefront asks; for a `user_id` it sends that customer's session (else the id would not count)."""
    headers = aws.signed_in(query["user_id"]) if "user_id" in query else None
    status, body = aws.api("GET", "/v1/recommendations?" + "&".join(f"{k}={v}" for k, v in query.items()), headers=headers)
    assert status == 200, body
    return body


def consent(aws, subject, personalization=True):
    """A visitor's secret id is its own proof; a customer's consents need their session."""
    status, body = aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"personalization": personalization},
                                                               "source": "banner", "policy_version": "v1"},
                           headers=None if is_visitor_id(subject) else aws.signed_in(subject))
    assert status == 200, body
    aws.pump()


def browse(aws, *events):
    """The storefront's events; a signed-in customer's are sent with their session."""
    stamp = datetime.now(UTC)
    batch = [{"timestamp": (stamp - timedelta(seconds=len(events) - i)).isoformat(), **e} for i, e in enumerate(events)]
    customers = {e["customer_id"] for e in events if "customer_id" in e}
    assert len(customers) <= 1, "one storefront session names one customer"
    status, body = aws.api("POST", "/v1/events", {"events": batch}, headers=aws.signed_in(*customers) if customers else None)
    assert status == 202 and not body["rejected"], body
    aws.pump()


def view(item, **ids):
    return {"type": "product_view", "item_id": item, **ids}


def test_consented_visitor_gets_recommendations_from_what_they_browsed_a_minute_ago(aws, shop):
    v1 = visitor("anon-v1")
    consent(aws, v1)
    browse(aws, view("sku-8001", anonymous_id=v1), view("sku-8002", anonymous_id=v1))  # tents
    first = recommend(aws, placement="home", anonymous_id=v1, n=5)
    assert first["personalized"] and first["model_version"]
    assert first["items"][0]["reason"]["code"] == "viewed" and first["items"][0]["reason"]["basis_item_id"] in {"sku-8001", "sku-8002"}
    assert {"tents", "sleeping-bags"} & {i["category"] for i in first["items"]}
    browse(aws, *[view(f"sku-10{n:03d}", anonymous_id=v1) for n in (1, 2, 3)])  # then cycling gear
    second = recommend(aws, placement="home", anonymous_id=v1, n=5)
    assert [i["item_id"] for i in second["items"]] != [i["item_id"] for i in first["items"]]
    assert second["items"][0]["category"] in {"cycling", "sports-nutrition", "water-bottles"}


def test_unknown_visitors_and_withdrawn_consent_get_the_neutral_answer(aws, shop):
    v2 = visitor("anon-v2")
    browse(aws, view("sku-8001", anonymous_id=v2))
    answer = recommend(aws, placement="home", anonymous_id=v2)
    assert answer == {**answer, "personalized": False, "fallback_reason": "unknown_visitor"} and len(answer["items"]) == 10
    assert recommend_store().history([v2], 10) == []  # nothing kept without consent

    consent(aws, v2)
    browse(aws, view("sku-8001", anonymous_id=v2))
    assert recommend(aws, placement="home", anonymous_id=v2)["personalized"]
    consent(aws, v2, personalization=False)
    assert recommend(aws, placement="home", anonymous_id=v2)["fallback_reason"] == "no_consent"
    assert recommend_store().history([v2], 10) == []  # withdrawal ends the purpose: the history went


def test_restriction_and_objection_change_the_next_answer(aws, shop):
    consent(aws, "C-7")
    browse(aws, view("sku-5001", customer_id="C-7"), view("sku-5002", customer_id="C-7"))
    assert recommend(aws, placement="home", user_id="C-7")["personalized"]
    restriction = submit(aws, "C-7", kind="restriction")  # no address on file: the privacy team verifies
    verify_by_staff(aws, restriction)
    assert recommend(aws, placement="home", user_id="C-7")["fallback_reason"] == "restricted"
    assert recommend_store().history(["C-7"], 10)  # restricted data stays stored, unused
    assert aws.api("POST", f"/v1/privacy-requests/{restriction}/lift")[0] == 200
    aws.pump()
    assert recommend(aws, placement="home", user_id="C-7")["personalized"]
    objection = submit(aws, "C-7", kind="objection", objection="profiling")
    verify_by_staff(aws, objection)
    assert recommend(aws, placement="home", user_id="C-7")["fallback_reason"] == "objection"


def test_a_visitors_history_follows_them_when_they_log_in(aws, shop):
    v3 = visitor("anon-v3")
    consent(aws, v3)
    browse(aws, view("sku-9001", anonymous_id=v3), view("sku-9002", anonymous_id=v3))
    browse(aws, {"type": "identify", "anonymous_id": v3, "customer_id": "C-8"})  # with C-8's session
    answer = recommend(aws, placement="home", user_id="C-8")  # the customer's consent came over from the visitor
    assert answer["personalized"] and answer["items"][0]["reason"]["basis_item_id"] in {"sku-9001", "sku-9002"}
    assert recommend(aws, placement="home", anonymous_id=v3)["personalized"]  # the old cookie resolves to C-8
    # Without C-8's session the user id proves nothing: served as an unknown visitor, not as C-8.
    status, unproven = aws.api("GET", "/v1/recommendations?placement=home&user_id=C-8")
    assert status == 200 and not unproven["personalized"] and unproven["fallback_reason"] == "unknown_visitor"


def test_items_shown_too_often_are_rested(aws, shop):
    consent(aws, "C-9")
    browse(aws, view("sku-1001", customer_id="C-9"))
    first = {i["item_id"] for i in recommend(aws, placement="home", user_id="C-9", n=3)["items"]}
    for _ in range(2):
        recommend(aws, placement="home", user_id="C-9", n=3)
    later = {i["item_id"] for i in recommend(aws, placement="home", user_id="C-9", n=3)["items"]}
    assert not first & later  # shown three times in a week: rested


def test_placements_through_the_api(aws, shop):
    v4 = visitor("anon-v4")
    product = recommend(aws, placement="product", anonymous_id=v4, item_id="sku-1001", same_brand="true", n=5)
    assert not product["personalized"] and {i["brand"] for i in product["items"]} == {"Stride"}
    assert product["items"][0]["reason"]["code"] == "same_brand"
    cart = recommend(aws, placement="cart", anonymous_id=v4, item_id="sku-1001", n=5)
    assert cart["items"][0]["reason"]["code"] == "bought_together"
    assert {"socks", "running-apparel", "sports-nutrition"} & {i["category"] for i in cart["items"]}


def test_a_newly_published_model_serves_without_a_deploy(aws, shop, trained, monkeypatch):
    monkeypatch.setenv("MODEL_CHECK_INTERVAL_S", "0")
    settings.reset()
    before = recommend(aws, placement="home", anonymous_id=visitor("anon-v5"))["model_version"]
    newer = publish_model(shop, trained[1])
    after = recommend(aws, placement="home", anonymous_id=visitor("anon-v5"))["model_version"]
    assert before != after == newer


def test_without_a_published_model_the_answer_is_empty_not_an_error(aws):
    answer = recommend(aws, placement="home", anonymous_id=visitor("anon-v6"))
    assert answer["items"] == [] and answer["fallback_reason"] == "no_model"


A1 = visitor("a-1")  # a well-formed visitor id: the other fault is the one answered


@pytest.mark.parametrize("query, code", [
    ("placement=home", "missing_subject"),
    (f"placement=email&anonymous_id={A1}", "missing_user_id"),
    (f"placement=product&anonymous_id={A1}", "missing_item_id"),
    (f"placement=product&anonymous_id={A1}&item_id=no-such-sku", "unknown_item"),
    (f"placement=shelf&anonymous_id={A1}", "invalid_request"),
    (f"placement=home&anonymous_id={A1}&n=0", "invalid_request"),
    (f"placement=home&anonymous_id={A1}&n=500", "invalid_request"),
    (f"placement=home&anonymous_id={A1}&locale=Germany", "invalid_request"),
    ("placement=home&anonymous_id=bad%20id", "invalid_request"),
    ("placement=home&anonymous_id=short-1", "invalid_anonymous_id"),  # not a secret: anyone could guess it
])
def test_bad_parameters_are_a_clear_400(aws, shop, query, code):
    status, body = aws.api("GET", f"/v1/recommendations?{query}")
    assert status == 400 and body["error"]["code"] == code and body["error"]["message"]


def test_erasure_removes_history_and_marks_the_models_trained_on_the_person(aws, shop, trained):
    anna = visitor("anon-anna")
    consent(aws, "C-1001")
    # Anna signs in on her cookie (identify: the link) and browses, with her session.
    browse(aws, {"type": "identify", "anonymous_id": anna, "customer_id": "C-1001"}, view("sku-2001", customer_id="C-1001", anonymous_id=anna))
    recommend(aws, placement="home", user_id="C-1001")  # an exposure too
    access = submit(aws, "C-1001")  # known from signing in only, no address on file: the privacy team verifies
    verify_by_staff(aws, access)
    assert privacy_store().get_request(access).tasks["recommend"].action == "exported"

    status, models = aws.api("GET", "/v1/models")
    assert status == 200 and models[0]["serving"] and not models[0]["retrain_required"]
    subjects_before = models[0]["subjects"]
    erasure = submit(aws, "C-1001", kind="erasure")
    verify_by_staff(aws, erasure)
    assert aws.api("GET", f"/v1/privacy-requests/{erasure}")[1]["status"] == "completed"
    model = aws.api("GET", "/v1/models")[1][0]
    assert model["retrain_required"] and model["erasures"] == 1 and model["subjects"] == subjects_before - 1
    metadata = ModelMetadata.model_validate_json(shop.read(f"models/{model['model_version']}/{METADATA_FILE}"))
    hashed = {subject_hash(metadata.lineage.salt, s) for s in ("C-1001", anna)}
    assert _traces(aws, {"C-1001", anna, *hashed}) == []
    versions = aws.client("s3").list_object_versions(Bucket=shop.bucket, Prefix=f"models/{model['model_version']}/{METADATA_FILE}")
    assert len(versions["Versions"]) == 1  # the old lineage is not kept as a noncurrent version


def test_the_catalog_can_be_browsed_and_searched(aws, shop):
    status, page = aws.api("GET", "/v1/catalog?q=stride%20socks&limit=3")
    assert status == 200 and page["items"] and page["total"] >= len(page["items"])
    assert all("stride" in f"{i['title']} {i['brand']}".lower() and i["category"] == "socks" for i in page["items"])
    assert "lingerie" in page["categories"] and len(aws.api("GET", "/v1/catalog?limit=500")[1]["items"]) == 308
    assert aws.api("GET", "/v1/catalog/sku-1001")[1]["brand"] == "Stride"
    assert aws.api("GET", "/v1/catalog/sku-none")[0] == 404
    assert aws.api("GET", "/v1/catalog?limit=0")[0] == 400


def test_the_catalog_is_empty_before_one_is_published(aws):
    status, page = aws.api("GET", "/v1/catalog")
    assert status == 200 and page == {"total": 0, "items": [], "categories": []}
