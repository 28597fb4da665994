"""Benchmarks: indexing against raw sentence-transformers, search against raw FAISS, in the same run.

`python -m rag.bench.search [--sizes 10000,100000] [--generated-docs N] [--json PATH]` prints two tables.
The functions return plain rows (dicts) so that runs can be saved as JSON and compared.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.types import Chunk, Document

# Vocabulary of the generated corpus; sentences are drawn from it with a fixed seed.
WORDS = """
the a of to and in for on with by from at as that this is was were has had will would can river city council report
market energy solar wind grid water school hospital budget price growth quarter year month company workers union
strike train station airport bridge road traffic weather storm rain drought harvest farmers coffee export bank
interest rate inflation loan housing rent museum library festival music film theatre team season match league coach
player record minister election vote parliament court research study scientists university electric factory plant
production capacity million billion percent new old large small local national rose fell increased decreased announced
said reported expected planned opened closed built approved rejected
""".split()

INDEXING_COLUMNS = ["corpus", "docs", "chunks", "ours_s", "raw_s", "ratio", "ours_chunks_per_s", "raw_chunks_per_s",
                    "ours_docs_per_s", "raw_docs_per_s", "chunking_s", "peak_rss_mb"]
SEARCH_COLUMNS = ["size", "path", "index", "build_s", "p50_ms", "p95_ms", "recall_at_10", "file_mb", "load_ms",
                  "db_mb", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def other_cpu_seconds() -> float:
    """CPU seconds used so far by everything on the machine but this process (Linux), to spot noisy runs."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    busy = (sum(map(int, fields[:8])) - int(fields[3]) - int(fields[4])) / os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    return busy - own.ru_utime - own.ru_stime


