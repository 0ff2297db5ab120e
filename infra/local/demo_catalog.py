"""The demo shop: a catalog of a few hundred sports and outdoor products, and shoppers
whose browsing and buying the demo model is trained on.

Generated from a fixed seed, so every `make up` shows the same shop. The shoppers are
simulated with known tastes (favourite categories, a preferred brand, complementary
purchases such as shoes with socks), which is what makes the demo's recommendations
explainable; model quality is measured on real data (MovieLens), not on this.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from functions.recommend.schemas import Catalog, CatalogItem

# category -> (brands, product nouns, price range, replenishable)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, int], bool]] = {
    "running-shoes": (("Stride", "Aero", "Trailblaze"), ("Running Shoe", "Trail Shoe", "Racing Flat"), (60, 180), False),
    "rain-jackets": (("Nordwand", "Aero", "Fjellmark"), ("Rain Jacket", "Shell Jacket", "Packable Jacket"), (70, 260), False),
    "socks": (("Stride", "Fjellmark", "Aero"), ("Running Socks", "Hiking Socks", "Merino Socks"), (8, 25), True),
    "running-apparel": (("Stride", "Aero"), ("Running Tee", "Tights", "Shorts", "Singlet"), (20, 80), False),
    "hiking-boots": (("Fjellmark", "Nordwand", "Trailblaze"), ("Hiking Boot", "Approach Shoe", "Mountain Boot"), (90, 260), False),
    "backpacks": (("Nordwand", "Fjellmark"), ("Daypack", "Trekking Pack", "Running Vest"), (40, 220), False),
    "water-bottles": (("Aqualine", "Fjellmark"), ("Bottle", "Soft Flask", "Hydration Bladder"), (10, 40), True),
    "tents": (("Nordwand", "Fjellmark"), ("2-Person Tent", "Ultralight Tent", "Family Tent"), (150, 600), False),
    "sleeping-bags": (("Nordwand", "Fjellmark"), ("Sleeping Bag", "Quilt", "Liner"), (50, 350), False),
    "cycling": (("Velocita", "Aero"), ("Cycling Jersey", "Bib Shorts", "Helmet", "Gloves"), (25, 200), False),
    "sports-nutrition": (("Fuelwell", "Aqualine"), ("Energy Gel Box", "Electrolyte Tabs", "Protein Bar Box"), (10, 45), True),
    "yoga": (("Lotusform", "Stride"), ("Yoga Mat", "Yoga Block", "Yoga Pants"), (15, 90), False),
    "health": (("Medisport", "Lotusform"), ("Knee Support", "Blister Plasters", "Ankle Brace"), (8, 60), True),
    "lingerie": (("Lotusform", "Stride"), ("Sports Bra", "Seamless Briefs", "Base Layer Bra"), (20, 70), False),
}
# Bought together: the demo's co-purchases come from these.
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "running-shoes": ("socks", "running-apparel", "sports-nutrition"),
    "hiking-boots": ("socks", "backpacks"),
    "rain-jackets": ("backpacks",),
    "tents": ("sleeping-bags",),
    "backpacks": ("water-bottles",),
    "cycling": ("sports-nutrition", "water-bottles"),
    "yoga": ("running-apparel",),
}
MODIFIERS = ("Pro", "Lite", "Tempo", "Summit", "Classic", "Flow", "Storm", "Peak", "Swift", "Terra", "Nova", "Edge")
PER_CATEGORY = 22
SEED = 7


def demo_catalog(today: date | None = None) -> Catalog:
    """308 products: 22 per category, ids sku-<category number><three digits>."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(SEED)
    items = []
    for number, (category, (brands, nouns, (low, high), replenishable)) in enumerate(CATEGORIES.items(), start=1):
        for i in range(1, PER_CATEGORY + 1):
            brand = brands[(i - 1) % len(brands)]
            noun = nouns[rng.randrange(len(nouns))]
            new = rng.random() < 0.1
            items.append(CatalogItem(
                item_id=f"sku-{number}{i:03d}",
                title=f"{brand} {MODIFIERS[rng.randrange(len(MODIFIERS))]} {noun}",
                category=category,
                brand=brand,
                price=round(round(rng.uniform(low, high)) - 0.01, 2),
                stock=0 if rng.random() < 0.06 else rng.randrange(1, 120),
                margin=round(rng.uniform(0.15, 0.55), 2),
                added_on=today - timedelta(days=rng.randrange(1, 25) if new else rng.randrange(60, 900)),
                replenishable=replenishable,
                markets=["DE", "AT", "CH"] if rng.random() < 0.05 else [],
            ))
    return Catalog(items=items)


@dataclass(frozen=True)
class Interaction:
    user_id: str
    item_id: str
    type: str
    at: datetime


def simulate_shoppers(catalog: Catalog, shoppers: int = 1500, days: int = 60, now: datetime | None = None,
                      seed: int = SEED) -> list[Interaction]:
    """Each shopper has one or two favourite categories and a preferred brand; they view,
    add to cart and buy mostly there, and often buy a complement in the same basket."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    by_category: dict[str, list[CatalogItem]] = {}
    for item in catalog.items:
        by_category.setdefault(item.category, []).append(item)
    # Popularity within a category is skewed, as in any shop.
    weights = {c: [1.0 / (rank + 1) ** 0.8 for rank in range(len(items))] for c, items in by_category.items()}
    everyday = [c for c in CATEGORIES if c not in ("health", "lingerie")]
    out: list[Interaction] = []
    for shopper in range(shoppers):
        user = f"demo-shopper-{shopper:04d}"
        favourites = rng.sample(everyday, k=rng.choice((1, 1, 2)))
        brand = rng.choice(sorted({i.brand for c in favourites for i in by_category[c]}))
        sensitive = rng.choice(("health", "lingerie")) if rng.random() < 0.15 else None
        for _ in range(rng.randrange(1, 5)):  # sessions
            at = now - timedelta(days=rng.uniform(0, days))
            category = sensitive if sensitive and rng.random() < 0.3 else rng.choice(favourites)
            pool = by_category[category]
            viewed = rng.choices(pool, weights=[w * (3 if i.brand == brand else 1) for w, i in zip(weights[category], pool)],
                                 k=rng.randrange(2, 7))
            for step, item in enumerate(viewed):
                out.append(Interaction(user, item.item_id, "product_view", at + timedelta(minutes=step)))
            if rng.random() < 0.45:
                bought = viewed[-1]
                out.append(Interaction(user, bought.item_id, "add_to_cart", at + timedelta(minutes=8)))
                out.append(Interaction(user, bought.item_id, "purchase", at + timedelta(minutes=12)))
                for complement in COMPLEMENTS.get(category, ()):
                    if rng.random() < 0.5:
                        extra = rng.choices(by_category[complement], weights=weights[complement])[0]
                        out.append(Interaction(user, extra.item_id, "purchase", at + timedelta(minutes=12)))
    return out


def write_interactions(rows: list[Interaction], path: Path) -> Path:
    """CSV in the format `persona train` reads: user_id,item_id,weight,timestamp,type."""
    path.parent.mkdir(parents=True, exist_ok=True)
    weight = {"product_view": 1, "add_to_cart": 3, "purchase": 5}
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", "item_id", "weight", "timestamp", "type"])
        for row in rows:
            writer.writerow([row.user_id, row.item_id, weight[row.type], row.at.isoformat(), row.type])
    return path
