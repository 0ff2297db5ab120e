"""The public product catalog for storefronts (browse and search), read from the models
bucket's `catalog/catalog.json` once a minute per container. No numpy here: a light bundle."""

from __future__ import annotations

import time
from collections.abc import Callable

from functions.recommend.publishing import CATALOG_KEY
from functions.recommend.schemas import Catalog, CatalogItem
from shared.aws.s3 import ObjectStore


class CatalogReader:
    def __init__(self, bucket: ObjectStore, refresh_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket, self.refresh_s, self.clock = bucket, refresh_s, clock
        self._items: list[CatalogItem] = []
        self._read_at: float | None = None

    def items(self) -> list[CatalogItem]:
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.refresh_s:
            raw = self.bucket.read(CATALOG_KEY)
            self._items = Catalog.model_validate_json(raw).items if raw else []
            self._read_at = now
        return self._items


def search(items: list[CatalogItem], query: str | None, category: str | None, brand: str | None) -> list[CatalogItem]:
    """Items matching every word of the query (title, brand or category) and the filters."""
    words = (query or "").lower().split()
    found = []
    for item in items:
        text = f"{item.title} {item.brand} {item.category}".lower()
        if all(w in text for w in words) and (category is None or item.category == category) and (brand is None or item.brand == brand):
            found.append(item)
    return found
