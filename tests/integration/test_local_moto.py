"""The local runtime's moto (infra/local/moto_patches.py): a cancelled transaction is rolled back item by
item, never by copying the table; queue counts are what moto counted before, in one pass."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend

from infra.local import moto_patches

REGION = "eu-west-1"


@pytest.fixture
def table():
    moto_patches.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        for n in range(3):
            client.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": f"s{n}"}, "n": {"N": str(n)}})
        yield client, get_backend("dynamodb")["123456789012"][REGION]


def _items(client):
    return {i["sk"]["S"]: i["n"]["N"] for i in client.scan(TableName="t")["Items"]}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table):
    client, backend = table
    stored = backend.tables["t"]
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "s0"}},
                        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "10"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}, "n": {"N": "7"}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "s1"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "s2"}, "n": {"N": "9"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},  # s2 exists: the whole transaction is cancelled
        ])
    assert _items(client) == {"s0": "0", "s1": "1", "s2": "2"}
    assert backend.tables["t"] is stored  # rolled back in place: no copy of the table was taken


def test_a_transaction_that_passes_writes_every_item(table):
    client, backend = table
    stored = backend.tables["t"]
    client.transact_write_items(TransactItems=[
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "s0"}},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "10"}}}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "s1"}}}},
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}, "n": {"N": "7"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    assert _items(client) == {"s0": "10", "s2": "2", "new": "7"} and backend.tables["t"] is stored


def test_an_item_named_twice_is_refused_and_rolled_back(table):
    client, _ = table
    with pytest.raises(client.exceptions.ClientError):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "s0"}, "n": {"N": "5"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "s0"}, "n": {"N": "6"}}}},
        ])
    assert _items(client) == {"s0": "0", "s1": "1", "s2": "2"}


def test_queue_counts_and_retention_are_unchanged():
    moto_patches.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert len(received) == 2
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"],
                counts["ApproximateNumberOfMessagesDelayed"]) == ("1", "2", "1")

        queue = get_backend("sqs")["123456789012"][REGION].queues["q"]
        for message in queue._messages:
            message.sent_timestamp -= 61_000  # older than the queue's retention period
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_eventbridge_delivers_the_same_event_with_compiled_paths_reused():
    moto_patches.apply()
    import json

    import jsonpath_ng.ext

    assert jsonpath_ng.ext.parse("$.detail-type") is jsonpath_ng.ext.parse("$.detail-type")  # compiled once
    with mock_aws():
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="target")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventPattern=json.dumps({"detail-type": ["Thing"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        for n in range(2):
            events.put_events(Entries=[{"Source": "s", "DetailType": "Thing", "Detail": json.dumps({"n": n})}])
        bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(b["detail"]["n"] for b in bodies) == [0, 1]
    assert all(b["source"] == "s" and b["detail-type"] == "Thing" and b["id"] and b["time"] for b in bodies)


def test_a_query_reads_its_partition_only_and_answers_as_before(table):
    client, backend = table
    for pk in ("a", "b", "c"):
        for n in range(5):
            client.put_item(TableName="t", Item={"pk": {"S": pk}, "sk": {"S": f"s{n}"}, "n": {"N": str(n)}})

    def everything():
        raise AssertionError("the query sorted every item of the table")

    backend.tables["t"].all_items = everything  # moto's own query calls this; the patched one does not
    query = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}}
    assert [i["sk"]["S"] for i in client.query(**query)["Items"]] == [f"s{n}" for n in range(5)]
    newest = client.query(**query, ScanIndexForward=False, Limit=2)
    assert [i["sk"]["S"] for i in newest["Items"]] == ["s4", "s3"]
    rest = client.query(**query, ScanIndexForward=False, ExclusiveStartKey=newest["LastEvaluatedKey"])
    assert [i["sk"]["S"] for i in rest["Items"]] == ["s2", "s1", "s0"]
    ranged = client.query(TableName="t", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                          ExpressionAttributeValues={":p": {"S": "c"}, ":s": {"S": "s1"}})
    assert [i["n"]["N"] for i in ranged["Items"]] == ["1"]
    assert client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "zz"}})["Items"] == []


def test_deleting_from_a_backlog_finds_the_message_without_listing_every_handle():
    moto_patches.apply()
    from moto.sqs.models import Message

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="deep")["QueueUrl"]
        for start in range(0, 1000, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)])
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # the same ones: new handles
        assert {m["MessageId"] for m in again} == {m["MessageId"] for m in first}
        listed = []
        original = Message.all_receipt_handles
        Message.all_receipt_handles = property(lambda m: listed.append(1) or original.fget(m))
        try:
            deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first)])  # the older handles
        finally:
            Message.all_receipt_handles = original
        assert len(deleted["Successful"]) == 10 and len(listed) <= 10  # moto lists every handle of all 1,000 messages
        sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])  # deleted before: accepted
        with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == "990"


def test_sending_does_not_count_the_queue_and_attributes_are_built_once():
    moto_patches.apply()
    from moto.sqs.models import Queue

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="busy")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="ordered.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        counted = []
        original = Queue.approximate_number_of_messages
        Queue.approximate_number_of_messages = property(lambda q: counted.append(q.name) or original.fget(q))
        try:
            for n in range(5):
                sqs.send_message(QueueUrl=url, MessageBody=str(n))
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(3)])
            assert counted == []  # moto counted the queue three times for each message sent
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "VisibilityTimeout"])
            assert found["Attributes"] == {"ApproximateNumberOfMessages": "8", "VisibilityTimeout": "30"} and counted == ["busy"]
        finally:
            Queue.approximate_number_of_messages = original
        for _ in range(2):  # content-based deduplication still reads its flag
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        everything = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
        assert everything["ApproximateNumberOfMessages"] == "1" and everything["ContentBasedDeduplication"] == "true"
