"""shared/aws adapters against moto."""

from __future__ import annotations

import json

import pytest

from shared.aws.dynamodb import Add, Delete, DynamoTable, Put
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.envelope import new_event


@pytest.fixture
def table(aws):
    return DynamoTable(aws.name("table", "profiles"))


def test_put_get_and_put_if_absent(table):
    table.put({"pk": "A", "sk": "1", "v": 1})
    assert table.get({"pk": "A", "sk": "1"})["v"] == 1
    assert table.get({"pk": "A", "sk": "missing"}) is None
    assert table.put_if_absent({"pk": "A", "sk": "1", "v": 2}) is False
    assert table.get({"pk": "A", "sk": "1"})["v"] == 1
    assert table.put_if_absent({"pk": "A", "sk": "2", "v": 2}) is True


def test_put_many_beyond_one_batch_and_paginated_query(table):
    assert table.put_many({"pk": "P", "sk": f"{i:04d}", "blob": "x" * 20_000} for i in range(60)) == 60
    items = table.query("pk", "P")  # 60 × 20 KB crosses DynamoDB's 1 MB page
    assert [i["sk"] for i in items] == [f"{i:04d}" for i in range(60)]
    assert [i["sk"] for i in table.query("pk", "P", limit=3, newest_first=True)] == ["0059", "0058", "0057"]


def test_a_marked_transaction_counts_once_per_marker_and_atomically(table):
    def once(marker, updates):
        return table.transact([Put({"pk": marker, "sk": "S", "expires_at": 1}, only_if_absent=True)] + [Add(k, c) for k, c in updates])

    updates = [({"pk": "V#a", "sk": "C"}, {"n": 1, "m": 2}), ({"pk": "V#b", "sk": "C"}, {"n": 1})]
    assert once("M#1", updates) is True
    assert once("M#1", updates) is False
    assert once("M#2", updates[:1]) is True
    assert (table.get({"pk": "V#a", "sk": "C"})["n"], table.get({"pk": "V#a", "sk": "C"})["m"]) == (2, 4)
    assert table.get({"pk": "V#b", "sk": "C"})["n"] == 1
    assert table.get({"pk": "M#1", "sk": "S"})["expires_at"] == 1


def test_published_events_reach_the_rules_queue(aws):
    envelopes = [new_event("InteractionRecorded", {"i": i}, context="profiles", correlation_id="r") for i in range(12)]
    EventPublisher(aws.name("bus", "persona")).publish(envelopes)
    bodies = [json.loads(m["Body"]) for m in aws.drain("profiles_interactions")]
    assert sorted(b["detail"]["data"]["i"] for b in bodies) == list(range(12))
    assert {b["detail-type"] for b in bodies} == {"InteractionRecorded"} and {b["source"] for b in bodies} == {"persona.profiles"}


def test_events_no_rule_matches_go_nowhere(aws):
    EventPublisher(aws.name("bus", "persona")).publish([new_event("SomethingElse", {}, context="profiles", correlation_id="r")])
    assert aws.drain("profiles_interactions") == []


def test_object_store(aws):
    store = ObjectStore(aws.name("bucket", "exports"))
    store.put("a/b.json", b'{"x": 1}', content_type="application/json")
    assert store.head("a/b.json")["ContentLength"] == 8
    assert store.open("a/b.json").read() == b'{"x": 1}'
    assert store.keys("a/") == ["a/b.json"] and store.keys("z/") == []
    assert store.head("a/missing.json") is None


def test_transactions_move_string_sets_and_delete(table):
    table.put({"pk": "OLD", "sk": "C", "n": 3})
    assert table.transact([Add({"pk": "NEW", "sk": "L"}, string_sets={"ids": frozenset({"a"})}), Delete({"pk": "OLD", "sk": "C"})])
    table.transact([Add({"pk": "NEW", "sk": "L"}, string_sets={"ids": frozenset({"b"})})])
    assert table.get({"pk": "NEW", "sk": "L"})["ids"] == {"a", "b"} and table.get({"pk": "OLD", "sk": "C"}) is None
