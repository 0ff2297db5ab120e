"""Small synthetic interaction data for the models tests (imported, not collected)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TASTES = ("a", "b")
ITEMS_PER_TASTE = 10


def clustered_rows(users_per_taste: int = 20, items_each: int = 6, seed: int = 0) -> list[tuple[str, str]]:
    """Two kinds of shopper: `a-user-*` only touch items a0..a9, `b-user-*` only b0..b9."""
    rng = np.random.default_rng(seed)
    rows = []
    for taste in TASTES:
        for user in range(users_per_taste):
            for item in rng.choice(ITEMS_PER_TASTE, items_each, replace=False):
                rows.append((f"{taste}-user-{user}", f"{taste}{item}"))
    return rows


def write_csv(path: Path, rows: list[tuple], header: str = "user_id,item_id") -> Path:
    path.write_text("\n".join([header, *(",".join(map(str, row)) for row in rows)]) + "\n")
    return path