def format_rows(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain-text table of `rows`; `columns` defaults to the first row's scalar keys."""
    if not rows:
        return "(no rows)"
    columns = columns or [k for k, v in rows[0].items() if not isinstance(v, (list, dict))]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return str(value)


# -- indexing -----------------------------------------------------------------------------------


def write_generated_corpus(folder: Path, n: int, seed: int = 0) -> Path:
    """`n` text files of 150-400 words in sentences and paragraphs, the same for the same seed."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        left, paragraphs, sentences = int(rng.integers(150, 401)), [], []
        while left > 0:
            count = min(left, int(rng.integers(6, 19)))
            sentences.append(" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), count)).capitalize() + ".")
            left -= count
            if len(sentences) >= 4 and rng.random() < 0.3:
                paragraphs.append(" ".join(sentences))
                sentences = []
        paragraphs.append(" ".join(sentences))
        (folder / f"doc_{i:05d}.txt").write_text("\n\n".join(p for p in paragraphs if p) + "\n", encoding="utf-8")
    return folder


def bench_indexing(config: Config, embedder, docs_dir: Path | None, *, generated_docs: int = 0,
                   repeats: int = 3) -> dict:
    """Time `index_path` into a fresh index against `embedder.raw_encode` (the library alone) on the same chunk texts.

    With `generated_docs`, a generated corpus of that many documents replaces `docs_dir`. Ours and
    raw alternate (ours first, so the chunk texts are known) and the best of `repeats` is kept.
    """
    from rag.chunking import chunk_document
    from rag.loaders import load_folder

    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        tmp = Path(tmp)
        if generated_docs:
            docs_dir = write_generated_corpus(tmp / "corpus", generated_docs)
        docs_dir = Path(docs_dir)
        warm = [f"Warm-up sentence number {i}, so that loading the model is not timed." for i in range(16)]
        embedder.encode(warm)
        embedder.raw_encode(warm)
        ours, raw, texts, docs = [], [], [], 0
        for i in range(repeats):
            for step in ("ours", "raw") if i % 2 == 0 else ("raw", "ours"):
                if step == "ours":
                    seconds, docs, texts = _index_once(docs_dir, tmp / f"index-{i}", embedder, config)
                    ours.append(seconds)
                else:
                    start = time.perf_counter()
                    embedder.raw_encode(texts)
                    raw.append(time.perf_counter() - start)
        # The chunking part of ours alone (load, split, count tokens with both tokenizers), as index_path does it.
        start = time.perf_counter()
        documents, _ = load_folder(docs_dir)
        window = min(config.embed_window, embedder.window)
        for doc in documents:
            chunk_document(doc, chunk_tokens=config.chunk_tokens, overlap_tokens=config.chunk_overlap,
                           window=window, window_count=embedder.count_tokens)
        chunking_s = time.perf_counter() - start
    best_ours, best_raw = min(ours), min(raw)
    return {
        "corpus": f"generated:{generated_docs}" if generated_docs else docs_dir.name,
        "docs": docs, "chunks": len(texts), "repeats": repeats,
        "ours_s": best_ours, "raw_s": best_raw, "ratio": best_ours / best_raw,
        "ours_chunks_per_s": len(texts) / best_ours, "raw_chunks_per_s": len(texts) / best_raw,
        "ours_docs_per_s": docs / best_ours, "raw_docs_per_s": docs / best_raw,
        "chunking_s": chunking_s, "ours_runs_s": ours, "raw_runs_s": raw, "peak_rss_mb": peak_rss_mb(),
    }


QUERY_COLUMNS = ["embedder", "questions", "language", "p50_ms", "p95_ms"]


def bench_queries(embedder) -> list[dict]:
    """Milliseconds to embed one question, for the seed questions in English and in Chinese."""
    from rag.evals.datasets import load_dataset

    rows = []
    for name, language in (("seed", "en"), ("seed_zh", "zh")):
        questions = [item.question for item in load_dataset(name).items]
        embedder.encode_queries(questions[:2])  # warm
        ms = []
        for question in questions * 3:
            start = time.perf_counter()
            embedder.encode_queries([question])
            ms.append((time.perf_counter() - start) * 1000)
        rows.append({"embedder": embedder.name, "questions": len(questions), "language": language,
                     "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))})
    return rows


def _index_once(docs_dir: Path, index_dir: Path, embedder, config: Config) -> tuple[float, int, list[str]]:
    """Seconds to index `docs_dir` into a new index, documents indexed, chunk texts in id order."""
    from rag.indexing import index_path
    from rag.store import Store

    store = Store(index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit)
    try:
        start = time.perf_counter()
        report = index_path(docs_dir, store, embedder, config)
        seconds = time.perf_counter() - start
        texts = [text for text, in store.db.execute("SELECT text FROM chunks ORDER BY id")]
    finally:
        store.close()
    return seconds, len(report.added), texts


# -- search -------------------------------------------------------------------------------------


def synthetic_queries(queries: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster centres for `clustered_vectors` and `queries` query vectors drawn around them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres, clustered_vectors(queries, dim, centres=centres, seed=seed + 1)


def clustered_vectors(n: int, dim: int, *, centres: np.ndarray, seed: int, noise: float = 1.0) -> np.ndarray:
    """`n` unit float32 vectors, each a random centre plus gaussian noise of norm about `noise`."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks, so 1M vectors need no 2x temporary
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32) * (noise / np.sqrt(dim))
        block += centres[rng.integers(0, len(centres), len(block))]
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def bench_search(sizes=(10_000, 100_000), dim: int = 384, queries: int = 200, *, clusters: int = 1000,
                 exact_limit: int = Config.exact_limit, seed: int = 0) -> list[dict]:
    """Per size, three rows: `Store.dense_search`, raw `faiss.IndexFlatIP`, and `build_faiss`'s IVF index.

    Latencies are of single-query top-10 calls (ours and raw interleaved); recall@10 is against exact search.
    """
    import faiss

    from rag.store import build_faiss

    k = 10
    centres, qs = synthetic_queries(queries, dim, clusters, seed)
    rows = []
    for size in sizes:
        vectors = clustered_vectors(size, dim, centres=centres, seed=seed + 2)
        with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
            tmp = Path(tmp)
            store, ids, insert_s, load_s = _synthetic_store(tmp / "index", vectors, exact_limit)
            try:
                start = time.perf_counter()
                flat = faiss.IndexFlatIP(dim)
                flat.add(vectors)
                flat_s = time.perf_counter() - start
                truth = flat.search(qs, k)[1]
                ours_ms, raw_ms, found = _interleaved(lambda q: store.dense_search(q, k),
                                                      lambda q: flat.search(q[None, :], k), qs)
                # Our ids are SQLite chunk ids, inserted in vector order: map them back to positions.
                ours_pos = [np.searchsorted(ids, [cid for cid, _ in hits]) for hits in found]
                start = time.perf_counter()
                ivf = build_faiss(vectors, np.arange(size, dtype=np.int64), dim, exact_limit=0)
                ivf_s = time.perf_counter() - start
                ivf_ms, _, ivf_found = _interleaved(lambda q: ivf.search(q[None, :], k)[1][0], lambda q: None, qs)
                db_mb = sum(p.stat().st_size for p in (tmp / "index").glob("meta.sqlite*")) / 2**20
                common = {"size": size, "dim": dim, "queries": queries}
                rows.append({**common, "path": "Store.dense_search", "index": _describe(store.index),
                             "build_s": insert_s, **_latency(ours_ms), "recall_at_10": _recall(ours_pos, truth),
                             **_disk(store.index, tmp / "store.faiss"), "load_ms": load_s * 1000, "db_mb": db_mb})
                rows.append({**common, "path": "faiss.IndexFlatIP", "index": _describe(flat), "build_s": flat_s,
                             **_latency(raw_ms), "recall_at_10": 1.0, **_disk(flat, tmp / "flat.faiss")})
                rows.append({**common, "path": "build_faiss(exact_limit=0)", "index": _describe(ivf),
                             "build_s": ivf_s, **_latency(ivf_ms), "recall_at_10": _recall(ivf_found, truth),
                             **_disk(ivf, tmp / "ivf.faiss")})
                rows += _filtered_rows(store, ids, vectors, qs, k, common)
                del flat, ivf
            finally:
                store.close()
        for row in rows[-5:]:
            row["peak_rss_mb"] = peak_rss_mb()
        del vectors
    return rows


