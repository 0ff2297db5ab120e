"""Interaction data for training: loaders and a small numpy-only sparse matrix.

Three sources, one shape (`Interactions`):
- CSV with a header `user_id,item_id[,weight][,timestamp][,type]`;
- the platform's own interaction export: JSON lines of `InteractionRecorded`
  payloads (or their EventBridge envelopes);
- MovieLens 100k as the `recbole` package ships it (data only, for evaluation).

Bad input raises `DataError` naming the file and line, never a traceback.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np

MOVIELENS_100K = "movielens-100k"
# How much each storefront interaction says about interest; serving should weight
# history the same way (the trained model records these in its parameters).
TYPE_WEIGHTS: dict[str, float] = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
PURCHASE = "purchase"
_CSV_REQUIRED = ("user_id", "item_id")


class DataError(ValueError):
    """Input that cannot be trained on; the message names the file and line."""


@dataclass(frozen=True)
class Interactions:
    """One row per interaction; users and items are indices into `user_ids` / `item_ids`."""

    user_ids: list[str]
    item_ids: list[str]
    users: np.ndarray  # int32 [R]
    items: np.ndarray  # int32 [R]
    weights: np.ndarray  # float32 [R]
    timestamps: np.ndarray | None  # float64 [R] unix seconds; None when the data has none
    purchases: np.ndarray | None  # bool [R]; None when the data has no interaction types
    source: str
    skipped: int = 0  # rows without an item or of a type that carries no interest

    def __len__(self) -> int:
        return len(self.users)

    def matrix(self) -> SparseMatrix:
        """users × items, repeated interactions summed."""
        return SparseMatrix.from_coo(self.users, self.items, self.weights, (len(self.user_ids), len(self.item_ids)))


@dataclass(frozen=True)
class SparseMatrix:
    """Compressed rows (CSR) with numpy only: what training needs, nothing more."""

    indptr: np.ndarray  # int64 [rows + 1]
    indices: np.ndarray  # int32 [nnz], sorted within a row
    values: np.ndarray  # float32 [nnz]
    shape: tuple[int, int]

    @classmethod
    def from_coo(cls, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> SparseMatrix:
        keys = rows.astype(np.int64) * shape[1] + cols
        unique, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=values, minlength=len(unique)).astype(np.float32)
        row_of = unique // shape[1]
        indptr = np.zeros(shape[0] + 1, np.int64)
        np.cumsum(np.bincount(row_of, minlength=shape[0]), out=indptr[1:])
        return cls(indptr, (unique % shape[1]).astype(np.int32), summed, shape)

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def row_lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:end], self.values[start:end]

    def row_of_entries(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0], dtype=np.int32), self.row_lengths())

    def transpose(self) -> SparseMatrix:
        return SparseMatrix.from_coo(self.indices, self.row_of_entries(), self.values, (self.shape[1], self.shape[0]))

    def select_entries(self, keep: np.ndarray) -> SparseMatrix:
        """The same shape with only the entries where `keep` (bool [nnz]) is true."""
        return SparseMatrix.from_coo(self.row_of_entries()[keep], self.indices[keep], self.values[keep], self.shape)

    def dense_rows(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros((stop - start, self.shape[1]), np.float32)
        lo, hi = self.indptr[start], self.indptr[stop]
        out[np.repeat(np.arange(stop - start), self.row_lengths()[start:stop]), self.indices[lo:hi]] = self.values[lo:hi]
        return out

    def row_chunks(self, max_cells: int = 16_000_000) -> Iterator[tuple[int, int]]:
        """Row ranges whose dense form stays under `max_cells` floats."""
        step = max(1, max_cells // max(1, self.shape[1]))
        for start in range(0, self.shape[0], step):
            yield start, min(start + step, self.shape[0])

    def gram(self, row_weights: np.ndarray | None = None) -> np.ndarray:
        """XᵀWX as a dense float64 [cols, cols], built from dense row chunks (BLAS-fast
        for catalogs up to some ten thousand items, which is where it is used)."""
        gram = np.zeros((self.shape[1], self.shape[1]), np.float64)
        for start, stop in self.row_chunks():
            chunk = self.dense_rows(start, stop)
            weighted = chunk if row_weights is None else chunk * row_weights[start:stop, None].astype(np.float32)
            gram += (weighted.T @ chunk).astype(np.float64)
        return gram


# --- loading ---------------------------------------------------------------------------


def load_interactions(path: str | Path) -> Interactions:
    """A CSV or JSON-lines file (optionally gzipped), or `movielens-100k`."""
    if str(path) == MOVIELENS_100K:
        data = movielens_100k()
        if data is None:
            raise DataError(f"{MOVIELENS_100K}: the recbole package, which ships the data, is not installed (pip install --no-deps recbole==1.2.1)")
        return data
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix
    try:
        with _open_text(path) as text:
            if suffix in (".jsonl", ".ndjson", ".json") or (suffix != ".csv" and _first_char(text) == "{"):
                return _read_jsonl(text, path.name)
            return _read_csv(text, path.name)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise DataError(f"{path.name}: not a readable text file ({exc})") from None


def movielens_100k() -> Interactions | None:
    """MovieLens 100k (943 users, 1682 films, 100,000 ratings) from the installed `recbole`
    package, found without importing it; None when it is not installed. Every rating counts
    as one interaction of weight 1: implicit feedback is what the storefront has."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "dataset_example" / "ml-100k" / "ml-100k.inter"
    if not path.is_file():
        return None
    users, items, stamps = [], [], []
    with path.open(encoding="utf-8") as text:
        next(text)  # header: user_id:token item_id:token rating:float timestamp:float
        for line in text:
            user, item, _rating, stamp = line.rstrip("\n").split("\t")
            users.append(user)
            items.append(item)
            stamps.append(float(stamp))
    return _build(users, items, [1.0] * len(users), stamps, None, source=MOVIELENS_100K)


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _first_char(text: TextIO) -> str:
    start = text.read(1024).lstrip()
    text.seek(0)
    return start[:1]


