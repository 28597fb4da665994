"""Benchmarks past one process: indexing on Ray against the single-process path on the same chunks,
and dense search in Milvus Lite beside FAISS (exact and IVF) on the same vectors.

`rag bench scale [--docs N] [--ray-workers 1,2] [--sizes 100000,1000000] [--json PATH]` prints two tables.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.bench.search import (
    _interleaved, _latency, _recall, _synthetic_store, clustered_vectors, finish, format_rows, other_cpu_seconds,
    peak_rss_mb, synthetic_queries, write_generated_corpus,
)
from rag.config import Config

RAY_COLUMNS = ["path", "workers", "docs", "chunks", "start_s", "index_s", "chunks_per_s", "vs_single", "same_index"]
SEARCH_COLUMNS = ["size", "backend", "index", "insert_s", "p50_ms", "p95_ms", "recall_at_10", "filtered_p50_ms",
                  "filtered_recall_at_10"]


def bench_ray(config: Config, docs: int, workers: list[int]) -> list[dict]:
    """Index the same generated corpus into fresh indexes: in this process, then on a local Ray instance
    with each worker count. `start_s` is the pool's start (Ray itself, each worker loading the embedder),
    paid once per run; `index_s` is `index_path` once the workers are up. `same_index`: the chunk rows
    equal the single-process ones and the vectors agree to 1e-4."""
    from rag.embedding import load_embedder
    from rag.indexing import index_path
    from rag.scale.ray_indexing import RayCluster
    from rag.store import Store

    embedder = load_embedder(config.embedder)
    embedder.encode(["warm-up"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        tmp = Path(tmp)
        corpus = write_generated_corpus(tmp / "corpus", docs)

        def run(name: str, cluster=None) -> tuple[float, Store]:
            store = Store(tmp / name, embedder=embedder.name, dim=embedder.dim)
            start = time.perf_counter()
            index_path(corpus, store, embedder, config, cluster=cluster)
            return time.perf_counter() - start, store

        single_s, single = run("single")
        expected = single.db.execute('SELECT id, doc_id, start, "end", text FROM chunks ORDER BY id').fetchall()
        chunks = len(expected)
        rows.append({"path": "index_path", "workers": 1, "docs": docs, "chunks": chunks, "start_s": 0.0,
                     "index_s": single_s, "chunks_per_s": chunks / single_s, "vs_single": 1.0, "same_index": True})
        for count in workers:
            start = time.perf_counter()
            cluster = RayCluster(config, workers=count)
            cluster.worker_pids()  # every worker has loaded the embedder
            start_s = time.perf_counter() - start
            try:
                index_s, store = run(f"ray-{count}", cluster)
            finally:
                cluster.shutdown()
            got = store.db.execute('SELECT id, doc_id, start, "end", text FROM chunks ORDER BY id').fetchall()
            same = got == expected and bool(np.allclose(store._vectors()[1], single._vectors()[1], atol=1e-4))
            rows.append({"path": "index_path on Ray", "workers": count, "docs": docs, "chunks": chunks,
                         "start_s": start_s, "index_s": index_s, "chunks_per_s": chunks / index_s,
                         "vs_single": single_s / index_s, "same_index": same})
            store.close()
        single.close()
    return rows


def bench_backends(sizes: list[int], dim: int = 384, queries: int = 100, *, clusters: int = 1000, seed: int = 0,
                   backends: tuple[str, ...] = ("faiss", "faiss-ivf", "milvus")) -> list[dict]:
    """Per size and backend, top-10 single-query latency through `Store.dense_search` (what a question
    pays) and recall@10 against exact search; unfiltered, and as a member of groups that may read
    10% of the documents (the filter inside FAISS, an exact scan past IVF, or inside Milvus)."""
    k = 10
    centres, qs = synthetic_queries(queries, dim, clusters, seed)
    rows = []
    for size in sizes:
        vectors = clustered_vectors(size, dim, centres=centres, seed=seed + 2)
        truth = np.array([_top(vectors @ q, k) for q in qs])
        doc_of = np.arange(size) // 1000  # _synthetic_store: 1000 vectors a document, readers g0..g9 in turn
        readable = doc_of % 10 == 0
        filtered_truth = np.array([_top(np.where(readable, vectors @ q, -np.inf), k) for q in qs])
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
                exact_limit = 0 if backend == "faiss-ivf" else max(size, Config.exact_limit)
                store, ids, insert_s, _ = _synthetic_store(Path(tmp) / "index", vectors, exact_limit,
                                                           backend="milvus" if backend == "milvus" else "faiss")
                try:
                    ms, _, found = _interleaved(lambda q: store.dense_search(q, k), lambda q: None, qs)
                    groups = frozenset({"g0"})
                    fms, _, ffound = _interleaved(lambda q: store.dense_search(q, k, None, groups), lambda q: None, qs)
                    index = ("Milvus Lite FLAT (exact)" if backend == "milvus" else
                             f"IVF nlist={store.index.nlist} nprobe={store.index.nprobe}" if backend == "faiss-ivf"
                             else "FAISS flat (exact)")
                    rows.append({"size": size, "backend": backend, "index": index, "insert_s": insert_s, **_latency(ms),
                                 "recall_at_10": _recall([np.searchsorted(ids, [c for c, _ in f]) for f in found], truth),
                                 "filtered_p50_ms": _latency(fms)["p50_ms"],
                                 "filtered_recall_at_10": _recall([np.searchsorted(ids, [c for c, _ in f]) for f in ffound],
                                                                  filtered_truth),
                                 "peak_rss_mb": peak_rss_mb()})
                finally:
                    store.close()
            print(format_rows(rows[-1:], SEARCH_COLUMNS), flush=True)
        del vectors
    return rows


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag bench scale", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="generated documents to index (150-400 words each)")
    parser.add_argument("--ray-workers", default="1,2", help="Ray worker counts to compare, comma-separated")
    parser.add_argument("--sizes", default="100000,1000000", help="vector counts for the search comparison")
    parser.add_argument("--queries", type=int, default=100, help="single-vector queries timed per size and backend")
    parser.add_argument("--backends", default="faiss,faiss-ivf,milvus", help="of faiss, faiss-ivf, milvus")
    parser.add_argument("--skip-ray", action="store_true", help="only the search comparison")
    parser.add_argument("--skip-search", action="store_true", help="only the indexing comparison")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result to PATH as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config()
    started, other = time.perf_counter(), other_cpu_seconds()
    results: dict = {"cpus": os.cpu_count(), "ray": [], "search": []}
    if not args.skip_ray:
        results["ray"] = bench_ray(config, args.docs, [int(w) for w in args.ray_workers.split(",") if w.strip()])
        print(f"Indexing {args.docs} generated documents with {config.embedder}: one process vs Ray workers "
              f"(a local Ray instance on this {os.cpu_count()}-CPU machine)")
        print(format_rows(results["ray"], RAY_COLUMNS), end="\n\n", flush=True)
    if not args.skip_search:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        print(f"Search: top-10 of {args.queries} single queries, 384-d clustered unit vectors, through Store.dense_search")
        results["search"] = bench_backends(sizes, queries=args.queries, backends=tuple(args.backends.split(",")))
        print("\n" + format_rows(results["search"], SEARCH_COLUMNS), flush=True)
    return finish(results, started, other, args.json)
