"""GrowthBook's hashing and bucketing, bit for bit (packages/sdk-js/src/util.ts), and
the persistent global holdout built on it.

Shared because more than the experiments context needs it: the global holdout must
see neither experiments nor personalization, so recommend asks `in_global_holdout`
too. Pure, stdlib only; checked against GrowthBook's own SDK test cases
(tests/fixtures/growthbook/).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from functools import lru_cache

FNV_OFFSET_BASIS = 0x811C9DC5
GLOBAL_HOLDOUT_SEED = "persona-global-holdout"

BucketRange = tuple[float, float]
Namespace = tuple[str, float, float]

_UNREDUCED_MAX = 40  # code units; beyond this the unreduced int grows too big to be faster (measured)
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


def fnv1a32(text: str, state: int = FNV_OFFSET_BASIS) -> int:
    """32-bit FNV-1a over the UTF-16 code units of `text`, as GrowthBook's `hashFnv32a`.

    JavaScript hashes `charCodeAt` values, so characters beyond Latin-1 count as UTF-16
    code units (not UTF-8 bytes). FNV-1a has no finalisation, hence
    `fnv1a32(a + b) == fnv1a32(b, fnv1a32(a))`: `state` continues a hash of a prefix,
    which lets a seed be hashed once per experiment instead of once per unit.
    """
    try:
        units: bytes | array[int] = text.encode("latin-1")  # one byte per code unit: the fast path
    except UnicodeEncodeError:
        units = array("H", text.encode(_UTF16_NATIVE))
    if len(units) <= _UNREDUCED_MAX:
        # Reducing mod 2**32 once at the end gives the same result (xor with a code unit and
        # multiplication commute with the reduction) and saves one operation per code unit.
        for unit in units:
            state = (state ^ unit) * 0x01000193
        return state & 0xFFFFFFFF
    for unit in units:
        state = ((state ^ unit) * 0x01000193) & 0xFFFFFFFF
    return state


@lru_cache(maxsize=1024)
def _seed_state(seed: str) -> int:
    """FNV state after the seed: seeds are few (one per experiment), units are many."""
    return fnv1a32(seed)


def _hash_v1(seed: str, value: str) -> float:
    return (fnv1a32(seed, fnv1a32(value)) % 1000) / 1000


def _hash_v2(seed: str, value: str) -> float:
    return (fnv1a32(str(fnv1a32(value, _seed_state(seed)))) % 10000) / 10000


_HASHES = {1: _hash_v1, 2: _hash_v2}


def gb_hash(seed: str, value: str, version: int) -> float | None:
    """GrowthBook's `hash`: v1 (biased, kept for namespaces) or v2, in [0, 1); None if the version is unknown."""
    hash_of = _HASHES.get(version)
    return None if hash_of is None else hash_of(seed, value)


def bucket_ranges(n_variations: int, coverage: float | None = None,
                  weights: Sequence[float] | None = None) -> list[BucketRange]:
    """GrowthBook's `getBucketRanges`, including its fallbacks.

    Coverage is clamped to [0, 1]; weights of the wrong length or not summing to 1
    (within 0.01) become equal weights. Each range starts at its variant's cumulative
    weight, so raising coverage only grows ranges from their starts.
    """
    coverage = 1.0 if coverage is None else min(max(coverage, 0.0), 1.0)
    equal = [1 / n_variations] * n_variations if n_variations > 0 else []
    if weights is None or len(weights) != n_variations or not 0.99 <= sum(weights) <= 1.01:
        weights = equal
    ranges = []
    cumulative = 0.0
    for weight in weights:
        ranges.append((cumulative, cumulative + coverage * weight))
        cumulative += weight
    return ranges


def choose_variation(n: float, ranges: Sequence[BucketRange]) -> int:
    """GrowthBook's `chooseVariation`: index of the first range holding `n`, or -1."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def namespace_position(user_id: str, name: str) -> float:
    """Where the unit falls in a GrowthBook namespace (a Persona layer): v1 hash under `__` + name."""
    return _hash_v1("__" + name, user_id)


def in_namespace(user_id: str, namespace: Namespace) -> bool:
    """GrowthBook's `inNamespace`: the unit's namespace position lies in [start, end)."""
    name, start, end = namespace
    return start <= namespace_position(user_id, name) < end


def in_global_holdout(unit_id: str, share: float, seed: str = GLOBAL_HOLDOUT_SEED) -> bool:
    """Whether the unit belongs to the persistent global holdout (sees no experiment)."""
    return _hash_v2(seed, unit_id) < share
