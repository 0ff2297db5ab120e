"""Speed of the recommend context: scoring per request, cold init, bundle size.

1. Handler compute, p50/p99: `ranking.recommend` (ONNX graph + rules, diversity,
   reasons) for a person with 20 recent interactions, 50,000 items, 64 factors,
   against a plain numpy implementation of the same scoring (fold-in, mask, top-k)
   measured in the same run. Goal p99 <= 5 ms.
2. Cold init: a fresh interpreter imports the recommend API handler (boto3,
   Powertools, pydantic, numpy, onnxruntime) and loads the model (ONNX session,
   metadata, catalog index), against `python -c pass`. Goal <= 1 s.
3. Bundle size: the recommend function's ARM64 bundle unzipped, against the plain
   `lambda` bundle. Goal < 250 MB (Lambda's limit).

    .venv/bin/python bench/recommend.py [--items 50000] [--factors 64] [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.recommend import ranking  # noqa: E402
from functions.recommend.artifacts import METADATA_FILE, MODEL_FILE, Lineage, ModelMetadata  # noqa: E402
from functions.recommend.model import ScoringModel, index_catalog  # noqa: E402
from functions.recommend.rules import RecommendRules  # noqa: E402
from functions.recommend.schemas import Catalog, CatalogItem, HistoryEntry  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def build_model(folder: Path, n_items: int, n_factors: int, seed: int = 1) -> tuple[Catalog, np.ndarray, np.ndarray]:
    """Random factors in the real graph and metadata format, and a catalog to match."""
    from models import onnx_export
    from models.train import Factors

    rng = np.random.default_rng(seed)
    items = rng.standard_normal((n_items, n_factors), dtype=np.float32) / np.sqrt(n_factors)
    fold_in = items @ np.linalg.inv(items.T @ items + 0.1 * np.eye(n_factors, dtype=np.float32))
    onnx_export.save(Factors(fold_in=fold_in.astype(np.float32), items=items), folder / MODEL_FILE)
    ids = [f"item-{i}" for i in range(n_items)]
    popularity = rng.pareto(1.5, n_items).astype(float).tolist()
    (folder / METADATA_FILE).write_text(ModelMetadata(
        model_version="bench-1", trained_at=NOW, algorithm="random", parameters={"factors": n_factors}, interactions=0,
        items=ids, popularity=popularity, trending=popularity, lineage=Lineage(salt="bench", subjects=0, subject_hashes=[]),
    ).model_dump_json())
    catalog = Catalog(items=[
        CatalogItem(item_id=item_id, title=f"Item {i}", category=f"c{i % 200}", brand=f"b{i % 500}", price=10.0,
                    stock=0 if i % 17 == 0 else 5, margin=(i % 10) / 10)
        for i, item_id in enumerate(ids)
    ])
    return catalog, fold_in.astype(np.float32), items


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def timed(call, requests: int) -> list[float]:
    for _ in range(50):  # warm caches and the ONNX arena
        call()
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench_compute(folder: Path, catalog: Catalog, q: np.ndarray, y: np.ndarray, requests: int) -> dict:
    model = ScoringModel(folder)
    rules = RecommendRules()
    index = index_catalog(catalog, model.items, rules, NOW.date())
    rng = np.random.default_rng(2)
    history = [HistoryEntry(item_id=f"item-{int(i)}", type="product_view", at=NOW - timedelta(minutes=k), interaction_id=str(k))
               for k, i in enumerate(rng.choice(len(model), 20, replace=False))]
    person = ranking.Person(None, history)
    query = ranking.Query(placement="home", n=10, now=NOW)
    answer = ranking.recommend(query, person, model, index, rules)
    assert answer.personalized and len(answer.items) == 10, answer

    # The same scoring in plain numpy: fold-in, mask, top-k of n x candidates, sorted.
    history_idx = np.array([model.index[h.item_id] for h in history])
    weights = np.ones(len(history_idx), np.float32)
    exclude = ~index.in_stock

    def plain_numpy():
        user = weights @ q[history_idx]
        scores = y @ user
        scores[exclude] = -np.inf
        top = np.argpartition(-scores, 50)[:50]
        return top[np.argsort(-scores[top])]

    ours = percentiles(timed(lambda: ranking.recommend(query, person, model, index, rules), requests))
    graph = percentiles(timed(lambda: model.score(history_idx, weights, exclude, 50), requests))
    baseline = percentiles(timed(plain_numpy, requests))
    return {"handler_compute_ms": ours, "onnx_graph_ms": graph, "numpy_baseline_ms": baseline}


CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from datetime import date
import functions.recommend.handlers
from functions.recommend.model import ScoringModel, index_catalog
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog
from pathlib import Path
folder = Path(sys.argv[1])
model = ScoringModel(folder)
index_catalog(Catalog.model_validate_json((folder / "catalog.json").read_bytes()), model.items, RecommendRules(), date.today())
print(json.dumps({"init_ms": (time.perf_counter() - start) * 1000,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_cold_init(folder: Path, catalog: Catalog, runs: int) -> dict:
    (folder / "catalog.json").write_text(catalog.model_dump_json())
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "eu-west-1"}
    init, walls, rss, bare = [], [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
        walls.append((time.perf_counter() - start) * 1000)
        child = json.loads(out.stdout.strip().splitlines()[-1])
        init.append(child["init_ms"])
        rss.append(child["max_rss_mb"])
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - start) * 1000)
    return {"init_ms": statistics.median(init), "wall_ms": statistics.median(walls), "bare_python_ms": statistics.median(bare),
            "max_rss_mb": statistics.median(rss)}


def bench_bundle() -> dict:
    from infra.bundling import assemble

    sizes = {}
    for group, context in (("recommend", "recommend"), ("lambda", "platform")):
        with tempfile.TemporaryDirectory() as out:
            assemble(Path(out), group, context)
            sizes[group] = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 1e6
    return {"recommend_bundle_mb": sizes["recommend"], "lambda_bundle_mb": sizes["lambda"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters for the cold-init median")
    parser.add_argument("--skip-bundle", action="store_true", help="skip the bundle size (needs the ARM64 wheels once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog, q, y = build_model(folder, args.items, args.factors)
        compute = bench_compute(folder, catalog, q, y, args.requests)
        cold = bench_cold_init(folder, catalog, args.runs)
    (p50, p99), (g50, g99), (b50, b99) = compute["handler_compute_ms"], compute["onnx_graph_ms"], compute["numpy_baseline_ms"]
    print(f"recommend: {args.items:,} items x {args.factors} factors, {args.requests} requests, 20 interactions folded in")
    print(f"  handler compute   p50 {p50:.3f} ms  p99 {p99:.3f} ms   (goal p99 <= 5 ms)")
    print(f"  ONNX graph alone  p50 {g50:.3f} ms  p99 {g99:.3f} ms")
    print(f"  numpy baseline    p50 {b50:.3f} ms  p99 {b99:.3f} ms   handler/numpy p99 ratio {p99 / b99:.1f}x")
    print(f"  cold init         {cold['init_ms']:.0f} ms in process, {cold['wall_ms']:.0f} ms wall, {cold['max_rss_mb']:.0f} MB RSS; "
          f"bare python {cold['bare_python_ms']:.0f} ms (ratio {cold['wall_ms'] / cold['bare_python_ms']:.1f}x)   (goal <= 1 s)")
    if not args.skip_bundle:
        size = bench_bundle()
        print(f"  bundle unzipped   recommend {size['recommend_bundle_mb']:.0f} MB vs lambda {size['lambda_bundle_mb']:.0f} MB "
              f"(ratio {size['recommend_bundle_mb'] / size['lambda_bundle_mb']:.1f}x)   (goal < 250 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