GROUPS = 10


def _filtered_rows(store, ids: np.ndarray, vectors: np.ndarray, qs: np.ndarray, k: int, common: dict) -> list[dict]:
    """`Store.dense_search` as a member of groups that may read 10% and 90% of the chunks, timed with
    the group-to-documents lookup a question pays (Retriever.search_all), and its recall@10 against
    exact search over the readable chunks."""
    rows = []
    doc_of = np.repeat(np.arange(len(vectors) // 1000 + 1), 1000)[: len(vectors)]  # vector -> document number
    for share, groups in ((0.1, ["g0"]), (0.9, [f"g{g}" for g in range(GROUPS - 1)])):
        readable = np.isin(doc_of % GROUPS, [int(g[1:]) for g in groups])
        truth = [np.argsort(-np.where(readable, vectors @ q, -np.inf))[:k] for q in qs]

        def search(q):
            return store.dense_search(q, k, store.readable(groups))

        ms, _, found = _interleaved(search, lambda q: None, qs)
        positions = [np.searchsorted(ids, [cid for cid, _ in hits]) for hits in found]
        rows.append({**common, "path": f"Store.dense_search, groups read {share:.0%}", "index": _describe(store.index),
                     **_latency(ms), "recall_at_10": _recall(positions, np.array(truth))})
    return rows


def _synthetic_store(path: Path, vectors: np.ndarray, exact_limit: int, per_doc: int = 1000, backend: str = "faiss"):
    """A real Store filled through its write batch (empty chunk texts) and reopened: (store, chunk ids
    in vector order, seconds to insert, seconds to reopen)."""
    from rag.store import Store

    store = Store(path, embedder="bench-synthetic", dim=vectors.shape[1], exact_limit=exact_limit, vectors=backend)
    start = time.perf_counter()
    with store.writer() as batch:
        for first in range(0, len(vectors), per_doc):
            number = first // per_doc  # readers: one of ten groups, in turn (filtered searches)
            doc = Document(f"synthetic/{number:06d}.txt", "synthetic", "", readers=(f"g{number % GROUPS}",))
            part = vectors[first : first + per_doc]
            batch.put(doc, "bench", "-", [Chunk(doc.doc_id, 0, 0, "") for _ in range(len(part))], part)
        batch.commit()
    insert_s = time.perf_counter() - start
    store.close()
    start = time.perf_counter()  # reopening reads the saved FAISS file: our real load path
    store = Store(path, embedder="bench-synthetic", dim=vectors.shape[1], exact_limit=exact_limit, create=False,
                  vectors=backend)
    load_s = time.perf_counter() - start
    ids = np.array([cid for cid, in store.db.execute("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
    return store, ids, insert_s, load_s


def _interleaved(ours, raw, qs: np.ndarray, warmup: int = 5):
    """Per-query milliseconds of `ours` and `raw`, called in turn (alternating which goes first), and ours' results."""
    for q in qs[:warmup]:
        ours(q), raw(q)
    ms, found = {ours: [], raw: []}, []
    for i, q in enumerate(qs):
        for fn in (ours, raw) if i % 2 == 0 else (raw, ours):
            start = time.perf_counter()
            result = fn(q)
            ms[fn].append((time.perf_counter() - start) * 1000)
            if fn is ours:
                found.append(result)
    return ms[ours], ms[raw], found


def _latency(ms: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def _recall(found, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(map(int, f)) & set(map(int, t))) / k for f, t in zip(found, truth)]))


def _describe(index) -> str:
    if hasattr(index, "nprobe"):
        return f"IVF nlist={index.nlist} nprobe={index.nprobe}"
    return "flat (exact)"


def _disk(index, path: Path) -> dict:
    """Size of the written index and milliseconds to read it back (from the page cache)."""
    import faiss

    faiss.write_index(index, str(path))
    start = time.perf_counter()
    faiss.read_index(str(path))
    load_ms = (time.perf_counter() - start) * 1000
    size = path.stat().st_size / 2**20
    path.unlink()
    return {"file_mb": size, "load_ms": load_ms}


# -- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="vector counts for the search benchmark, comma-separated")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension for the search benchmark")
    parser.add_argument("--queries", type=int, default=200, help="single-vector queries timed per size")
    parser.add_argument("--corpus", type=Path, help="folder to index (default: the configured corpus)")
    parser.add_argument("--generated-docs", type=int, default=0, metavar="N", help="also index N generated documents")
    parser.add_argument("--embedders", help="embedders to index with and time queries of, comma-separated "
                        "(default: the configured one), e.g. all-MiniLM-L6-v2,multilingual-e5-small")
    parser.add_argument("--skip-indexing", action="store_true", help="run only the search benchmark")
    parser.add_argument("--skip-search", action="store_true", help="run only the indexing benchmark")
    parser.add_argument("--faiss-threads", type=int, metavar="N", help="FAISS OpenMP threads (default: FAISS's own)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result to PATH as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    import faiss

    if args.faiss_threads:
        faiss.omp_set_num_threads(args.faiss_threads)
    config = Config()
    started = time.perf_counter()
    results: dict = {"cpus": os.cpu_count(), "faiss_threads": faiss.omp_get_max_threads(), "indexing": [], "search": []}
    other = other_cpu_seconds()
    if not args.skip_indexing:
        from rag.embedding import load_embedder

        results["queries"] = []
        for name in (args.embedders or config.embedder).split(","):
            embedder = load_embedder(name.strip())
            rows = [bench_indexing(config, embedder, args.corpus or config.corpus_dir)]
            if args.generated_docs:
                rows.append(bench_indexing(config, embedder, None, generated_docs=args.generated_docs, repeats=1))
            results["indexing"] += [{"embedder": embedder.name, **row} for row in rows]
            results["queries"] += bench_queries(embedder)
        print("Indexing: index_path into a fresh index (ours) vs the embedder's own encode of the same chunks (raw)")
        print(format_rows(results["indexing"], ["embedder", *INDEXING_COLUMNS]), end="\n\n", flush=True)
        print("Query embedding: one question at a time (what each question costs before search)")
        print(format_rows(results["queries"], QUERY_COLUMNS), end="\n\n", flush=True)
    if not args.skip_search:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        results["search"] = bench_search(sizes, args.dim, args.queries)
        print(f"Search: top-10 of {args.queries} single queries, {args.dim}-d clustered unit vectors")
        print(format_rows(results["search"], SEARCH_COLUMNS), flush=True)
    return finish(results, started, other, args.json, f"{results['faiss_threads']} FAISS threads; ")


def finish(results: dict, started: float, other: float, json_path: Path | None, extra: str = "") -> int:
    """Print the run's totals (and how busy the rest of the machine was); save `results` as JSON."""
    results["seconds"], results["other_cpu_s"] = time.perf_counter() - started, other_cpu_seconds() - other
    print(f"\n{results['seconds']:.0f} s in all; peak RSS {peak_rss_mb():.0f} MiB; {extra}other processes used "
          f"{results['other_cpu_s']:.0f} CPU-seconds meanwhile (timings are noisy if many)")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
