"""The published model, catalog and rules, loaded once per container and swapped without a
deploy: every `check_interval_s` the container re-reads the models bucket's small pointer
objects (layout in publishing.py) and reloads only what changed."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from functions.recommend.artifacts import COPURCHASE_FILE, METADATA_FILE, MODEL_FILE
from functions.recommend.model import CatalogIndex, ScoringModel, index_catalog
from functions.recommend.publishing import CATALOG_KEY, LATEST_KEY, RULES_KEY, version_prefix
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog
from shared.aws.s3 import ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class Serving:
    """What a request is answered with; any part may be missing before the first publish."""

    model: ScoringModel | None
    catalog: CatalogIndex | None
    rules: RecommendRules


class ModelRegistry:
    def __init__(self, bucket: ObjectStore, check_interval_s: float, clock: Callable[[], float] = time.monotonic,
                 workdir: Path | None = None) -> None:
        self.bucket = bucket
        self.check_interval_s = check_interval_s
        self.clock = clock
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="persona-models-"))
        self._checked_at: float | None = None
        self._seen: dict[str, bytes | None] = {}
        self._model: ScoringModel | None = None
        self._catalog: Catalog | None = None
        self._rules = RecommendRules()
        self._serving = Serving(None, None, self._rules)

    def current(self) -> Serving:
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.check_interval_s:
            self._checked_at = now
            try:
                self._refresh()
            except Exception:  # noqa: BLE001 - keep serving what is loaded; the next check retries
                logger.exception("could not refresh the published model, catalog or rules")
        return self._serving

    def _refresh(self) -> None:
        latest, catalog, rules = (self.bucket.read(k) for k in (LATEST_KEY, CATALOG_KEY, RULES_KEY))
        changed = {k for k, v in ((LATEST_KEY, latest), (CATALOG_KEY, catalog), (RULES_KEY, rules)) if self._seen.get(k, b"") != v}
        if not changed:
            return
        if RULES_KEY in changed:
            self._rules = RecommendRules.model_validate_json(rules) if rules else RecommendRules()
        if CATALOG_KEY in changed:
            self._catalog = Catalog.model_validate_json(catalog) if catalog else None
        if LATEST_KEY in changed and latest:
            self._model = self._load(latest.decode().strip())
        model, catalog_ = self._model, self._catalog
        index = index_catalog(catalog_, model.items, self._rules, datetime.now(UTC).date()) if model and catalog_ else None
        self._serving = Serving(model, index, self._rules)
        self._seen.update({LATEST_KEY: latest, CATALOG_KEY: catalog, RULES_KEY: rules})
        logger.info("serving", extra={"model_version": model.version if model else None, "reloaded": sorted(changed)})

    def _load(self, version: str) -> ScoringModel:
        folder = self.workdir / version
        if not (folder / METADATA_FILE).exists():
            folder.mkdir(parents=True, exist_ok=True)
            prefix = version_prefix(version)
            for name in (MODEL_FILE, COPURCHASE_FILE, METADATA_FILE):  # metadata last: it marks a complete download
                if name == COPURCHASE_FILE and self.bucket.head(prefix + name) is None:
                    continue
                self.bucket.download(prefix + name, str(folder / name))
        return ScoringModel(folder)
