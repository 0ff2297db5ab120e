"""A trained model and the catalog, loaded once per container and aligned by item index.

Everything per item is a numpy array of length N (the model's item count), so that
rules become boolean masks and nothing loops over the catalog in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import onnxruntime as ort

from functions.recommend.artifacts import COPURCHASE_FILE, METADATA_FILE, MODEL_FILE, ModelMetadata
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog, CatalogItem


@dataclass
class GraphOutput:
    items: np.ndarray  # int64 [k]
    scores: np.ndarray  # float32 [k]
    basis: np.ndarray  # float32 [H, k]


class ScoringModel:
    """The ONNX scoring graph of one model version (see artifacts.py for its signature)."""

    def __init__(self, folder: Path) -> None:
        self.metadata = ModelMetadata.model_validate_json((folder / METADATA_FILE).read_bytes())
        options = ort.SessionOptions()
        # One request at a time per Lambda container: spare threads only add wake-up latency.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        self.items: list[str] = self.metadata.items
        self.index = {item_id: i for i, item_id in enumerate(self.items)}
        self.popularity = np.asarray(self.metadata.popularity, dtype=np.float32)
        self.trending = np.asarray(self.metadata.trending, dtype=np.float32)
        copurchase = folder / COPURCHASE_FILE
        if copurchase.exists():
            with np.load(copurchase) as arrays:
                self.neighbours, self.strength = arrays["neighbours"], arrays["strength"]
        else:
            self.neighbours = self.strength = None

    @property
    def version(self) -> str:
        return self.metadata.model_version

    def __len__(self) -> int:
        return len(self.items)

    def score(self, history: np.ndarray, weights: np.ndarray, exclude: np.ndarray, k: int) -> GraphOutput:
        items, scores, basis = self.session.run(
            None,
            {
                "history_items": history.astype(np.int64, copy=False),
                "history_weights": weights.astype(np.float32, copy=False),
                "exclude": exclude,
                "k": np.array([min(k, len(self.items))], dtype=np.int64),
            },
        )
        return GraphOutput(items=items, scores=scores, basis=basis)

    def bought_together(self, basket: np.ndarray, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Co-purchase strength of every item with the basket, and for each the basket item
        that contributes most (the "often bought with X" reason); -1 where none."""
        strength = np.zeros(len(self.items), dtype=np.float32)
        source = np.full(len(self.items), -1, dtype=np.int64)
        if self.neighbours is None or basket.size == 0:
            return strength, source
        neighbours, weights = self.neighbours[basket], self.strength[basket]  # [B, M]
        valid = neighbours >= 0
        targets, values = neighbours[valid], weights[valid]
        origins = np.broadcast_to(basket[:, None], neighbours.shape)[valid]
        np.add.at(strength, targets, values)
        # Strongest origin per target: write in ascending strength so the largest wins.
        order = np.argsort(values)
        source[targets[order]] = origins[order]
        strength[exclude] = 0.0
        return strength, source


@dataclass
class CatalogIndex:
    """Catalog attributes aligned to a model's item index (unknown items are `~known`)."""

    items: list[CatalogItem | None]
    known: np.ndarray
    in_stock: np.ndarray
    category: np.ndarray  # int32 codes into `categories`
    categories: list[str]
    brand: np.ndarray
    brands: list[str]
    margin: np.ndarray
    new_arrival: np.ndarray
    replenishable: np.ndarray
    sensitive: np.ndarray
    market_items: dict[str, np.ndarray] = field(default_factory=dict)  # market -> sold there
    restricted_markets: np.ndarray | None = None  # items sold only in some markets

    def in_categories(self, names: list[str]) -> np.ndarray:
        codes = [self.categories.index(n) for n in names if n in self.categories]
        return np.isin(self.category, codes)

    def sold_in(self, market: str | None) -> np.ndarray:
        if market is None or self.restricted_markets is None:
            return self.known
        return self.known & (~self.restricted_markets | self.market_items.get(market, np.zeros_like(self.known)))


def index_catalog(catalog: Catalog, item_ids: list[str], rules: RecommendRules, today: date) -> CatalogIndex:
    by_id = {item.item_id: item for item in catalog.items}
    aligned = [by_id.get(item_id) for item_id in item_ids]
    n = len(aligned)
    categories = sorted({i.category for i in catalog.items})
    brands = sorted({i.brand for i in catalog.items})
    category_code = {c: k for k, c in enumerate(categories)}
    brand_code = {b: k for k, b in enumerate(brands)}
    new_since = today - timedelta(days=rules.boosts.new_arrival_days)
    sensitive = set(rules.guard.sensitive_categories)

    def column(value, dtype, missing):
        return np.fromiter((value(i) if i is not None else missing for i in aligned), dtype=dtype, count=n)

    markets = sorted({m for i in catalog.items for m in i.markets})
    index = CatalogIndex(
        items=aligned,
        known=column(lambda i: True, bool, False),
        in_stock=column(lambda i: i.stock > 0, bool, False),
        category=column(lambda i: category_code[i.category], np.int32, -1),
        categories=categories,
        brand=column(lambda i: brand_code[i.brand], np.int32, -1),
        brands=brands,
        margin=column(lambda i: i.margin, np.float32, 0.0),
        new_arrival=column(lambda i: i.added_on is not None and i.added_on >= new_since, bool, False),
        replenishable=column(lambda i: i.replenishable, bool, False),
        sensitive=column(lambda i: i.category in sensitive, bool, False),
    )
    if markets:
        index.restricted_markets = column(lambda i: bool(i.markets), bool, False)
        index.market_items = {m: column(lambda i, m=m: m in i.markets, bool, False) for m in markets}
    return index
