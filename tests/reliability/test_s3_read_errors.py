"""S3 read errors mid-import: the object's stream breaks after some chunks were merged."""

from __future__ import annotations

import functools
import io

import pytest
from botocore.exceptions import ResponseStreamingError

from functions.profiles.crm_import import pipeline
from infra.local.drop import drop
from shared.aws.s3 import ObjectStore
from tests.reliability.conftest import Countdown, eventually, http

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]


class BreaksAfter(io.RawIOBase):
    """A streaming body that fails like a reset connection after `limit` bytes."""

    def __init__(self, body, limit: int) -> None:
        self.body, self.left = body, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            raise ResponseStreamingError(error="Connection broken: IncompleteRead(0 bytes read, 48213 more expected)")
        data = self.body.read(min(len(buffer), self.left))
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def test_an_import_whose_stream_breaks_resumes_and_counts_each_row_once(runtime, ids, tmp_path, monkeypatch):
    customers = [ids(f"C{i:03d}") for i in range(200)]
    lines = ["order_id,customer_id,order_date,total,currency,quantity,skus"]
    lines += [f"{ids(f'O{n}')},{customers[n % 200]},2026-0{1 + n % 9}-1{n % 10}T10:00:00Z,{10 + n % 7}.50,EUR,1,sku-{n % 13}"
              for n in range(600)]
    export = tmp_path / f"{ids('orders')}.csv"
    export.write_text("\n".join(lines) + "\n")
    size = export.stat().st_size

    # Chunks of 100 rows (500,000 by default) so that some are merged before the stream breaks at 60 %.
    monkeypatch.setattr(pipeline, "run", functools.partial(pipeline.run, chunk_rows=100))
    real_open, breaks = ObjectStore.open, Countdown(1)

    def flaky_open(store, key):
        body = real_open(store, key)
        return BreaksAfter(body, int(size * 0.6)) if key.endswith(export.name) and breaks() else body

    monkeypatch.setattr(ObjectStore, "open", flaky_open)
    drop(export, "orders", runtime.endpoints)
    admin = {"x-api-key": runtime.endpoints.admin_api_key}

    def finished():
        imports = http("GET", runtime.endpoints.api_url + "/v1/imports", headers=admin)[1]["imports"]
        return next((i for i in imports if i["key"] == f"orders/{export.name}" and i["status"] in ("completed", "failed")), None)

    report = eventually(finished, timeout_s=60)
    assert breaks.fired
    assert (report["status"], report["rows_read"], report["accepted"], report["duplicates"], report["quarantined"]) == \
        ("completed", 600, 600, 0, 0), report

    ddb, table = runtime.client("dynamodb"), runtime.endpoints.tables["profiles"]
    counts = [int(ddb.get_item(TableName=table, Key={"pk": {"S": f"CUSTOMER#{c}"}, "sk": {"S": "ORDERS"}})["Item"]["order_count"]["N"])
              for c in customers]
    assert counts == [3] * 200  # every order once
