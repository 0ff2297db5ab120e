from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from models import data as data_module
from models.data import TYPE_WEIGHTS, DataError, SparseMatrix, load_interactions, movielens_100k
from tests.unit.models_fixtures import write_csv

NOV_20 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()


def rows_of(data):
    """(user id, item id, weight) per row, for comparing with what went in."""
    return [(data.user_ids[u], data.item_ids[i], float(w)) for u, i, w in zip(data.users, data.items, data.weights, strict=True)]


@pytest.fixture
def clock_far_from_utc(monkeypatch):
    """The machine's zone must not leak into times written without one."""
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_csv_with_weights_and_timestamps_in_both_notations(tmp_path, clock_far_from_utc):
    path = write_csv(
        tmp_path / "shop.csv",
        [("u1", "x", 2, "2026-11-20T10:00:00Z"), ("u1", "y", 1.5, "2026-11-20T10:00:00"), ("u2", "x", 1, NOV_20 + 60)],
        header="user_id,item_id,weight,timestamp",
    )
    data = load_interactions(path)
    assert rows_of(data) == [("u1", "x", 2.0), ("u1", "y", 1.5), ("u2", "x", 1.0)]
    # ISO 8601 with and without zone (naive means UTC) and unix seconds.
    assert data.timestamps.tolist() == [NOV_20, NOV_20, NOV_20 + 60]
    assert data.purchases is None and data.source == "shop.csv"


def test_csv_without_weight_uses_the_type_weights_and_marks_purchases(tmp_path):
    path = write_csv(tmp_path / "t.csv", [("u", "x", "product_view"), ("u", "y", "add_to_cart"), ("u", "z", "purchase")], "user_id,item_id,type")
    data = load_interactions(path)
    assert [w for *_, w in rows_of(data)] == [TYPE_WEIGHTS["product_view"], TYPE_WEIGHTS["add_to_cart"], TYPE_WEIGHTS["purchase"]]
    assert data.purchases.tolist() == [False, False, True]
    assert data.timestamps is None


def test_plain_csv_weighs_every_row_one(tmp_path):
    data = load_interactions(write_csv(tmp_path / "p.csv", [("u", "x"), ("v", "x")]))
    assert data.weights.tolist() == [1.0, 1.0] and data.user_ids == ["u", "v"] and data.item_ids == ["x"]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("user,item", [("u", "x")], "bad.csv line 1: the header needs columns user_id and item_id"),
        ("user_id,item_id,weight", [("u", "x", 1), ("u", "y", "abc")], "bad.csv line 3: weight 'abc' is not a positive number"),
        ("user_id,item_id,weight", [("u", "x", -1)], "bad.csv line 2: weight '-1' is not a positive number"),
        ("user_id,item_id,timestamp", [("u", "x", "yesterday")], "bad.csv line 2: timestamp 'yesterday' is neither unix seconds nor ISO 8601"),
        ("user_id,item_id", [("u", "x"), ("", "y")], "bad.csv line 3: user_id and item_id must not be empty"),
        ("user_id,item_id,type", [("u", "x", "wishlist")], "bad.csv line 2: type 'wishlist' has no weight"),
        ("user_id,item_id", [], "bad.csv: no interactions after the header"),
    ],
)
def test_bad_csv_is_a_data_error_naming_file_and_line(tmp_path, header, rows, message):
    with pytest.raises(DataError) as error:
        load_interactions(write_csv(tmp_path / "bad.csv", rows, header))
    assert str(error.value).startswith(message)


def interaction(**fields):
    return {"interaction_id": "i", "type": "product_view", "occurred_at": "2026-11-20T10:00:00+00:00", "item_id": "x", **fields}


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) if isinstance(r, dict) else r for r in records) + "\n")
    return path


def test_platform_export_uses_the_customer_id_first_and_skips_rows_without_item_interest(tmp_path):
    path = write_jsonl(
        tmp_path / "export.jsonl",
        [
            interaction(customer_id="c1", anonymous_id="anon-1", type="purchase"),
            interaction(anonymous_id="anon-2", type="add_to_cart", item_id="y"),
            interaction(anonymous_id="anon-2", type="page_view", item_id=None),
            interaction(anonymous_id="anon-2", type="search", item_id=None, query="socks"),
            interaction(anonymous_id="anon-2", type="remove_from_cart"),
            {"data": interaction(customer_id="c1", item_id="z"), "metadata": {"event_name": "InteractionRecorded"}},
            "",
        ],
    )
    data = load_interactions(path)
    assert rows_of(data) == [("c1", "x", 5.0), ("anon-2", "y", 3.0), ("c1", "z", 1.0)]
    assert data.skipped == 3
    assert data.purchases.tolist() == [True, False, False]
    assert data.timestamps.tolist() == [NOV_20] * 3


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected an object"),
        (json.dumps(interaction()), "line 2: customer_id or anonymous_id is required"),
        (json.dumps(interaction(customer_id="c", occurred_at="soon")), "line 2: timestamp 'soon' is neither"),
        (json.dumps(interaction(customer_id="c", type=None)), "line 2: type is required"),
    ],
)
def test_bad_export_lines_are_data_errors_naming_the_line(tmp_path, record, message):
    path = write_jsonl(tmp_path / "e.jsonl", [interaction(customer_id="c"), record])
    with pytest.raises(DataError, match=f"^e.jsonl {message}"):
        load_interactions(path)


def test_gzipped_export_and_format_sniffing(tmp_path):
    gz = tmp_path / "export.jsonl.gz"
    gz.write_bytes(gzip.compress((json.dumps(interaction(customer_id="c")) + "\n").encode()))
    assert rows_of(load_interactions(gz)) == [("c", "x", 1.0)]
    unnamed = write_jsonl(tmp_path / "export.txt", [interaction(customer_id="c")])
    assert rows_of(load_interactions(unnamed)) == [("c", "x", 1.0)]
    with pytest.raises(DataError, match="no such file"):
        load_interactions(tmp_path / "missing.csv")


def test_movielens_is_found_without_importing_recbole():
    data = movielens_100k()
    if data is None:
        pytest.skip("recbole (which ships MovieLens 100k) is not installed; make install adds it")
    assert (len(data.user_ids), len(data.item_ids), len(data)) == (943, 1682, 100_000)
    assert data.timestamps is not None and data.purchases is None
    import sys

    assert "recbole" not in sys.modules


def test_movielens_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(data_module.importlib.util, "find_spec", lambda _name: None)
    assert movielens_100k() is None
    with pytest.raises(DataError, match="recbole"):
        load_interactions("movielens-100k")


def test_sparse_matrix_sums_repeats_and_matches_its_dense_form():
    rows, cols = np.array([0, 0, 2, 0, 1]), np.array([3, 1, 0, 3, 2])
    values = np.array([1, 2, 3, 4, 5], np.float32)
    matrix = SparseMatrix.from_coo(rows, cols, values, (3, 4))
    dense = np.zeros((3, 4), np.float32)
    np.add.at(dense, (rows, cols), values)
    assert matrix.nnz == 4 and matrix.row_lengths().tolist() == [2, 1, 1]
    np.testing.assert_array_equal(matrix.dense_rows(0, 3), dense)
    np.testing.assert_array_equal(matrix.transpose().dense_rows(0, 4), dense.T)
    weights = np.array([0.5, 2.0, 1.0])
    np.testing.assert_allclose(matrix.gram(weights), dense.T @ (dense * weights[:, None]))
    kept = matrix.select_entries(matrix.values > 2)
    np.testing.assert_array_equal(kept.dense_rows(0, 3), np.where(dense > 2, dense, 0))
