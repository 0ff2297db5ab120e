"""Costs of moto 5.2 that real AWS does not have, removed for the local runtime and the tests.

DynamoDB transactions: moto backs up every table a `TransactWriteItems` touches with `copy.deepcopy` of the
whole table before it writes, so each transaction costs time and memory in proportion to
the table. With `make up`'s CDNOW import (tens of thousands of profiles, results cells
updated in transactions) that made the local runtime grow past 14 GB and answer
DynamoDB calls after more than the SDK's 10 s read timeout. Real DynamoDB has no such
cost, so the local runtime and the tests snapshot only the items a transaction names and
put them back if it is cancelled; moto's own code does the writing and the checks.

SQS queue attributes: every SendMessage, and every message a ReceiveMessage returns, makes
moto count the queue's messages several times over, converting two timestamps to datetimes
per message and count; with a backlog of tens of thousands of messages each call took
tens of milliseconds and the queue drained quadratically. The counts are taken here in one
pass with one clock reading, and the retention check reads the retention period directly.
Answers are the same.

EventBridge targets: for every event and every rule target it delivers to, moto compiles each
input path of the target's template (eight for the default one) with jsonpath-ng, which builds
a new PLY parser each time: about 25 ms per target per event, so an InteractionRecorded (three
target queues) cost ~70 ms and `POST /v1/events` with 100 events 3.5 s. The compiled paths are
cached here (they are immutable); what is delivered is the same.

DynamoDB queries: moto answers a Query on a table by sorting every item of the table and then
keeping the partition asked for, so each query costs the whole table (the profiles table
after a 100,000-row import: tens of thousands of items, for every query of a visitor's recent
interactions or a unit's outcomes). Here a query on the table itself sees only its partition;
queries on an index are moto's own.

SQS deletes: moto finds a message to delete by listing every receipt handle of every message
in the queue, twice, so deleting a batch from a backlog of 20,000 messages took ~45 ms and a
queue drained quadratically. Here one pass stops at the message (received messages are the
oldest, near the front); the answers, errors included, are the same.

SQS sends: to read one flag (ContentBasedDeduplication), every SendMessage made moto build all
of the queue's attributes, counting its messages three times over; GetQueueAttributes built them
once plus twice per attribute asked for. With results' queue 27,000 messages deep after an
import's segment recompute, that was most of what the local runtime did. Sends now build only
that flag, and one GetQueueAttributes builds the attributes once.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_applied = threading.Lock()
_done = False


def _deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    from moto.dynamodb.models.table import Table

    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, deep copy of the item or None) for each item the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    snapshots = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName"))
            attributes = op.get("Item") if op_type == "Put" else op.get("Key")
            if table is None or not attributes or table.hash_key_attr not in attributes:
                continue  # moto rejects it before writing anything
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attributes:
                    continue
                range_value = DynamoType(attributes[table.range_key_attr])
            hash_value = DynamoType(attributes[table.hash_key_attr])
            snapshots.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return snapshots


def _restore(snapshots: list[tuple[Any, Any, Any, Any]]) -> None:
    # Backwards, so that the first snapshot of an item named twice (moto refuses that) wins.
    for table, hash_value, range_value, item in reversed(snapshots):
        if item is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item


def _patch_sqs() -> None:
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def within_retention(self: Any, queue_name: str, message: Any) -> bool:
        retention_s = int(self.get_queue(queue_name).message_retention_period)
        return retention_s + message.sent_timestamp / 1000 > unix_time()

    Queue.messages = property(messages)
    Queue.approximate_number_of_messages_delayed = property(delayed)
    Queue.approximate_number_of_messages_not_visible = property(not_visible)
    SQSBackend.is_message_valid_based_on_retention_period = within_retention


def _patch_events() -> None:
    import jsonpath_ng.ext

    # moto.events.utils imports `parse` from this module inside each call, so it finds the cached one.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)


class _OnePartition:
    """A table as moto's Query sees it: `all_items()` is the queried partition, nothing else."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table, self._hash_key = table, hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        partition = self._table.items.get(self._hash_key)
        if partition is None:
            return []
        return list(partition.values()) if self._table.range_key_attr else [partition]


def _patch_dynamodb_query() -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    original = Table.query
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if arguments.get("index_name") or hash_key is None:
            return original(self, *args, **kwargs)
        return original(_OnePartition(self, hash_key), *args, **kwargs)

    Table.query = query


_sqs_call = threading.local()  # what the current moto SQS call on this thread needs of `Queue.attributes`


def _patch_sqs_attributes() -> None:
    from moto.sqs.models import Queue, SQSBackend

    every_attribute = Queue.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_sqs_call, "sending", False):  # only ContentBasedDeduplication is read
            if not self.fifo_queue:
                return {}
            flag = self.content_based_deduplication
            return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}
        memo = getattr(_sqs_call, "memo", None)
        if memo is None:
            return every_attribute(self)
        if id(self) not in memo:
            memo[id(self)] = every_attribute(self)
        return memo[id(self)]

    def sending(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            before, _sqs_call.sending = getattr(_sqs_call, "sending", False), True
            try:
                return method(self, *args, **kwargs)
            finally:
                _sqs_call.sending = before
        return wrapper

    def memoised(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            _sqs_call.memo = {}
            try:
                return method(self, *args, **kwargs)
            finally:
                _sqs_call.memo = None
        return wrapper

    Queue.attributes = property(attributes)
    SQSBackend.send_message = sending(SQSBackend.send_message)
    SQSBackend.get_queue_attributes = memoised(SQSBackend.get_queue_attributes)


def _patch_sqs_delete() -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Queue

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # deleted before: SQS accepts that
        messages = self._messages
        for index, message in enumerate(messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                break
        else:
            raise ReceiptHandleIsInvalid()
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = messages[:index] + messages[index + 1:]  # a new list, as moto does: readers keep theirs

    Queue.delete_message = delete_message


def apply() -> None:
    """Patch moto (idempotent). Call before the first transaction."""
    global _done
    with _applied:
        if _done:
            return
        _patch_sqs()
        _patch_sqs_delete()
        _patch_sqs_attributes()
        _patch_events()
        _patch_dynamodb_query()
        from moto.dynamodb import models

        # The whole-table backup becomes the table itself (its "rollback" a no-op) ...
        models.copy = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)
        original = models.DynamoDBBackend.transact_write_items

        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            # ... and the items the transaction names are put back when it is cancelled.
            snapshots = _named_items(self, transact_items)
            try:
                return original(self, transact_items)
            except Exception:
                _restore(snapshots)
                raise

        models.DynamoDBBackend.transact_write_items = transact_write_items
        _done = True