def _read_csv(text: TextIO, name: str) -> Interactions:
    reader = csv.DictReader(text)
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in _CSV_REQUIRED if c not in columns]
    if missing:
        raise DataError(f"{name} line 1: the header needs columns user_id and item_id (found: {', '.join(columns) or 'nothing'})")
    reader.fieldnames = columns
    has_weight, has_time, has_type = "weight" in columns, "timestamp" in columns, "type" in columns
    users, items, weights, stamps, purchases = [], [], [], [], []
    for row in reader:
        where = f"{name} line {reader.line_num}"
        user, item = (row.get("user_id") or "").strip(), (row.get("item_id") or "").strip()
        if not user or not item:
            raise DataError(f"{where}: user_id and item_id must not be empty")
        kind = (row.get("type") or "").strip() if has_type else None
        if has_weight:
            weights.append(_positive_number(row.get("weight"), where))
        elif kind is not None:
            if kind not in TYPE_WEIGHTS:
                raise DataError(f"{where}: type {kind!r} has no weight (known: {', '.join(TYPE_WEIGHTS)}); add a weight column")
            weights.append(TYPE_WEIGHTS[kind])
        else:
            weights.append(1.0)
        if has_time:
            stamps.append(_unix_seconds(row.get("timestamp"), where))
        if has_type:
            purchases.append(kind == PURCHASE)
        users.append(user)
        items.append(item)
    if not users:
        raise DataError(f"{name}: no interactions after the header")
    return _build(users, items, weights, stamps if has_time else None, purchases if has_type else None, source=name)


def _read_jsonl(text: TextIO, name: str) -> Interactions:
    users, items, weights, stamps, purchases = [], [], [], [], []
    skipped = 0
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON ({exc.msg})") from None
        if isinstance(record, dict) and isinstance(record.get("data"), dict) and "metadata" in record:
            record = record["data"]  # an EventBridge envelope
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected an object")
        user = record.get("customer_id") or record.get("anonymous_id")
        kind = record.get("type")
        if not isinstance(user, str) or not user:
            raise DataError(f"{where}: customer_id or anonymous_id is required")
        if not isinstance(kind, str):
            raise DataError(f"{where}: type is required")
        if not record.get("item_id") or kind not in TYPE_WEIGHTS:
            skipped += 1  # page views, searches, removals: no item interest to learn from
            continue
        users.append(user)
        items.append(str(record["item_id"]))
        weights.append(TYPE_WEIGHTS[kind])
        stamps.append(_unix_seconds(record.get("occurred_at"), where))
        purchases.append(kind == PURCHASE)
    if not users:
        raise DataError(f"{name}: no interactions with an item ({skipped} lines skipped)")
    return _build(users, items, weights, stamps, purchases, source=name, skipped=skipped)


def _positive_number(value: str | None, where: str) -> float:
    try:
        number = float(value or "")
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise DataError(f"{where}: weight {value!r} is not a positive number")
    return number


def _unix_seconds(value: object, where: str) -> float:
    """Unix seconds, or ISO 8601 (a time without zone is taken as UTC)."""
    text = str(value).strip() if value is not None else ""
    try:
        seconds = float(text)
        if math.isfinite(seconds):
            return seconds
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"{where}: timestamp {text!r} is neither unix seconds nor ISO 8601") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _build(
    users: list[str],
    items: list[str],
    weights: list[float],
    stamps: list[float] | None,
    purchases: list[bool] | None,
    *,
    source: str,
    skipped: int = 0,
) -> Interactions:
    user_ids, user_index = np.unique(np.array(users, dtype=object).astype(str), return_inverse=True)
    item_ids, item_index = np.unique(np.array(items, dtype=object).astype(str), return_inverse=True)
    return Interactions(
        user_ids=user_ids.tolist(),
        item_ids=item_ids.tolist(),
        users=user_index.astype(np.int32),
        items=item_index.astype(np.int32),
        weights=np.asarray(weights, np.float32),
        timestamps=None if stamps is None else np.asarray(stamps, np.float64),
        purchases=None if purchases is None else np.asarray(purchases, bool),
        source=source,
        skipped=skipped,
    )
